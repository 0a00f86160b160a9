/**
 * `npm run import -- <files or folders>`: posts FHIR batch/transaction Bundles to a running server, batches
 * first (shared Organizations, Practitioners... that patient bundles reference conditionally), then the rest
 * with a few in flight. Shows a progress bar on stderr and ends with a summary and every failure's reason.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export interface ImportOptions {
  /** FHIR base URL, e.g. http://localhost:8080/fhir. */
  readonly baseUrl: string;
  /** Extra request headers (e.g. Authorization). */
  readonly headers?: Record<string, string>;
  /** Bundles posted at the same time after the batches. */
  readonly concurrency?: number;
  readonly onProgress?: (done: number, total: number, resources: number) => void;
}

export interface ImportFailure {
  readonly file: string;
  readonly reason: string;
}

export interface ImportSummary {
  readonly bundles: number;
  readonly resources: number;
  readonly failedEntries: number;
  readonly seconds: number;
  readonly failures: ImportFailure[];
}

interface BundleFile {
  readonly file: string;
  readonly type: string;
  readonly text: string;
  readonly entries: number;
}

/** Expands folders into the .json files they contain (not recursive), in name order. */
export async function listBundleFiles(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    if ((await stat(input)).isDirectory()) {
      const names = (await readdir(input)).filter((name) => name.endsWith('.json') && !name.startsWith('_')).sort();
      files.push(...names.map((name) => path.join(input, name)));
    } else {
      files.push(input);
    }
  }
  return files;
}

async function load(file: string): Promise<BundleFile> {
  const text = await readFile(file, 'utf8');
  const bundle = JSON.parse(text) as { resourceType?: string; type?: string; entry?: unknown[] };
  if (bundle.resourceType !== 'Bundle') throw new Error(`${file} is not a Bundle`);
  return { file, type: bundle.type ?? '', text, entries: bundle.entry?.length ?? 0 };
}

function describeOutcome(outcome: unknown): string {
  const issues = (outcome as { issue?: { diagnostics?: string; code?: string }[] } | undefined)?.issue ?? [];
  return issues.map((issue) => issue.diagnostics ?? issue.code ?? 'error').join('; ') || 'unknown error';
}

async function post(bundle: BundleFile, options: ImportOptions): Promise<{ stored: number; failed: ImportFailure[] }> {
  const response = await fetch(options.baseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json', prefer: 'return=minimal', ...options.headers },
    body: bundle.text,
  });
  const body = (await response.json().catch(() => undefined)) as { entry?: { response?: { status?: string; outcome?: unknown } }[] } | undefined;
  if (!response.ok) return { stored: 0, failed: [{ file: bundle.file, reason: `HTTP ${response.status}: ${describeOutcome(body)}` }] };
  const failed: ImportFailure[] = [];
  let stored = 0;
  (body?.entry ?? []).forEach((entry, index) => {
    const status = entry.response?.status ?? '';
    if (/^2/.test(status)) stored++;
    else failed.push({ file: bundle.file, reason: `entry ${index}: ${status} ${describeOutcome(entry.response?.outcome)}` });
  });
  return { stored, failed };
}

/** Imports the files; batches go first, one at a time, then the other bundles with `concurrency` in flight. */
export async function importBundles(files: readonly string[], options: ImportOptions): Promise<ImportSummary> {
  const started = Date.now();
  const bundles = await Promise.all(files.map(load));
  const batches = bundles.filter((b) => b.type === 'batch');
  const others = bundles.filter((b) => b.type !== 'batch');
  const failures: ImportFailure[] = [];
  let resources = 0;
  let done = 0;
  let failedEntries = 0;
  const run = async (bundle: BundleFile): Promise<void> => {
    try {
      const result = await post(bundle, options);
      resources += result.stored;
      failedEntries += result.failed.length;
      failures.push(...result.failed);
    } catch (error) {
      failures.push({ file: bundle.file, reason: (error as Error).message });
    }
    options.onProgress?.(++done, bundles.length, resources);
  };
  for (const bundle of batches) await run(bundle);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < others.length) await run(others[next++] as BundleFile);
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return { bundles: bundles.length, resources, failedEntries, seconds: (Date.now() - started) / 1000, failures };
}

function progressBar(done: number, total: number, resources: number): void {
  const width = 30;
  const filled = Math.round((done / Math.max(1, total)) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} bundles, ${resources} resources`);
}

async function main(argv: string[]): Promise<number> {
  const inputs = argv.filter((arg) => !arg.startsWith('--'));
  const server = argv.find((arg) => arg.startsWith('--server='))?.slice('--server='.length) ?? process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
  const token = process.env.FHIR_TOKEN;
  if (inputs.length === 0) {
    process.stderr.write('usage: npm run import -- [--server=http://localhost:8080/fhir] <bundle files or folders>\n');
    return 2;
  }
  const files = await listBundleFiles(inputs);
  const summary = await importBundles(files, {
    baseUrl: server.replace(/\/$/, ''),
    headers: token ? { authorization: `Bearer ${token}` } : undefined,
    onProgress: progressBar,
  });
  process.stderr.write('\n');
  const rate = summary.resources / Math.max(summary.seconds, 0.001);
  process.stdout.write(`Imported ${summary.resources} resources from ${summary.bundles} bundles in ${summary.seconds.toFixed(1)} s (${rate.toFixed(0)} resources/s); ${summary.failures.length} failures\n`);
  for (const failure of summary.failures) process.stdout.write(`  ${failure.file}: ${failure.reason}\n`);
  return summary.failures.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`import failed: ${error.message}\n`);
      process.exit(1);
    },
  );
}
