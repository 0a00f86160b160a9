/**
 * Patient/[id]/$lock and $unlock (OperationDefinitions in profiles/): place and lift record locks for an audit, a
 * legal hold or an investigation (requirements seed 000 4.4; src/access/record-locks.ts). Lock Flags are written
 * here only: the record-lock rule refuses them on every other path. Placing and lifting are for organization
 * administrators (and system clients allowed to write Flags); lifting also for the reviewer who placed the lock.
 */
import type { Flag, Parameters } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import { requireLive } from '../interactions/read';
import { versionResponse } from '../responses';
import { readOperationDefinition, type Operation, type OperationTarget } from './operation';
import { LOCK_REASONS, RECORD_LOCK_SYSTEM, lockCodeKeys } from '../../access/record-locks';
import { referenceKey } from '../../search/index-keys';
import { FhirError } from '../../errors';
import { refusedBy } from '../../access/access-policy';

function parameter(parameters: Parameters, name: string): string | undefined {
  const found = parameters.parameter?.find((p) => p.name === name);
  return found?.valueCode ?? found?.valueString ?? found?.valueId ?? undefined;
}

/** Organization administrators, or system clients whose scopes allow the Flag interaction. */
function mayManageLocks(context: FhirContext, interaction: 'create' | 'update'): boolean {
  const { principal } = context;
  if (principal.kind === 'system') return principal.scopes.some((s) => (s.resourceType === 'Flag' || s.resourceType === '*') && s.interactions.has(interaction === 'create' ? 'c' : 'u'));
  return principal.role === 'org-admin';
}

function refuse(operation: string, who: string): FhirError {
  return refusedBy('record-lock', `Access denied by rule 'record-lock': $${operation} is for ${who}`, `Ask an organization administrator of your organization to ${operation === 'lock' ? 'place' : 'lift'} the lock.`);
}

export const patientLock: Operation = {
  name: 'lock',
  definition: readOperationDefinition('Patient-lock'),
  async run(request: FhirRequest, context: FhirContext, target: OperationTarget, parameters: Parameters): Promise<FhirResponse> {
    if (!mayManageLocks(context, 'create')) throw refuse('lock', 'organization administrators');
    const id = target.id as string;
    context.access.checkRead('read', requireLive(await context.store.read('Patient', id), 'Patient', id));
    const reason = parameter(parameters, 'reason');
    if (!reason || !(LOCK_REASONS as readonly string[]).includes(reason)) {
      throw new FhirError('invalid', `Parameter 'reason' must be one of ${LOCK_REASONS.join(', ')}`, { expression: ['reason'] });
    }
    const note = parameter(parameters, 'note');
    const flag: Flag = {
      resourceType: 'Flag',
      status: 'active',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'admin', display: 'Administrative' }] }],
      code: { coding: [{ system: RECORD_LOCK_SYSTEM, code: reason }], ...(note ? { text: note } : {}) },
      subject: { reference: `Patient/${id}` },
      period: { start: new Date().toISOString() },
      ...(context.principal.fhirUser ? { author: { reference: context.principal.fhirUser } } : {}),
    };
    context.validate(flag, 'Flag');
    const version = await context.store.create(flag);
    return versionResponse({ ...request, preferReturn: undefined }, context.baseUrl, version, 201, { location: true });
  },
};

export const patientUnlock: Operation = {
  name: 'unlock',
  definition: readOperationDefinition('Patient-unlock'),
  async run(_request: FhirRequest, context: FhirContext, target: OperationTarget, parameters: Parameters): Promise<FhirResponse> {
    const id = target.id as string;
    requireLive(await context.store.read('Patient', id), 'Patient', id);
    const only = parameter(parameters, 'flag');
    const page = await context.store.search({
      queries: [{ resourceType: 'Flag', criteria: [{ kind: 'keys', keys: lockCodeKeys() }, { kind: 'keys', keys: [referenceKey('subject', `Patient/${id}`)] }, ...(only ? [{ kind: 'ids' as const, ids: [only] }] : [])] }],
      sort: [],
      count: 1000,
    });
    const active = page.versions.map((v) => v.resource as Flag & { id: string }).filter((flag) => flag.status === 'active');
    const mayLift = (flag: Flag): boolean => mayManageLocks(context, 'update') || (flag.author?.reference !== undefined && flag.author.reference === context.principal.fhirUser);
    if (!active.every(mayLift)) throw refuse('unlock', 'organization administrators and the reviewer who placed the lock');
    await context.store.transaction(async (store) => {
      for (const flag of active) await store.update({ ...flag, status: 'inactive', period: { ...flag.period, end: new Date().toISOString() } });
    });
    return { status: 200, body: { resourceType: 'Parameters', parameter: [{ name: 'released', valueInteger: active.length }] } };
  },
};
