/**
 * A server process for bench/audit-bench.ts, started as src/main.ts starts one (embedded engine with a durable
 * journal, demo seed), with `--without-policy-and-audit` serving the same API without audit capture and with an
 * access policy that allows everything: the baseline the overhead of policy and audit is measured against.
 */
import http from 'node:http';
import pino from 'pino';
import { loadConfig } from '../src/config/settings';
import { openDatabase } from '../src/storage/database';
import { configureKeepAlive, createApp, createSearchIndexer } from '../src/app';
import { SearchParameterCatalog } from '../src/search/search-parameter-catalog';

async function start(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel });
  const catalog = new SearchParameterCatalog();
  const database = await openDatabase(config, logger, createSearchIndexer(catalog));
  const origin = (config.publicUrl ?? `http://localhost:${config.port}`).replace(/\/$/, '');
  const app = await createApp({ config, database, logger, origin, catalog, withoutPolicyAndAudit: process.argv.includes('--without-policy-and-audit') });
  const server = http.createServer(app.koa.callback());
  configureKeepAlive(server);
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  process.on('SIGTERM', () => {
    server.close(() => {
      void app
        .stop()
        .then(() => database.close())
        .then(() => process.exit(0));
    });
    server.closeIdleConnections();
  });
}

start().catch((error: Error) => {
  process.stderr.write(`audit bench server failed to start: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
