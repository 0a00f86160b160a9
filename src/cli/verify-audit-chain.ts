/**
 * `npm run audit:verify -- <tenant>`: proves an organization's audit chain (src/audit/verify-audit-chain.ts)
 * straight from the database the server uses (MONGODB_URI, or the embedded engine's DATA_DIR), without the server
 * and without a token. Exit code 0: intact; 1: broken (the first broken link is printed); 2: cannot verify.
 * The embedded engine allows one process per DATA_DIR: while the server runs on it, use
 * GET [base]/AuditEvent/$verify-chain instead.
 */
import pino from 'pino';
import { ConfigError, loadConfig } from '../config/settings';
import { openDatabase } from '../storage/database';
import { createIndexer } from '../search/extract-index-values';
import { baseSearchParameters } from '../search/search-parameters';
import { verifyAuditChain } from '../audit/verify-audit-chain';

const TENANT = /^[A-Za-z0-9\-.]{1,64}$/;
const USAGE = 'usage: npm run audit:verify -- <tenant>   (the database comes from MONGODB_URI, or DATA_DIR for the embedded engine)';

export interface CommandResult {
  readonly code: 0 | 1 | 2;
  readonly output: string;
}

/** Runs the command for `args` against the database `env` names. */
export async function verifyAuditChainCommand(args: readonly string[], env: Record<string, string | undefined>): Promise<CommandResult> {
  const [tenant] = args;
  if (args.length !== 1 || tenant === undefined || !TENANT.test(tenant)) return { code: 2, output: USAGE };
  let database;
  try {
    const config = loadConfig(env);
    database = await openDatabase(config, pino({ level: 'silent' }), createIndexer(() => baseSearchParameters()));
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : (error as Error).message;
    return { code: 2, output: `cannot open the database: ${reason}\n(with the embedded engine, stop the server first or call GET [base]/AuditEvent/$verify-chain)` };
  }
  try {
    const verdict = await verifyAuditChain(database.storeFor(tenant));
    const head = verdict.head ? `head ${verdict.head.sequence} (hash ${verdict.head.hash})` : 'nothing recorded yet';
    if (verdict.valid) return { code: 0, output: `audit chain of '${tenant}': intact; ${verdict.checked} events checked; ${head}` };
    const { sequence, id, reason } = verdict.broken ?? { reason: 'unknown' };
    const where = sequence === undefined ? '' : ` at sequence ${sequence}${id ? ` (AuditEvent/${id})` : ''}`;
    return { code: 1, output: `audit chain of '${tenant}': BROKEN${where}: ${reason}\n${verdict.checked} events checked before it; ${head}` };
  } finally {
    await database.close();
  }
}

if (require.main === module) {
  verifyAuditChainCommand(process.argv.slice(2), process.env)
    .then(({ code, output }) => {
      (code === 2 ? process.stderr : process.stdout).write(`${output}\n`);
      process.exit(code);
    })
    .catch((error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    });
}
