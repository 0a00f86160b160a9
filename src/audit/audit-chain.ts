/**
 * The hash chain that makes an organization's audit trail tamper-evident. Each AuditEvent carries, in the
 * `audit-chain` extension, its sequence number in the organization's trail, the hash of the event before it and
 * its own hash: SHA-256 (hex) over the event's canonical JSON (RFC 8785 JCS: keys sorted, no whitespace) without
 * `meta` (which the store manages) and without the `hash` part itself. Anyone who can read the AuditEvents can
 * recompute every hash, so changing, removing or inserting an event breaks the chain where it happened.
 * The event's id is its sequence number, zero-padded so that id order is chain order.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent, Extension } from '@medplum/fhirtypes';
import type { ChainHead, ChainLinks } from '../storage/resource-store';
import { AUDIT_CHAIN_EXTENSION } from './audit-codes';

/** The chain's name in the store (ResourceStore.appendToChain). */
export const AUDIT_CHAIN = 'audit';

/** The `previous` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** An event's place in the chain, as its extension records it. */
export interface ChainLink {
  readonly sequence: number;
  readonly previous: string;
  readonly hash: string;
}

/** The id of the event at `sequence`: 16 digits, so that ids sort as sequence numbers do. */
export function auditEventIdOf(sequence: number): string {
  return String(sequence).padStart(16, '0');
}

/** JSON with object keys in code-unit order and no whitespace (RFC 8785 for the values a resource holds). */
export function toCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => toCanonicalJson(item ?? null)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${toCanonicalJson(record[key])}`).join(',')}}`;
}

function isChainExtension(extension: Extension): boolean {
  return extension.url === AUDIT_CHAIN_EXTENSION;
}

/** What the hash covers: the event without `meta` and without its own hash. */
function hashedContent(event: AuditEvent): unknown {
  const { meta: _managed, ...content } = event;
  return {
    ...content,
    extension: event.extension?.map((extension) => (isChainExtension(extension) ? { ...extension, extension: extension.extension?.filter((part) => part.url !== 'hash') } : extension)),
  };
}

/** The hash an event's chain link must record (hex SHA-256 of its canonical content). */
export function computeChainHash(event: AuditEvent): string {
  return createHash('sha256').update(toCanonicalJson(hashedContent(event)), 'utf8').digest('hex');
}

function chainExtension(sequence: number, previous: string, hash?: string): Extension {
  return {
    url: AUDIT_CHAIN_EXTENSION,
    extension: [
      { url: 'sequence', valueDecimal: sequence },
      { url: 'previous', valueString: previous },
      ...(hash === undefined ? [] : [{ url: 'hash', valueString: hash }]),
    ],
  };
}

/** The event's link as recorded, or undefined when it carries no well-formed one. */
export function readChainLink(event: AuditEvent): ChainLink | undefined {
  const parts = event.extension?.find(isChainExtension)?.extension ?? [];
  const sequence = parts.find((p) => p.url === 'sequence')?.valueDecimal;
  const previous = parts.find((p) => p.url === 'previous')?.valueString;
  const hash = parts.find((p) => p.url === 'hash')?.valueString;
  if (typeof sequence !== 'number' || typeof previous !== 'string' || typeof hash !== 'string') return undefined;
  return { sequence, previous, hash };
}

/**
 * Chains `events` after `head` (the first event of an organization follows GENESIS_HASH): each gets its id,
 * sequence number, the previous hash and its own. Pure, so that an append that lost a race can link again.
 */
export function linkAuditEvents(events: readonly AuditEvent[], head: ChainHead | undefined): ChainLinks {
  let sequence = head?.sequence ?? 0;
  let previous = head?.hash ?? GENESIS_HASH;
  const resources = events.map((event) => {
    sequence += 1;
    const { resourceType: _type, id: _unassigned, extension = [], ...content } = event;
    const others = extension.filter((e) => !isChainExtension(e));
    const linked = (hash?: string): AuditEvent & { id: string } => ({ resourceType: 'AuditEvent', id: auditEventIdOf(sequence), extension: [chainExtension(sequence, previous, hash), ...others], ...content });
    const hash = computeChainHash(linked());
    const sealed = linked(hash);
    previous = hash;
    return sealed;
  });
  return { resources, head: { sequence, hash: previous } };
}
