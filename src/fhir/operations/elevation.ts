/**
 * Time-boxed elevated permissions (requirements seed 000 5.3; src/access/elevations.ts): $request-elevation by a
 * department head, Task/$approve-elevation by an organization administrator (level 1) and then a system
 * administrator (level 2), neither the requester, and Task/$revoke-elevation by an administrator or the requester.
 * Every step is recorded in the Task (who, when, what), and the request is audited like every request.
 */
import type { Parameters, Task } from '@medplum/fhirtypes';
import type { ScopeInteraction } from '../../auth/principal';
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import { requireLive } from '../interactions/read';
import { versionResponse } from '../responses';
import { readOperationDefinition, type Operation, type OperationTarget } from './operation';
import { ELEVATION_CODE, ELEVATION_SYSTEM, MAX_ELEVATION_DAYS, grantText } from '../../access/elevations';
import { isResourceType } from '../../definitions';
import { parseDateRange } from '../../search/date-range';
import { FhirError } from '../../errors';
import { refusedBy } from '../../access/access-policy';

const RULE = 'elevation-approval';

function values(parameters: Parameters, name: string): string[] {
  return (parameters.parameter ?? []).filter((p) => p.name === name).flatMap((p) => p.valueCode ?? p.valueString ?? p.valueDateTime ?? []);
}

function refuse(reason: string): FhirError {
  return refusedBy(RULE, `Access denied by rule '${RULE}': ${reason}`);
}

function invalid(name: string, message: string): FhirError {
  return new FhirError('invalid', `Parameter '${name}': ${message}`, { expression: [name] });
}

/** Who acts, as the Task records it. */
function actor(context: FhirContext): string {
  return context.principal.fhirUser ?? `account/${context.principal.accountId ?? context.principal.clientId}`;
}

function note(context: FhirContext, text: string): NonNullable<Task['note']>[number] {
  return { ...(context.principal.fhirUser ? { authorReference: { reference: context.principal.fhirUser } } : { authorString: actor(context) }), time: new Date().toISOString(), text };
}

async function elevationTask(context: FhirContext, id: string): Promise<Task & { id: string }> {
  const version = requireLive(await context.store.read('Task', id), 'Task', id);
  const task = version.resource as Task & { id: string };
  if (!task.code?.coding?.some((c) => c.system === ELEVATION_SYSTEM && c.code === ELEVATION_CODE)) throw new FhirError('not-found', `Task/${id} is not a request for elevated permissions`);
  return task;
}

/**
 * Organization and system administrators (the platform's compliance reviewers) hear of every elevation that takes
 * effect and every revocation (seed 000 5.3).
 */
async function tellReviewers(context: FhirContext, task: Task & { id: string }, event: 'granted' | 'revoked'): Promise<void> {
  const grants = (task.input ?? []).map((i) => i.valueString).join('; ');
  const holder = task.for?.reference ?? 'unknown';
  await context.outbox.send({
    tenant: context.principal.tenant,
    topic: `elevation-${event}`,
    recipients: [{ role: 'org-admin' }, { role: 'system-admin' }],
    about: `Task/${task.id}`,
    subject: event === 'granted' ? { en: 'Elevated permissions in effect', es: 'Permisos elevados en vigor' } : { en: 'Elevated permissions revoked', es: 'Permisos elevados revocados' },
    body:
      event === 'granted'
        ? { en: `${holder} holds ${grants} until ${task.restriction?.period?.end} (Task/${task.id}).`, es: `${holder} tiene ${grants} hasta ${task.restriction?.period?.end} (Task/${task.id}).` }
        : { en: `The elevated permissions of ${holder} (${grants}, Task/${task.id}) were revoked.`, es: `Se revocaron los permisos elevados de ${holder} (${grants}, Task/${task.id}).` },
  });
}

async function store(request: FhirRequest, context: FhirContext, task: Task & { id: string }, status: number): Promise<FhirResponse> {
  context.validate(task, 'Task');
  const result = await context.store.update(task);
  if (result.kind !== 'written') throw new FhirError('conflict', `Task/${task.id} changed meanwhile; try again`);
  return versionResponse({ ...request, preferReturn: undefined }, context.baseUrl, result.version, status);
}

export const requestElevation: Operation = {
  name: 'request-elevation',
  definition: readOperationDefinition('request-elevation'),
  async run(request: FhirRequest, context: FhirContext, _target: OperationTarget, parameters: Parameters): Promise<FhirResponse> {
    const { principal } = context;
    if (principal.kind !== 'user' || principal.role !== 'department-head' || !principal.fhirUser) throw refuse('elevated permissions are requested by department heads');
    const types = values(parameters, 'type');
    if (types.length === 0 || types.some((t) => !isResourceType(t))) throw invalid('type', 'give one or more resource types');
    const [letters = ''] = values(parameters, 'permissions');
    if (!/^c?r?u?d?s?$/.test(letters) || letters === '') throw invalid('permissions', "give SMART v2 letters in the order c, r, u, d, s, e.g. 'rs'");
    const [endText = ''] = values(parameters, 'end');
    const end = parseDateRange(endText)?.end.getTime();
    if (end === undefined || end <= Date.now() || end > Date.now() + MAX_ELEVATION_DAYS * 86_400_000) throw invalid('end', `give a time in the future, at most ${MAX_ELEVATION_DAYS} days ahead`);
    const [reason = ''] = values(parameters, 'reason');
    if (reason.trim().length < 10) throw invalid('reason', 'say why, in at least 10 characters');
    const task: Task = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      priority: 'routine',
      code: { coding: [{ system: ELEVATION_SYSTEM, code: ELEVATION_CODE, display: 'Request for elevated permissions' }] },
      for: { reference: principal.fhirUser },
      requester: { reference: principal.fhirUser },
      authoredOn: new Date().toISOString(),
      restriction: { period: { end: new Date(end).toISOString() } },
      reasonCode: { text: reason },
      input: [{ type: { text: 'grant' }, valueString: grantText({ types, allow: [...letters] as ScopeInteraction[] }) }],
      note: [note(context, 'requested')],
    };
    context.validate(task, 'Task');
    const version = await context.store.create(task);
    return versionResponse({ ...request, preferReturn: undefined }, context.baseUrl, version, 201, { location: true });
  },
};

export const approveElevation: Operation = {
  name: 'approve-elevation',
  definition: readOperationDefinition('Task-approve-elevation'),
  async run(request: FhirRequest, context: FhirContext, target: OperationTarget, parameters: Parameters): Promise<FhirResponse> {
    const task = await elevationTask(context, target.id as string);
    const level = task.status === 'requested' ? 1 : task.status === 'accepted' ? 2 : undefined;
    if (level === undefined) throw new FhirError('conflict', `Task/${task.id} is ${task.status}; only requested or once-approved requests are decided`);
    const { principal } = context;
    const approver = level === 1 ? { role: 'org-admin', who: 'an organization administrator' } : { role: 'system-admin', who: 'a system administrator' };
    if (principal.kind !== 'user' || principal.role !== approver.role) throw refuse(`level ${level} is decided by ${approver.who}`);
    if (principal.fhirUser && principal.fhirUser === task.requester?.reference) throw refuse('a request is never decided by its requester');
    const [decision = 'approve'] = values(parameters, 'decision');
    if (decision !== 'approve' && decision !== 'reject') throw invalid('decision', "give 'approve' or 'reject'");
    const [text] = values(parameters, 'note');
    const recorded = `${decision === 'approve' ? 'approved' : 'rejected'} (level ${level})${text ? `: ${text}` : ''}`;
    const granted = decision === 'approve' && level === 2;
    const updated: Task & { id: string } = {
      ...task,
      status: decision === 'reject' ? 'rejected' : level === 1 ? 'accepted' : 'in-progress',
      ...(granted ? { executionPeriod: { start: new Date().toISOString(), end: task.restriction?.period?.end } } : {}),
      note: [...(task.note ?? []), note(context, recorded)],
    };
    const response = await store(request, context, updated, 200);
    if (granted) await tellReviewers(context, updated, 'granted');
    return response;
  },
};

export const revokeElevation: Operation = {
  name: 'revoke-elevation',
  definition: readOperationDefinition('Task-revoke-elevation'),
  async run(request: FhirRequest, context: FhirContext, target: OperationTarget, parameters: Parameters): Promise<FhirResponse> {
    const task = await elevationTask(context, target.id as string);
    const { principal } = context;
    const administrator = principal.kind === 'user' && (principal.role === 'org-admin' || principal.role === 'system-admin');
    if (!administrator && principal.fhirUser !== task.requester?.reference) throw refuse('an elevation is revoked by an administrator or its requester');
    if (task.status === 'cancelled' || task.status === 'rejected' || task.status === 'completed') throw new FhirError('conflict', `Task/${task.id} is already ${task.status}`);
    const [text] = values(parameters, 'note');
    const now = new Date().toISOString();
    const wasInEffect = task.status === 'in-progress';
    const revoked: Task & { id: string } = { ...task, status: 'cancelled', ...(task.executionPeriod ? { executionPeriod: { ...task.executionPeriod, end: now } } : {}), note: [...(task.note ?? []), note(context, `revoked${text ? `: ${text}` : ''}`)] };
    const response = await store(request, context, revoked, 200);
    if (wasInEffect) await tellReviewers(context, revoked, 'revoked');
    return response;
  },
};
