/**
 * `npm run capability-statement`: regenerates capability-statement/CapabilityStatement.json from the registry,
 * the same data the router serves from; a test fails when the published copy is stale.
 */
import { writeFile } from 'node:fs/promises';
import { OPERATIONS } from '../fhir/operations';
import { buildRegistry } from '../fhir/registry';
import { buildCapabilityStatement } from '../fhir/interactions/capabilities';
import { baseSearchParameters } from '../search/search-parameters';
import { buildCapabilitySecurity } from '../auth/smart-discovery';
import { projectFile } from '../config/project-files';

/** The base URL written into the published copy (the default local address). */
export const PUBLISHED_BASE_URL = 'http://localhost:8080/fhir';

/** The published statement: the registry's interactions and the SMART endpoints of the default local address. */
export function buildPublishedStatement() {
  const security = buildCapabilitySecurity({ issuer: 'http://localhost:8080/auth', fhirBaseUrl: PUBLISHED_BASE_URL });
  return buildCapabilityStatement(buildRegistry({ conditionalDeleteMultiple: false, operations: OPERATIONS }), baseSearchParameters(), PUBLISHED_BASE_URL, security);
}

async function main(): Promise<void> {
  const statement = buildPublishedStatement();
  const file = projectFile('capability-statement', 'CapabilityStatement.json');
  await writeFile(file, `${JSON.stringify(statement, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
