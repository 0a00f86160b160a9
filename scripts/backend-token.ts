/**
 * `npm run token`: prints an access token of a Backend Services client (client_credentials with a signed client
 * assertion), by default the demo seed's `demo-backend` client with its demo-only key in seed/.
 *   FHIR_BASE_URL (default http://localhost:8080/fhir), FHIR_CLIENT_ID (default demo-backend),
 *   FHIR_PRIVATE_KEY_FILE (default seed/demo-backend-private-key.jwk.json), SCOPE (default system/*.cruds)
 */
import { readFile } from 'node:fs/promises';
import { discoverTokenEndpoint, requestBackendToken } from '../src/auth/client-assertion';
import { DEMO_BACKEND_KEY_FILE } from '../src/auth/seed-demo';

async function main(): Promise<void> {
  const base = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
  const privateJwk = JSON.parse(await readFile(process.env.FHIR_PRIVATE_KEY_FILE ?? DEMO_BACKEND_KEY_FILE, 'utf8')) as Record<string, unknown>;
  const token = await requestBackendToken({ clientId: process.env.FHIR_CLIENT_ID ?? 'demo-backend', privateJwk, tokenUrl: await discoverTokenEndpoint(base), scope: process.env.SCOPE ?? 'system/*.cruds' });
  process.stdout.write(`${token.access_token}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
