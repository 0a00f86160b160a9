/**
 * Runs the embedded engine on its own worker thread, so the engine and the HTTP server each get a core:
 * the driver reaches it over loopback exactly as before. The thread reports its uri, forwards log lines, and
 * flushes and stops when told to close.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import path from 'node:path';
import { startEmbeddedMongo, type EmbeddedMongo, type EmbeddedMongoOptions, type EngineLogger } from './index';

type ThreadOptions = Omit<EmbeddedMongoOptions, 'logger'> & {
  /** The thread's JavaScript heap limit in MiB (the engine keeps every document in memory). */
  readonly maxHeapMb?: number;
};

type FromThread =
  | { kind: 'ready'; uri: string; port: number }
  | { kind: 'failed'; message: string }
  | { kind: 'log'; level: keyof EngineLogger; message: string; data?: object }
  | { kind: 'closed' };

/** Starts the engine on a worker thread; `close()` flushes its journal and ends the thread. */
export function startEngineThread(options: ThreadOptions, logger: EngineLogger): Promise<EmbeddedMongo> {
  // Under ts-node (tests, `npm run bench`) the thread must load TypeScript the same way.
  const typescript = __filename.endsWith('.ts');
  const { maxHeapMb, ...engineOptions } = options;
  const worker = new Worker(path.join(__dirname, `engine-thread${typescript ? '.ts' : '.js'}`), {
    workerData: engineOptions,
    execArgv: typescript ? ['-r', 'ts-node/register/transpile-only'] : [],
    ...(maxHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } } : {}),
  });
  return new Promise((resolve, reject) => {
    let closed: (() => void) | undefined;
    worker.on('message', (message: FromThread) => {
      if (message.kind === 'log') logger[message.level](message.message, message.data);
      else if (message.kind === 'failed') reject(new Error(message.message));
      else if (message.kind === 'closed') closed?.();
      else {
        resolve({
          uri: message.uri,
          port: message.port,
          close: () =>
            new Promise<void>((done) => {
              closed = () => void worker.terminate().then(() => done());
              worker.postMessage('close');
            }),
        });
      }
    });
    worker.once('error', (error) => {
      logger.error('embedded engine thread failed', { message: error.message });
      reject(error);
    });
    // Without the engine the database is gone: say so, and make the process end with a failure, never silently.
    worker.once('exit', (code) => {
      if (closed) return;
      logger.error('embedded engine thread stopped unexpectedly; the database is unavailable', { code });
      process.exitCode = 1;
    });
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const forward =
    (level: keyof EngineLogger) =>
    (message: string, data?: object): void =>
      port.postMessage({ kind: 'log', level, message, data } satisfies FromThread);
  let engine: EmbeddedMongo | undefined;
  port.on('message', (message: unknown) => {
    if (message !== 'close') return;
    void (engine ? engine.close() : Promise.resolve()).then(() => port.postMessage({ kind: 'closed' } satisfies FromThread));
  });
  startEmbeddedMongo({ ...(workerData as ThreadOptions), logger: { info: forward('info'), warn: forward('warn'), error: forward('error') } }).then(
    (started) => {
      engine = started;
      port.postMessage({ kind: 'ready', uri: started.uri, port: started.port } satisfies FromThread);
    },
    (error: Error) => port.postMessage({ kind: 'failed', message: error.message } satisfies FromThread),
  );
}
