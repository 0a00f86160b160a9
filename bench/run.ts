/**
 * `npm run bench`: runs every benchmark suite against the embedded engine on this machine and prints one
 * table per suite. Figures are for the issue notes; nothing here asserts timings.
 */
import { benchEngine, benchEnginePlanner } from './engine-bench';
import { benchRest } from './rest-bench';
import { benchSearch } from './search-bench';
import { benchAudit } from './audit-bench';

const suites: [string, () => Promise<{ metric: string; value: string }[]>][] = [
  ['embedded engine', benchEngine],
  ['embedded engine planner', benchEnginePlanner],
  ['FHIR REST', benchRest],
  ['FHIR search', benchSearch],
  ['policy and audit overhead', benchAudit],
];
const only = process.argv[2];

async function main(): Promise<void> {
  for (const [name, run] of suites.filter(([name]) => !only || name.includes(only))) {
    const started = Date.now();
    const rows = await run();
    console.log(`\n## ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    const width = Math.max(...rows.map((r) => r.metric.length));
    for (const row of rows) console.log(`${row.metric.padEnd(width)}  ${row.value}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
