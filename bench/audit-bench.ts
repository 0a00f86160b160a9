/**
 * Overhead of the access policy and audit (issue 6: "under 20% added latency at p50" on read and search), over HTTP
 * on loopback. Server processes run as `npm start` does (embedded engine, journal with fdatasync, demo seed,
 * LOG_LEVEL=warn), on the same data: one as shipped, one started by bench/audit-bench-server.ts without audit
 * capture and with a policy that allows everything (the baseline), and one as shipped but with EMBEDDED_FSYNC=false,
 * which separates what durability (one fdatasync per audited request, or per group of them) costs from the rest.
 * The client is this process and authenticates as the demo backend client (system/*.cruds). Each case runs one
 * request at a time (rounds alternating between the servers), then with 10 in flight.
 */
import http from 'node:http';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { backendTokenSource } from '../src/cli/import-bundles';
import { DEMO_BACKEND_KEY_FILE } from '../src/auth/seed-demo';
import { fmt, measureLatency, measureThroughput, type Latency } from './measure';

const PATIENTS = 200;
const FAMILIES = ['Smith', 'Garcia', 'Nguyen', 'Okafor', 'Kowalski', 'Haddad', 'Tanaka', 'Silva'];
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

interface BenchServer {
  readonly label: string;
  readonly base: string;
  readonly bearer: string;
  readonly process: ChildProcess;
  readonly dataDir: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function request(server: BenchServer, url: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${server.bearer}`, ...(body ? { 'content-type': 'application/fhir+json' } : {}) };
    const req = http.request(`${server.base}/${url}`, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function expectOk(server: BenchServer, url: string): Promise<void> {
  const res = await request(server, url);
  if (res.status !== 200) throw new Error(`${server.label}: GET ${url} answered ${res.status}: ${res.body.slice(0, 300)}`);
}

async function startServer(label: string, flags: string[], env: Record<string, string> = {}): Promise<BenchServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'audit-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'audit-bench-server.ts'), ...flags], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, MONGODB_URI: '', LOG_LEVEL: 'warn', SEED_DEMO: 'true', EMBEDDED_FSYNC: 'true', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}/fhir`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 600) throw new Error(`${label} server did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = backendTokenSource(base, 'demo-backend', JSON.parse(readFileSync(DEMO_BACKEND_KEY_FILE, 'utf8')) as Record<string, unknown>);
  return { label, base, bearer: await token(), process: child, dataDir };
}

async function stopServer(server: BenchServer): Promise<void> {
  const exited = new Promise((resolve) => server.process.on('exit', resolve));
  server.process.kill('SIGTERM');
  await exited;
  await rm(server.dataDir, { recursive: true, force: true });
}

/** The same patients (each with two observations) on every server, in transactions of 20 patients. */
async function load(server: BenchServer): Promise<void> {
  for (let first = 0; first < PATIENTS; first += 20) {
    const entry: BundleEntry[] = [];
    for (let i = first; i < first + 20; i++) {
      entry.push({ resource: { resourceType: 'Patient', id: `bench-${i}`, name: [{ family: FAMILIES[i % FAMILIES.length], given: [`Given${i}`] }], gender: i % 2 ? 'male' : 'female', birthDate: '1970-01-01' }, request: { method: 'PUT', url: `Patient/bench-${i}` } });
      for (const n of [0, 1]) {
        entry.push({
          resource: { resourceType: 'Observation', id: `bench-${i}-${n}`, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: n ? '8867-4' : '8302-2' }] }, subject: { reference: `Patient/bench-${i}` }, effectiveDateTime: '2024-05-01T10:00:00Z', valueQuantity: { value: 60 + n, unit: '/min' } },
          request: { method: 'PUT', url: `Observation/bench-${i}-${n}` },
        });
      }
    }
    const res = await request(server, '', 'POST', JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry } satisfies Bundle));
    if (res.status !== 200) throw new Error(`${server.label}: loading answered ${res.status}: ${res.body.slice(0, 300)}`);
  }
}

interface Case {
  readonly name: string;
  readonly url: (i: number) => string;
}

const CASES: readonly Case[] = [
  { name: 'read Patient/[id]', url: (i) => `Patient/bench-${(i * 7) % PATIENTS}` },
  { name: 'read Observation/[id]', url: (i) => `Observation/bench-${(i * 7) % PATIENTS}-${i % 2}` },
  { name: 'search Observation?subject=&code=', url: (i) => `Observation?subject=Patient/bench-${(i * 13) % PATIENTS}&code=http://loinc.org|8302-2` },
  { name: 'search Patient?name= (20 per page)', url: (i) => `Patient?name=${FAMILIES[i % FAMILIES.length]}&_count=20` },
];

function overhead(measured: number, baseline: number): string {
  const percent = (measured / baseline - 1) * 100;
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(0)}%`;
}

function describe(measured: Latency, baseline: Latency): string {
  return `${fmt(measured.p50)} / ${fmt(measured.p99)} (${overhead(measured.p50, baseline.p50)} / ${overhead(measured.p99, baseline.p99)})`;
}

export async function benchAudit(): Promise<{ metric: string; value: string }[]> {
  const rows: { metric: string; value: string }[] = [
    { metric: 'p50 / p99 ms (added at p50 / p99)', value: 'without policy and audit | with (as shipped) | with, journal not fsynced' },
  ];
  const baseline = await startServer('baseline', ['--without-policy-and-audit']);
  const audited = await startServer('audited', []);
  const unsynced = await startServer('audited, no fsync', [], { EMBEDDED_FSYNC: 'false' });
  const servers = [baseline, audited, unsynced];
  try {
    for (const server of servers) await load(server);
    for (const c of CASES) {
      for (const server of servers) await expectOk(server, c.url(0));
      // Rounds alternate between the servers, so that drift of the machine weighs on all alike; the median round counts.
      const rounds: Latency[][] = servers.map(() => []);
      for (let round = 0; round < 3; round++) {
        for (const [s, server] of servers.entries()) {
          await measureLatency(100, (i) => request(server, c.url(i + round * 1000)));
          rounds[s]?.push(await measureLatency(400, (i) => request(server, c.url(i + round * 1000))));
        }
      }
      const [base, withAudit, withoutFsync] = rounds.map((list) => [...list].sort((a, b) => a.p50 - b.p50)[1] as Latency) as [Latency, Latency, Latency];
      rows.push({ metric: `${c.name}, 1 in flight`, value: `${fmt(base.p50)} / ${fmt(base.p99)} | ${describe(withAudit, base)} | ${describe(withoutFsync, base)}` });
      const concurrent: Latency[] = [];
      for (const server of servers) concurrent.push((await measureThroughput(1500, 10, (i) => request(server, c.url(i)))).latency);
      const [base10, audit10, unsynced10] = concurrent as [Latency, Latency, Latency];
      rows.push({ metric: `${c.name}, 10 in flight`, value: `${fmt(base10.p50)} / ${fmt(base10.p99)} | ${describe(audit10, base10)} | ${describe(unsynced10, base10)}` });
    }
  } finally {
    for (const server of servers) await stopServer(server);
  }
  return rows;
}
