/**
 * Proves an organization's audit trail (audit-chain.ts): walks the chain from its first event to the head the store
 * recorded, checking that each event holds its place (id and sequence), follows its predecessor's hash and still
 * hashes to what it recorded, that the head names the last event, and that no AuditEvent stands outside the chain.
 * Reports the first broken link: an event changed, removed, reordered or slipped in.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { ChainHead, ResourceStore, StoredVersion } from '../storage/resource-store';
import { AUDIT_CHAIN, auditEventIdOf, computeChainHash, GENESIS_HASH, readChainLink } from './audit-chain';

/** Events fetched per query (by their ids, which the sequence numbers give). */
const PAGE = 500;

export interface BrokenLink {
  /** The place in the chain where it breaks; absent when the break is not at one place (events outside the chain). */
  readonly sequence?: number;
  /** The AuditEvent at that place, when there is one. */
  readonly id?: string;
  readonly reason: string;
}

export interface ChainVerdict {
  readonly valid: boolean;
  /** How many events were checked and found in place. */
  readonly checked: number;
  /** The head as the store recorded it when the walk began. */
  readonly head: ChainHead | undefined;
  readonly broken?: BrokenLink;
}

/** Why the event at `sequence` breaks the chain, or undefined when it holds its place after `previous`. */
function checkLink(sequence: number, version: StoredVersion | undefined, previous: string): string | undefined {
  if (!version?.resource) return 'missing: no AuditEvent holds this place in the chain (removed?)';
  const link = readChainLink(version.resource as AuditEvent);
  if (!link) return 'the AuditEvent carries no audit-chain extension';
  if (link.sequence !== sequence) return `the AuditEvent records sequence ${link.sequence} at place ${sequence}`;
  if (link.previous !== previous) return `the AuditEvent does not follow its predecessor: it records previous hash ${link.previous}, the predecessor's hash is ${previous}`;
  const hash = computeChainHash(version.resource as AuditEvent);
  if (hash !== link.hash) return `the AuditEvent was changed: its content hashes to ${hash}, it records ${link.hash}`;
  return undefined;
}

export async function verifyAuditChain(store: ResourceStore): Promise<ChainVerdict> {
  const head = await store.readChainHead(AUDIT_CHAIN);
  const last = head?.sequence ?? 0;
  let previous = GENESIS_HASH;
  let checked = 0;
  const broken = (sequence: number | undefined, reason: string, id?: string): ChainVerdict => ({
    valid: false,
    checked,
    head,
    broken: { ...(sequence !== undefined ? { sequence } : {}), ...(id !== undefined ? { id } : {}), reason },
  });
  for (let first = 1; first <= last; first += PAGE) {
    const ids = Array.from({ length: Math.min(PAGE, last - first + 1) }, (_, i) => auditEventIdOf(first + i));
    const page = await store.search({ queries: [{ resourceType: 'AuditEvent', criteria: [{ kind: 'ids', ids }] }], sort: [], count: ids.length });
    const byId = new Map(page.versions.map((version) => [version.id, version]));
    for (const [i, id] of ids.entries()) {
      const version = byId.get(id);
      const reason = checkLink(first + i, version, previous);
      if (reason) return broken(first + i, reason, version ? id : undefined);
      previous = readChainLink(version?.resource as AuditEvent)?.hash ?? previous;
      checked += 1;
    }
  }
  if (head && previous !== head.hash) return broken(head.sequence, `the chain head records hash ${head.hash}, the last event's is ${previous}`, auditEventIdOf(head.sequence));
  // Counted before the head is read again: every chained event counted is at or below that head.
  const stored = await store.count([{ resourceType: 'AuditEvent', criteria: [] }]);
  const now = (await store.readChainHead(AUDIT_CHAIN))?.sequence ?? 0;
  if (stored > now) return broken(undefined, `${stored - now} AuditEvent(s) stand outside the chain (the chain holds ${now})`);
  return { valid: true, checked, head };
}
