/**
 * oidc-provider's storage adapter on the server's database (oidc-provider docs "adapter"): sessions, grants,
 * codes, tokens, interactions and replay-detection records survive a restart, so nobody is logged out and no grant
 * is lost. Client metadata is read from the registered client applications. Lookups are by `_id` or an indexed
 * field; expired records are ignored on read and removed by a TTL index.
 */
import { createHash } from 'node:crypto';
import type { Adapter, AdapterPayload } from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { AuthRecords, OidcStateRecord } from './auth-records';
import { clientMetadata } from './client-applications';

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: number }).code === 11000;
}

/**
 * Records a client assertion's `jti` (per issuer) until it expires; false when it was already recorded. One insert,
 * so of two concurrent requests with the same assertion only one passes (oidc-provider's own check reads first).
 */
export async function recordAssertionJti(records: AuthRecords, issuer: string, jti: string, expiresAt: Date): Promise<boolean> {
  const id = `AssertionJti:${createHash('sha256').update(`${issuer}\u0000${jti}`).digest('base64url')}`;
  try {
    await records.oidcState.collection.insertOne({ _id: id, model: 'AssertionJti', payload: '{}', expiresAt } as never);
    return true;
  } catch (error) {
    if (isDuplicateKey(error)) return false;
    throw error;
  }
}

function toPayload(record: Pick<OidcStateRecord, 'payload' | 'consumedAt' | 'expiresAt'> | null): AdapterPayload | undefined {
  if (!record) return undefined;
  if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) return undefined;
  const payload = JSON.parse(record.payload) as AdapterPayload;
  return record.consumedAt !== undefined ? { ...payload, consumed: record.consumedAt } : payload;
}

/** Removes everything of a grant: its tokens, codes and sessions' records, the grant itself and its launch context. */
export async function revokeGrantRecords(records: AuthRecords, grantId: string): Promise<void> {
  await records.oidcState.deleteMany({ $or: [{ grantId }, { _id: `Grant:${grantId}` }] });
  await records.grantContexts.deleteOne({ _id: grantId });
}

export interface AdapterHooks {
  /** Told after a grant's tokens were revoked (RFC 7009 revocation, sign-out, a replayed code). */
  grantRevoked(grantId: string): Promise<void>;
}

/** The adapter class oidc-provider instantiates once per model name. */
export function createOidcAdapter(records: AuthRecords, hooks?: AdapterHooks): new (model: string) => Adapter {
  const state = records.oidcState;
  return class MongoOidcAdapter implements Adapter {
    constructor(private readonly model: string) {}

    private key(id: string): string {
      return `${this.model}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const record: OidcStateRecord = {
        _id: this.key(id),
        model: this.model,
        payload: JSON.stringify(payload),
        ...(payload.grantId ? { grantId: payload.grantId } : {}),
        ...(payload.uid ? { uid: payload.uid } : {}),
        ...(payload.userCode ? { userCode: payload.userCode } : {}),
        ...(expiresIn ? { expiresAt: new Date(Date.now() + expiresIn * 1000) } : {}),
      };
      await state.collection.replaceOne({ _id: record._id } as never, record, { upsert: true });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') {
        const client = await records.clients.findById(id).lean();
        return client ? (clientMetadata(client) as AdapterPayload) : undefined;
      }
      return toPayload(await state.findById(this.key(id), { payload: 1, consumedAt: 1, expiresAt: 1 }).lean());
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return toPayload(await state.findOne({ model: this.model, uid }).lean());
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return toPayload(await state.findOne({ model: this.model, userCode }).lean());
    }

    async consume(id: string): Promise<void> {
      await state.updateOne({ _id: this.key(id) }, { $set: { consumedAt: Math.floor(Date.now() / 1000) } });
    }

    async destroy(id: string): Promise<void> {
      await state.deleteOne({ _id: this.key(id) });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await state.deleteMany({ grantId });
      await records.grantContexts.deleteOne({ _id: grantId });
      await hooks?.grantRevoked(grantId);
    }
  };
}
