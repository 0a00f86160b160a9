/**
 * The process as operators run it (`npm start`): listens with the embedded engine under DATA_DIR, finishes an
 * in-flight request on SIGTERM, exits 0, and a restart on the same DATA_DIR serves what was written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const MAIN = path.join(__dirname, '../../src/main.ts');

interface Running {
  child: ChildProcess;
  origin: string;
  exited: Promise<number | null>;
}

async function startServer(dataDir: string): Promise<Running> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', MAIN], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, MONGODB_URI: '', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const origin = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        if (line.includes('"msg":"listening"')) resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.on('exit', () => reject(new Error('server exited before listening')));
  });
  return { child, origin, exited };
}

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'lifecycle-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('process lifecycle', () => {
  it('finishes an in-flight request on SIGTERM, exits 0, and keeps the data across a restart', async () => {
    const first = await startServer(dataDir);
    const body = JSON.stringify({ resourceType: 'Patient', id: 'survivor', name: [{ family: 'Durable' }] });
    const url = new URL(`${first.origin}/fhir/Patient/survivor`);
    const response = new Promise<number>((resolve, reject) => {
      const request = http.request(url, { method: 'PUT', headers: { 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      request.on('error', reject);
      request.write(body.slice(0, 10));
      setTimeout(() => {
        first.child.kill('SIGTERM');
        setTimeout(() => request.end(body.slice(10)), 300);
      }, 200);
    });
    expect(await response).toBe(201);
    expect(await first.exited).toBe(0);

    const second = await startServer(dataDir);
    const read = await fetch(`${second.origin}/fhir/Patient/survivor`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { name: { family: string }[] }).name[0]?.family).toBe('Durable');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});
