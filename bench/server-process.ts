/**
 * What the HTTP benchmark suites share: the server started as `npm start` runs it, in its own process on a free
 * loopback port with the demo seed (the bench authenticates as the demo backend client), and a keep-alive HTTP
 * client that sends its bearer token.
 */
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { backendTokenSource } from '../src/cli/import-bundles';
import { DEMO_BACKEND_KEY_FILE } from '../src/auth/seed-demo';

export interface ServerProcess {
  /** e.g. http://127.0.0.1:54321/fhir */
  readonly base: string;
  /** A current token of the demo backend client (system/*.cruds), renewed before it expires. */
  accessToken(): Promise<string>;
  stop(): Promise<void>;
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

/** Starts `src/main.ts` with the demo seed and `env` (e.g. DATA_DIR, or MONGODB_URI and DB_NAME). */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../src/main.ts')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: origin, LOG_LEVEL: 'warn', SEED_DEMO: 'true', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => server.on('exit', resolve));
  const stop = async (): Promise<void> => {
    server.kill('SIGTERM');
    await exited;
  };
  try {
    await waitForHealth(`${origin}/healthz`);
  } catch (error) {
    await stop();
    throw error;
  }
  const base = `${origin}/fhir`;
  return { base, accessToken: backendTokenSource(base, 'demo-backend', JSON.parse(readFileSync(DEMO_BACKEND_KEY_FILE, 'utf8')) as Record<string, unknown>), stop };
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
}

/** A keep-alive client: `request(url, {method, body, bearer})`, JSON bodies sent as FHIR JSON. */
export function httpClient(maxSockets: number): (url: string, options: { method?: string; body?: string; bearer: string }) => Promise<HttpResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return (url, { method = 'GET', body, bearer }) =>
    new Promise((resolve, reject) => {
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
