/**
 * Starts the whole HTTP app on a free port for a test suite, on the test database (embedded in memory, or the
 * server in MONGODB_URI), so tests speak HTTP exactly as clients do. Every request of `fetch` and `fhirClient`
 * carries a real access token: a Backend Services client registered for the suite obtains it from the token
 * endpoint with a signed client assertion (system/*.cruds), and obtains a new one before it expires.
 */
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { MongoClient, type Db } from 'mongodb';
import Client from 'fhir-kit-client';
import { configureKeepAlive, createApp, createSearchIndexer } from '../../src/app';
import { SearchParameterCatalog } from '../../src/search/search-parameter-catalog';
import { loadConfig, type Config } from '../../src/config/settings';
import { openDatabase } from '../../src/storage/database';
import { buildClientRecord } from '../../src/auth/client-applications';
import { requestBackendToken } from '../../src/auth/client-assertion';
import { startTestMongo } from './mongo';

export interface BackendCredentials {
  readonly clientId: string;
  readonly privateJwk: Record<string, unknown>;
}

export interface FhirTestServer {
  /** e.g. http://127.0.0.1:54321/fhir */
  readonly baseUrl: string;
  readonly origin: string;
  /** The authorization server's issuer, e.g. http://127.0.0.1:54321/auth */
  readonly issuer: string;
  readonly tokenUrl: string;
  /** The organization of the suite's backend client (DEFAULT_TENANT). */
  readonly tenant: string;
  /** The suite's backend client (system/*.cruds, admin:clients, ehr:launch). */
  readonly backend: BackendCredentials;
  /** Direct access to the suite's database, for assertions on what was stored. */
  readonly db: Db;
  /** A current access token of the suite's backend client. */
  accessToken(): Promise<string>;
  /** `fetch` as a client of this server sends it: the one place tests' requests get their credentials. */
  fetch(url: string, init?: RequestInit): Promise<Response>;
  /** A fhir-kit-client for the FHIR base, sending the same credentials as `fetch`. */
  fhirClient(): Client;
  /** Closes the app's database connection while the HTTP server keeps running (failure tests). */
  stopDatabaseOnly(): Promise<void>;
  stop(): Promise<void>;
}

/** A fresh ES384 key pair as JWKs. */
export function newKeyPair(kid: string): { privateJwk: Record<string, unknown>; publicJwk: Record<string, unknown> } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return { privateJwk: { ...privateKey.export({ format: 'jwk' }), kid }, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid } };
}

export async function startFhirServer(overrides: Partial<Config> = {}): Promise<FhirTestServer> {
  const mongo = await startTestMongo();
  const env: Record<string, string> = { MONGODB_URI: mongo.uri, DB_NAME: mongo.dbName, LOG_LEVEL: 'silent', PORT: '0', SEED_DEMO: 'false' };
  const config: Config = { ...loadConfig(env), ...overrides };
  const logger = pino({ level: 'silent' });
  const catalog = new SearchParameterCatalog();
  const database = await openDatabase(config, logger, createSearchIndexer(catalog));
  let handle: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handle(req, res));
  configureKeepAlive(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const app = await createApp({ config, database, logger, origin, catalog });
  handle = app.koa.callback();
  const client = await new MongoClient(mongo.uri).connect();
  const db = client.db(mongo.dbName);

  const keys = newKeyPair('suite-backend');
  const { record } = buildClientRecord(
    { client_id: 'suite-backend', client_name: 'Test suite backend', kind: 'backend', jwks: { keys: [keys.publicJwk] }, scope: 'system/*.cruds admin:clients ehr:launch' },
    config.defaultTenant,
  );
  await db.collection('auth_clients').insertOne(record as never);
  const backend: BackendCredentials = { clientId: record._id, privateJwk: keys.privateJwk };
  const tokenUrl = `${origin}/auth/token`;
  let current: { value: string; renewAt: number } | undefined;
  const accessToken = async (): Promise<string> => {
    if (!current || Date.now() >= current.renewAt) {
      const token = await requestBackendToken({ ...backend, tokenUrl, scope: 'system/*.cruds admin:clients ehr:launch' });
      current = { value: token.access_token, renewAt: Date.now() + (token.expires_in - 60) * 1000 };
    }
    return current.value;
  };
  await accessToken();

  let databaseOpen = true;
  const closeDatabase = async (): Promise<void> => {
    if (!databaseOpen) return;
    databaseOpen = false;
    await app.stop();
    await database.close();
  };
  const baseUrl = `${origin}/fhir`;
  return {
    baseUrl,
    origin,
    issuer: `${origin}/auth`,
    tokenUrl,
    tenant: config.defaultTenant,
    backend,
    db,
    accessToken,
    fetch: async (url, init) => {
      const headers = new Headers(init?.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${await accessToken()}`);
      return fetch(url, { ...init, headers });
    },
    fhirClient: () => new Client({ baseUrl, bearerToken: current?.value }),
    stopDatabaseOnly: closeDatabase,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.dropDatabase();
      await client.close();
      await closeDatabase();
      await mongo.stop();
    },
  };
}
