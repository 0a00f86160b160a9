/**
 * Chooses and opens the database (DESIGN.md "Where MongoDB comes from"): the server named by MONGODB_URI, or
 * the bundled engine with its data under DATA_DIR. Only storage/ and embedded-mongo/ touch the driver.
 */
import { MongoClient, type Db } from 'mongodb';
import type { Logger } from 'pino';
import type { EmbeddedMongo } from '../embedded-mongo';
import { startEngineThread } from '../embedded-mongo/engine-thread';
import { openResourceStore } from './mongo/mongo-resource-store';
import type { ResourceStore } from './resource-store';
import type { Indexer, IndexerOptions } from '../search/extract-index-values';

export interface DatabaseSettings {
  readonly mongodbUri: string | undefined;
  readonly dataDir: string;
  readonly dbName: string;
  readonly embeddedFsync: boolean;
  readonly embeddedMaxHeapMb: number;
}

export interface Database {
  /** Where the data lives, for the start-up log (credentials removed). */
  readonly description: string;
  /** The driver's client, shared with mongoose for the server's own non-FHIR records (DESIGN.md "Storage"). */
  readonly mongoClient: MongoClient;
  readonly dbName: string;
  /** Opens the resource store of one tenant; `options` name the base URLs clients address the server by. */
  storeFor(tenant: string, options?: IndexerOptions): ResourceStore;
  /** The organizations that hold live resources of a type (platform-level start-up work, such as loading their SearchParameters). */
  tenantsWith(resourceType: string): Promise<string[]>;
  /** True when the database answers a ping. */
  ping(): Promise<boolean>;
  /** Closes the connection, then stops the embedded engine (which flushes its journal). */
  close(): Promise<void>;
}

/**
 * Opens the database the settings name: MONGODB_URI, or the embedded engine (on its own thread) in DATA_DIR.
 * `indexer` computes the search values stored with every version written.
 */
export async function openDatabase(settings: DatabaseSettings, logger: Logger, indexer: Indexer): Promise<Database> {
  let engine: EmbeddedMongo | undefined;
  let uri = settings.mongodbUri;
  if (!uri) {
    const engineLog = logger.child({ component: 'embedded-mongo' });
    engine = await startEngineThread(
      { dataDir: settings.dataDir, fsync: settings.embeddedFsync, maxHeapMb: settings.embeddedMaxHeapMb },
      {
        info: (message, data) => engineLog.info(data ?? {}, message),
        warn: (message, data) => engineLog.warn(data ?? {}, message),
        error: (message, data) => engineLog.error(data ?? {}, message),
      },
    );
    uri = engine.uri;
  }
  const client = await new MongoClient(uri).connect();
  const db: Db = client.db(settings.dbName);
  return {
    description: engine ? `embedded engine in ${settings.dataDir}` : uri.replace(/\/\/[^@/]*@/, '//***@'),
    mongoClient: client,
    dbName: settings.dbName,
    storeFor: (tenant, options) => openResourceStore({ client, db, indexer }, tenant, options),
    tenantsWith: async (resourceType) => (await db.collection(resourceType).distinct('tenant', { deleted: false })) as string[],
    ping: async () => {
      try {
        await db.command({ ping: 1 });
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      await client.close();
      await engine?.close();
    },
  };
}
