/**
 * The embedded MongoDB-compatible engine: a wire-protocol server on loopback that the unchanged `mongodb`
 * driver and mongoose talk to, for tests and zero-setup runs (not a production store; see DESIGN.md).
 * Self-contained: nothing here imports from the rest of the project.
 */
import { Engine, type EngineLogger } from './engine/engine';
import { DurableStore } from './persistence/durable-store';
import { runCommand } from './commands/run-command';
import { WireServer } from './wire/wire-server';

export type { EngineLogger } from './engine/engine';

export interface EmbeddedMongoOptions {
  /** Directory of the journal and snapshots; undefined keeps everything in memory. */
  dataDir?: string;
  /** Interface to listen on; default 127.0.0.1 (never expose the engine beyond the machine). */
  host?: string;
  /** TCP port; default 0 picks a free one. */
  port?: number;
  /** fdatasync before acknowledging writes (default true); false still survives a killed process. */
  fsync?: boolean;
  /** Open transactions are aborted after this many seconds (mongod's transactionLifetimeLimitSeconds, 60). */
  transactionLifetimeSeconds?: number;
  logger?: EngineLogger;
}

export interface EmbeddedMongo {
  /** Connection string for the driver or mongoose. */
  readonly uri: string;
  readonly port: number;
  /** Stops accepting connections, finishes running commands, flushes the journal and closes it. */
  close(): Promise<void>;
}

const silentLogger: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const UPKEEP_INTERVAL_MS = 1000;

/** Starts the engine, recovering the state in `dataDir` first when given. */
export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const logger = options.logger ?? silentLogger;
  const host = options.host ?? '127.0.0.1';
  let store: DurableStore | undefined;
  let recovered: Awaited<ReturnType<typeof DurableStore.open>>['recovered'] = [];
  if (options.dataDir) {
    const started = Date.now();
    ({ store, recovered } = await DurableStore.open({ dir: options.dataDir, fsync: options.fsync ?? true }));
    logger.info('embedded engine recovered its data', { batches: recovered.length, ms: Date.now() - started });
  }
  const engine = new Engine({ store, logger, transactionLifetimeMs: (options.transactionLifetimeSeconds ?? 60) * 1000 });
  engine.replay(recovered);
  const server = new WireServer((command, connectionId) => runCommand(engine, command, connectionId), logger);
  let port: number;
  try {
    port = await server.listen(host, options.port ?? 0);
  } catch (error) {
    await engine.close();
    throw error;
  }
  const upkeep = setInterval(() => {
    engine.tick().catch((error: Error) => logger.error('embedded engine upkeep failed', { error: error.message }));
  }, UPKEEP_INTERVAL_MS);
  upkeep.unref();
  const uriHost = host.includes(':') ? `[${host}]` : host;
  return {
    uri: `mongodb://${uriHost}:${port}/?directConnection=true`,
    port,
    close: async () => {
      clearInterval(upkeep);
      await server.close();
      await engine.close();
    },
  };
}
