/**
 * REST figures (issue: REST core), measured over HTTP on loopback: the server runs as `npm start` does, in its
 * own process (with the embedded engine and a durable journal, fdatasync on, access log at LOG_LEVEL=warn),
 * and this process is the client. Create, read and update with 10 requests in flight, and the Synthea import.
 */
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backendTokenSource, importBundles, listBundleFiles } from '../src/cli/import-bundles';
import { DEMO_BACKEND_KEY_FILE } from '../src/auth/seed-demo';
import { readFileSync } from 'node:fs';
import { fmt, measureThroughput } from './measure';

const SYNTHEA = path.resolve(__dirname, '../../shared/data/synthea-california');
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
/** The server runs with the demo seed; the bench authenticates as its backend client. */
let bearer = '';

function request(url: string, method: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/fhir+json' } : {}) };
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become healthy at ${url}`);
}

export async function benchRest(): Promise<{ metric: string; value: string }[]> {
  const rows: { metric: string; value: string }[] = [];
  const dataDir = await mkdtemp(path.join(tmpdir(), 'rest-bench-'));
  const port = await freePort();
  const server = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../src/main.ts')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, MONGODB_URI: '', LOG_LEVEL: 'warn', SEED_DEMO: 'true' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => server.on('exit', resolve));
  const base = `http://127.0.0.1:${port}/fhir`;
  try {
    await waitForHealth(`http://127.0.0.1:${port}/healthz`);
    const accessToken = backendTokenSource(base, 'demo-backend', JSON.parse(readFileSync(DEMO_BACKEND_KEY_FILE, 'utf8')) as Record<string, unknown>);
    bearer = await accessToken();
    const patient = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench', given: ['Mark'] }], gender: 'female', birthDate: '1980-01-01', identifier: [{ system: 'urn:mrn', value: 'x' }] });
    const ids: string[] = [];
    await measureThroughput(300, 10, async () => request(`${base}/Patient`, 'POST', patient));
    const create = await measureThroughput(3000, 10, async () => {
      const res = await request(`${base}/Patient`, 'POST', patient);
      ids.push((JSON.parse(res.body) as { id: string }).id);
    });
    rows.push({ metric: 'create req/s, 10 in flight', value: fmt(create.perSecond, 0) });
    rows.push({ metric: 'create p50 / p99 (ms)', value: `${fmt(create.latency.p50)} / ${fmt(create.latency.p99)}` });
    const read = await measureThroughput(10000, 10, (i) => request(`${base}/Patient/${ids[i % ids.length]}`, 'GET'));
    rows.push({ metric: 'read req/s, 10 in flight', value: fmt(read.perSecond, 0) });
    rows.push({ metric: 'read p50 / p99 (ms)', value: `${fmt(read.latency.p50)} / ${fmt(read.latency.p99)}` });
    const update = await measureThroughput(3000, 10, (i) => {
      const id = ids[i % ids.length] as string;
      return request(`${base}/Patient/${id}`, 'PUT', JSON.stringify({ ...JSON.parse(patient), id, active: i % 2 === 0 }));
    });
    rows.push({ metric: 'update req/s, 10 in flight', value: fmt(update.perSecond, 0) });
    rows.push({ metric: 'update p50 / p99 (ms)', value: `${fmt(update.latency.p50)} / ${fmt(update.latency.p99)}` });
    if (existsSync(SYNTHEA)) {
      const summary = await importBundles(await listBundleFiles([SYNTHEA]), { baseUrl: base, concurrency: 4, accessToken });
      rows.push({ metric: `Synthea import resources/s (${summary.resources} resources, ${summary.failures.length} failures)`, value: fmt(summary.resources / summary.seconds, 0) });
    } else {
      rows.push({ metric: 'Synthea import', value: `skipped: ${SYNTHEA} not found` });
    }
  } finally {
    server.kill('SIGTERM');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  }
  return rows;
}
