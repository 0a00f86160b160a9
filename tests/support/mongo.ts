/**
 * The database a test suite runs against: the server named by MONGODB_URI when set (a real mongod, see README),
 * otherwise a fresh in-memory instance of the embedded engine. Suites must not depend on which one they get.
 */
import { startEmbeddedMongo } from '../../src/embedded-mongo';

export interface TestMongo {
  /** Connection string for the driver or mongoose. */
  readonly uri: string;
  /** A database name no other suite uses, so suites can share one real server. */
  readonly dbName: string;
  stop(): Promise<void>;
}

let suiteCounter = 0;

/** Starts (or attaches to) the database for one test suite. */
export async function startTestMongo(): Promise<TestMongo> {
  const dbName = `test_${process.pid}_${++suiteCounter}_${Date.now().toString(36)}`;
  const external = process.env.MONGODB_URI;
  if (external) {
    return { uri: external, dbName, stop: async () => undefined };
  }
  const engine = await startEmbeddedMongo({});
  return { uri: engine.uri, dbName, stop: () => engine.close() };
}
