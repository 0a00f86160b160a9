/**
 * The emergency-access workflow (requirements seed 000 2.1 and its diagram 6.1; seed 001 scenario 1): when an
 * override starts, its record, its scheduled end, its compliance review item and the notification to reviewers
 * exist before the token is issued; when it expires (a durable job scheduled for that instant, so the end is
 * noticed without any request and across restarts) or is revoked (RFC 7009 token revocation, sign-out, or an
 * administrator), the grant's tokens are removed, the review item is updated and reviewers are notified again.
 * Every step can run twice without doing anything twice.
 */
import { randomUUID } from 'node:crypto';
import type { Task } from '@medplum/fhirtypes';
import type { AuthRecords } from '../../auth/auth-records';
import type { BreakGlassOverrides, OverrideStart } from '../../auth/break-glass';
import type { JobRunner, JobStep } from '../../jobs/job-runner';
import type { RecordingOutbox } from '../../notifications/outbox';
import type { ResourceStore } from '../../storage/resource-store';
import { buildReviewTask } from './build-review-task';
import { notifyReviewers } from './notify-reviewers';
import type { OverrideModel, OverrideRecord, OverrideStatus } from './override-records';

/** The job that ends an override: scheduled at its expiry, and queued at once when it is revoked. */
export const END_OVERRIDE_JOB = 'end-break-glass-override';

export interface OverrideDependencies {
  readonly overrides: OverrideModel;
  readonly accounts: AuthRecords['accounts'];
  readonly outbox: Pick<RecordingOutbox, 'record'>;
  storeFor(tenant: string): ResourceStore;
  /** Removes the grant's tokens, codes and the grant itself (the token stops working on the next request). */
  revokeGrant(grantId: string): Promise<void>;
  /** Validates a resource before it is stored, as every client write is. */
  validate(resource: unknown, type: string): void;
  readonly now?: () => Date;
}

/** Writes the review Task for the override's state, keeping reviewers' changes (optimistic locking, retried). */
async function writeReviewTask(deps: OverrideDependencies, override: OverrideRecord, now: Date): Promise<void> {
  const store = deps.storeFor(override.tenant);
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.read('Task', override._id);
    const live = current && !current.deleted ? (current.resource as Task) : undefined;
    const task = buildReviewTask(override, live, now);
    if (live && live.status === task.status && JSON.stringify(live.businessStatus) === JSON.stringify(task.businessStatus) && JSON.stringify(live.input) === JSON.stringify(task.input)) return;
    deps.validate(task, 'Task');
    const written = await store.update(task, current ? { ifVersion: current.versionId } : {});
    if (written.kind === 'written') return;
  }
  throw new Error(`the review Task of override ${override._id} kept changing; it will be written on the next attempt`);
}

/** One step of END_OVERRIDE_JOB: ends an expired override, then removes its grant, updates its review item and notifies. */
export function endOverrideStep(deps: OverrideDependencies): JobStep {
  const now = deps.now ?? (() => new Date());
  return async (job) => {
    const id = job.input.override as string;
    let override = await deps.overrides.findById(id).lean<OverrideRecord>();
    if (!override) return { position: {}, processed: 0, done: true };
    if (override.status === 'active') {
      // Not yet expired: its scheduled job will end it (a revocation sets the status before queueing this job).
      if (override.expiresAt.getTime() > now().getTime()) return { position: {}, processed: 0, done: true };
      override = (await deps.overrides.findOneAndUpdate({ _id: id, status: 'active' }, { $set: { status: 'expired', endedAt: override.expiresAt } }, { returnDocument: 'after' }).lean<OverrideRecord>()) ?? (await deps.overrides.findById(id).lean<OverrideRecord>());
      if (!override) return { position: {}, processed: 0, done: true };
    }
    await deps.revokeGrant(override.grantId);
    await writeReviewTask(deps, override, now());
    await notifyReviewers(deps, override, 'ended');
    return { position: {}, processed: 1, done: true };
  };
}

/** The outcome of an administrator's revocation. */
export type RevokeResult = { readonly kind: 'revoked'; readonly override: OverrideRecord } | { readonly kind: 'ended'; readonly override: OverrideRecord } | { readonly kind: 'unknown' };

export interface OverrideWorkflow extends BreakGlassOverrides {
  /** Revokes an active override of the organization on an administrator's request; its token stops working at once. */
  revoke(tenant: string, id: string, by: { account: string; name: string }): Promise<RevokeResult>;
  /** The organization's overrides, newest first. */
  list(tenant: string, filter: { status?: OverrideStatus; limit: number }): Promise<OverrideRecord[]>;
}

export function createOverrideWorkflow(deps: OverrideDependencies, runner: Pick<JobRunner, 'enqueue'>): OverrideWorkflow {
  const now = deps.now ?? (() => new Date());

  /** Marks an active, unexpired override revoked; the one caller that does so queues its end. */
  async function markRevoked(filter: Record<string, unknown>, by?: { account: string; name: string }): Promise<OverrideRecord | undefined> {
    const at = now();
    const ended = await deps.overrides
      .findOneAndUpdate({ ...filter, status: 'active', expiresAt: { $gt: at } }, { $set: { status: 'revoked', endedAt: at, ...(by ? { endedBy: by } : {}) } }, { returnDocument: 'after' })
      .lean<OverrideRecord>();
    if (!ended) return undefined;
    await runner.enqueue(END_OVERRIDE_JOB, ended.tenant, { override: ended._id });
    return ended;
  }

  return {
    start: async (start: OverrideStart) => {
      const record: OverrideRecord = {
        _id: randomUUID(),
        grantId: start.grantId,
        tenant: start.tenant,
        accountId: start.accountId,
        userName: start.userName,
        role: start.role,
        ...(start.fhirUser ? { fhirUser: start.fhirUser } : {}),
        clientId: start.clientId,
        patient: start.patient,
        purpose: start.purpose,
        reason: start.reason,
        startedAt: start.startedAt,
        expiresAt: start.expiresAt,
        status: 'active',
      };
      await deps.overrides.create(record);
      // The end is scheduled first: whatever fails after this, the override is ended and reported at its expiry.
      await runner.enqueue(END_OVERRIDE_JOB, start.tenant, { override: record._id }, { runAt: start.expiresAt });
      await writeReviewTask(deps, record, now());
      await notifyReviewers(deps, record, 'started');
      return record._id;
    },
    grantRevoked: async (grantId) => {
      await markRevoked({ grantId });
    },
    revoke: async (tenant, id, by) => {
      const revoked = await markRevoked({ _id: id, tenant }, by);
      if (revoked) {
        await deps.revokeGrant(revoked.grantId);
        return { kind: 'revoked', override: revoked };
      }
      const existing = await deps.overrides.findOne({ _id: id, tenant }).lean<OverrideRecord>();
      return existing ? { kind: 'ended', override: existing } : { kind: 'unknown' };
    },
    list: (tenant, filter) =>
      deps.overrides
        .find({ tenant, ...(filter.status ? { status: filter.status } : {}) })
        .sort({ startedAt: -1 })
        .limit(filter.limit)
        .lean<OverrideRecord[]>()
        .exec(),
  };
}
