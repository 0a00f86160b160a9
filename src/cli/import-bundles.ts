/**
 * `npm run import -- <files or folders>`: posts FHIR batch/transaction Bundles to a running server, batches
 * first (shared Organizations, Practitioners... that patient bundles reference conditionally), then the rest
 * with a few in flight. Shows a progress bar on stderr and ends with a summary and every failure's reason.
 * Authenticates with a given access token, or as a Backend Services client (client id + private JWK file),
 * renewing its token as it expires.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { discoverTokenEndpoint, requestBackendToken } from '../auth/client-assertion';

export interface ImportOptions {
  /** FHIR base URL, e.g. http://localhost:8080/fhir. */
  readonly baseUrl: string;
  /** Extra request headers. */
  readonly headers?: Record<string, string>;
  /** A current access token, asked for before each request. */
  readonly accessToken?: () => Promise<string>;
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
  const authorization: Record<string, string> = options.accessToken ? { authorization: `Bearer ${await options.accessToken()}` } : {};
  const response = await fetch(options.baseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json', prefer: 'return=minimal', ...authorization, ...options.headers },
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

/**
 * A token source for `baseUrl`: FHIR_TOKEN as is, or client_credentials as FHIR_CLIENT_ID with the private JWK in
 * FHIR_PRIVATE_KEY_FILE (the token endpoint comes from SMART discovery), renewed a minute before it expires.
 */
export function backendTokenSource(baseUrl: string, clientId: string, privateJwk: Record<string, unknown>, scope = 'system/*.cruds'): () => Promise<string> {
  let current: { value: string; renewAt: number } | undefined;
  let tokenUrl: string | undefined;
  return async () => {
    if (!current || Date.now() >= current.renewAt) {
      tokenUrl ??= await discoverTokenEndpoint(baseUrl);
      const token = await requestBackendToken({ clientId, privateJwk, tokenUrl, scope });
      current = { value: token.access_token, renewAt: Date.now() + Math.max(10, token.expires_in - 60) * 1000 };
    }
    return current.value;
  };
}

function option(argv: string[], name: string): string | undefined {
  return argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function main(argv: string[]): Promise<number> {
  const inputs = argv.filter((arg) => !arg.startsWith('--'));
  const server = (option(argv, 'server') ?? process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir').replace(/\/$/, '');
  const token = option(argv, 'token') ?? process.env.FHIR_TOKEN;
  const clientId = option(argv, 'client-id') ?? process.env.FHIR_CLIENT_ID;
  const keyFile = option(argv, 'private-key') ?? process.env.FHIR_PRIVATE_KEY_FILE;
  if (inputs.length === 0 || (!token && !(clientId && keyFile))) {
    process.stderr.write(
      'usage: npm run import -- [--server=http://localhost:8080/fhir] (--token=<access token> | --client-id=<id> --private-key=<private JWK file>) <bundle files or folders>\n' +
        '  (or FHIR_TOKEN, or FHIR_CLIENT_ID and FHIR_PRIVATE_KEY_FILE, in the environment)\n',
    );
    return 2;
  }
  const accessToken = token ? async () => token : backendTokenSource(server, clientId as string, JSON.parse(await readFile(keyFile as string, 'utf8')) as Record<string, unknown>);
  const files = await listBundleFiles(inputs);
  const summary = await importBundles(files, { baseUrl: server, accessToken, onProgress: progressBar });
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
