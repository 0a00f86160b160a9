/**
 * The authorization server's secrets, created on first start and kept in the database so that a restart (or a
 * second instance) keeps sessions, cookies and issued ID tokens valid: the ID token signing keys (RS256, as OIDC
 * Core requires, and ES384), the cookie signing keys and the key of the sign-in pages' CSRF tokens.
 */
import { createHmac, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthRecords, ServerKeysRecord } from './auth-records';

export interface ServerKeys {
  readonly jwks: { keys: Record<string, unknown>[] };
  readonly cookieKeys: string[];
  readonly csrfKey: string;
}

function signingKey(type: 'rsa' | 'ec', alg: string): Record<string, unknown> {
  const { privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: randomBytes(8).toString('hex') };
}

/** Loads the keys, creating them once (concurrent first starts agree on one set). */
export async function loadServerKeys(records: AuthRecords): Promise<ServerKeys> {
  const existing = await records.serverKeys.findById('authorization-server').lean();
  if (existing) return existing;
  const created: ServerKeysRecord = {
    _id: 'authorization-server',
    jwks: { keys: [signingKey('rsa', 'RS256'), signingKey('ec', 'ES384')] },
    cookieKeys: [randomBytes(32).toString('base64url')],
    csrfKey: randomBytes(32).toString('base64url'),
  };
  try {
    await records.serverKeys.create(created);
    return created;
  } catch (error) {
    if ((error as { code?: number }).code !== 11000) throw error;
    return (await records.serverKeys.findById('authorization-server').lean()) as ServerKeysRecord;
  }
}

/** The CSRF token of a sign-in form: bound to the interaction it belongs to (whose cookie the browser holds). */
export function csrfToken(keys: ServerKeys, interactionUid: string, purpose: string): string {
  return createHmac('sha256', keys.csrfKey).update(`${purpose}\u0000${interactionUid}`).digest('base64url');
}

export function checkCsrfToken(keys: ServerKeys, interactionUid: string, purpose: string, token: unknown): boolean {
  if (typeof token !== 'string') return false;
  const expected = Buffer.from(csrfToken(keys, interactionUid, purpose));
  const actual = Buffer.from(token);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
