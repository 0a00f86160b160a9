/**
 * Starts the process: configuration, logger, database, app, listen; on SIGTERM/SIGINT stops accepting, lets
 * in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), then closes the database (the embedded engine
 * flushes its journal) and exits. The only module with side effects at import.
 */
import http from 'node:http';
import pino from 'pino';
import { ConfigError, loadConfig, type Config } from './config/settings';
import { openDatabase } from './storage/database';
import { configureKeepAlive, createApp, createSearchIndexer } from './app';
import { SearchParameterCatalog } from './search/search-parameter-catalog';

async function start(config: Config): Promise<void> {
  const logger = pino({ level: config.logLevel, base: { service: 'fhir-interop-server' } });
  const catalog = new SearchParameterCatalog();
  const database = await openDatabase(config, logger, createSearchIndexer(catalog));
  // The issuer and token audience name the real port (PORT=0 picks one), so the app is built once listening;
  // until then requests get 503.
  let handle: http.RequestListener = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = http.createServer((req, res) => handle(req, res));
  configureKeepAlive(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const origin = (config.publicUrl ?? `http://localhost:${port}`).replace(/\/$/, '');
  const app = await createApp({ config, database, logger, origin, catalog });
  handle = app.koa.callback();
  logger.info({ url: origin, fhirBase: `${origin}/fhir`, database: database.description }, 'listening');

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; closing connections');
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    deadline.unref();
    server.close(() => {
      clearTimeout(deadline);
      app
        .stop()
        .then(() => database.close())
        .then(() => {
          logger.info('stopped');
          process.exit(0);
        })
        .catch((error: Error) => {
          logger.error({ err: error }, 'closing the database failed');
          process.exit(1);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(2);
}
start(config).catch((error: Error) => {
  process.stderr.write(`failed to start: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
