/**
 * The process as operators run it (`npm start`: the build in dist/, run by node): listens with the embedded engine under DATA_DIR, loads the demo
 * seed, finishes an in-flight request on SIGTERM, exits 0, and a restart on the same DATA_DIR serves what was
 * written to the same access token (tokens, like all authorization state, survive the restart).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { requestBackendToken } from '../../src/auth/client-assertion';
import { DEMO_BACKEND_KEY_FILE } from '../../src/auth/seed-demo';

const ROOT = path.join(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

interface Running {
  child: ChildProcess;
  origin: string;
  exited: Promise<number | null>;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Both runs use one port: the issuer and the tokens' audience name it. */
async function startServer(dataDir: string, port: number): Promise<Running> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, MONGODB_URI: '', LOG_LEVEL: 'info', SEED_DEMO: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const origin = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        if (line.includes('"msg":"listening"')) resolve(`http://127.0.0.1:${port}`);
      }
    });
    child.on('exit', () => reject(new Error('server exited before listening')));
  });
  return { child, origin, exited };
}

let dataDir: string;

beforeAll(async () => {
  // What `npm start` runs first (prestart): the production build, which must compile and find the files it ships.
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  dataDir = await mkdtemp(path.join(tmpdir(), 'lifecycle-'));
}, 120_000);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('process lifecycle', () => {
  it('finishes an in-flight request on SIGTERM, exits 0, and keeps the data across a restart', async () => {
    const port = await freePort();
    const first = await startServer(dataDir, port);
    const privateJwk = JSON.parse(await readFile(DEMO_BACKEND_KEY_FILE, 'utf8')) as Record<string, unknown>;
    const token = await requestBackendToken({ clientId: 'demo-backend', privateJwk, tokenUrl: `${first.origin}/auth/token`, scope: 'system/*.cruds' });
    const authorization = `Bearer ${token.access_token}`;
    const body = JSON.stringify({ resourceType: 'Patient', id: 'survivor', name: [{ family: 'Durable' }] });
    const url = new URL(`${first.origin}/fhir/Patient/survivor`);
    const response = new Promise<number>((resolve, reject) => {
      const request = http.request(url, { method: 'PUT', headers: { authorization, 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(body) } }, (res) => {
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

    const second = await startServer(dataDir, port);
    const read = await fetch(`${second.origin}/fhir/Patient/survivor`, { headers: { authorization } });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { name: { family: string }[] }).name[0]?.family).toBe('Durable');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});
