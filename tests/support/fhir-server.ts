/**
 * Starts the whole HTTP app on a free port for a test suite, on the test database (embedded in memory, or the
 * server in MONGODB_URI), so tests speak HTTP exactly as clients do.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { MongoClient, type Db } from 'mongodb';
import Client from 'fhir-kit-client';
import { createApp, createSearchIndexer } from '../../src/app';
import { loadConfig, type Config } from '../../src/config/settings';
import { openDatabase } from '../../src/storage/database';
import { startTestMongo } from './mongo';

export interface FhirTestServer {
  /** e.g. http://127.0.0.1:54321/fhir */
  readonly baseUrl: string;
  readonly origin: string;
  /** Direct access to the suite's database, for assertions on what was stored. */
  readonly db: Db;
  /** `fetch` as a client of this server sends it: the one place tests' requests get their credentials. */
  fetch(url: string, init?: RequestInit): Promise<Response>;
  /** A fhir-kit-client for the FHIR base, sending the same credentials as `fetch`. */
  fhirClient(): Client;
  /** Closes the app's database connection while the HTTP server keeps running (failure tests). */
  stopDatabaseOnly(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFhirServer(overrides: Partial<Config> = {}): Promise<FhirTestServer> {
  const mongo = await startTestMongo();
  const env: Record<string, string> = { MONGODB_URI: mongo.uri, DB_NAME: mongo.dbName, LOG_LEVEL: 'silent', PORT: '0' };
  const config: Config = { ...loadConfig(env), ...overrides };
  const logger = pino({ level: 'silent' });
  const database = await openDatabase(config, logger, createSearchIndexer());
  const server = http.createServer(createApp({ config, database, logger }).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = await new MongoClient(mongo.uri).connect();
  const db = client.db(mongo.dbName);
  let databaseOpen = true;
  const closeDatabase = async (): Promise<void> => {
    if (!databaseOpen) return;
    databaseOpen = false;
    await database.close();
  };
  const baseUrl = `${origin}/fhir`;
  return {
    baseUrl,
    origin,
    db,
    fetch: (url, init) => fetch(url, init),
    fhirClient: () => new Client({ baseUrl }),
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
