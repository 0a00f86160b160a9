/**
 * The audit sink (DESIGN.md example 8): stores AuditEvents in their organization's store, chained (audit-chain.ts),
 * and resolves each `record` only once its event is durable, so the HTTP stage can hold the response until then.
 * Events of concurrent requests are written together (group commit): while one append is in flight, the events
 * that arrive queue up and go in the next one, so under load there is one transaction per batch, not per request.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import type { ResourceStore } from '../storage/resource-store';
import { AUDIT_CHAIN, linkAuditEvents } from './audit-chain';

export interface AuditSink {
  /** Appends `event` to the organization's audit trail; resolves when it is durable, rejects when it could not be stored. */
  record(tenant: string, event: AuditEvent): Promise<void>;
}

interface Pending {
  readonly event: AuditEvent;
  readonly done: (error?: unknown) => void;
}

/** A batch larger than this waits for the next append (a bound on one transaction's size). */
const MAX_BATCH = 256;

/** One organization's queue: at most one append in flight. */
class ChainWriter {
  private readonly pending: Pending[] = [];
  private writing = false;

  constructor(private readonly store: ResourceStore) {}

  record(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      const events = batch.map((p) => p.event);
      try {
        await this.store.appendToChain(AUDIT_CHAIN, (head) => linkAuditEvents(events, head));
        for (const p of batch) p.done();
      } catch (error) {
        for (const p of batch) p.done(error ?? new Error('the audit trail could not be written'));
      }
    }
    this.writing = false;
  }
}

/** The sink writing to `storeFor(tenant)`: one chain, and one queue, per organization. */
export function createChainedAuditSink(storeFor: (tenant: string) => ResourceStore): AuditSink {
  const writers = new Map<string, ChainWriter>();
  return {
    record: (tenant, event) => {
      let writer = writers.get(tenant);
      if (!writer) {
        writer = new ChainWriter(storeFor(tenant));
        writers.set(tenant, writer);
      }
      return writer.record(event);
    },
  };
}
