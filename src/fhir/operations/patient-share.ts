/**
 * Patient/[id]/$share (OperationDefinition in profiles/): the only way a patient's record crosses organizations
 * (requirements seed 000 2.5; issue 6 "Organizations and patients"). An organization administrator starts it; the
 * patient must have an active Consent permitting the receiving organization. The Patient and its compartment are
 * copied into the receiving organization in one transaction under new ids, references between the copies are
 * rewritten, references to anything else become logical references to the source, and one Provenance records the
 * copy and the consent that allowed it. The request is audited like every other.
 */
import { randomUUID } from 'node:crypto';
import type { Consent, Parameters, Provenance, Reference, Resource } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import { requireLive } from '../interactions/read';
import { readOperationDefinition, type Operation, type OperationTarget } from './operation';
import { patientRecordTypes } from '../../definitions/compartments';
import { patientCompartmentCriterion } from '../../search/patient-compartment';
import { referenceKey, tokenQueryKey } from '../../search/index-keys';
import type { StoredVersion } from '../../storage/resource-store';
import { FhirError } from '../../errors';
import { refusedBy } from '../../access/access-policy';

/** How a Consent names an organization of the platform (its tenant id). */
export const ORGANIZATION_SYSTEM = 'http://fhir-interop-server.org/fhir/NamingSystem/organization';
/** Logical references from a copy back to the resources of its source organization: `<tenant>/<Type>/<id>`. */
export const SOURCE_REFERENCE_SYSTEM = 'http://fhir-interop-server.org/fhir/NamingSystem/source-reference';

const RULE = 'sharing-consent';
const MAX_RESOURCES = 10_000;
const SHARING_ESCALATION = "Sharing or moving a record is started by an organization administrator of the patient's organization, once the patient has an active Consent permitting disclosure to the receiving organization; ask one.";

function refuse(reason: string): FhirError {
  return refusedBy(RULE, `Access denied by rule '${RULE}': ${reason}`, SHARING_ESCALATION);
}

/** The patient's active Consent permitting disclosure to `organization`, if any. */
async function permittingConsent(context: FhirContext, patient: string, organization: string): Promise<Consent | undefined> {
  const page = await context.store.search({
    queries: [{ resourceType: 'Consent', criteria: [{ kind: 'keys', keys: [referenceKey('patient', `Patient/${patient}`)] }, { kind: 'keys', keys: [tokenQueryKey('status', undefined, 'active')] }] }],
    sort: [{ param: '_lastUpdated', descending: true }],
    count: 100,
  });
  const names = (actor: { reference?: Reference }): boolean => actor.reference?.identifier?.system === ORGANIZATION_SYSTEM && actor.reference.identifier.value === organization;
  return page.versions
    .map((v) => v.resource as Consent)
    .find((consent) => consent.provision?.type === 'permit' && (consent.provision.actor ?? []).some(names));
}

/** Every live resource of the patient's record: the Patient and its compartment, its audit trail excepted. */
async function compartmentOf(context: FhirContext, patient: string): Promise<StoredVersion[]> {
  const types = patientRecordTypes(context.registry.types.keys());
  const queries = types.map((type) => ({ resourceType: type, criteria: [patientCompartmentCriterion(patient, type) as NonNullable<ReturnType<typeof patientCompartmentCriterion>>] }));
  const page = await context.store.search({ queries, sort: [], count: MAX_RESOURCES + 1 });
  if (page.versions.length > MAX_RESOURCES) throw new FhirError('too-costly', `The record has more than ${MAX_RESOURCES} resources; share it in parts`);
  return page.versions;
}

/** Rewrites every reference of a copy: to the new id when it is copied too, else to a logical reference to the source. */
function rewrite(value: unknown, copies: ReadonlyMap<string, string>, source: string): unknown {
  if (Array.isArray(value)) return value.map((item) => rewrite(item, copies, source));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const reference = record.reference;
  if (typeof reference === 'string' && /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(reference)) {
    const copied = copies.get(reference);
    if (copied) return { ...record, reference: copied };
    const { reference: _dropped, ...rest } = record;
    return { ...rest, type: reference.split('/')[0], identifier: { system: SOURCE_REFERENCE_SYSTEM, value: `${source}/${reference}` } };
  }
  return Object.fromEntries(Object.entries(record).map(([key, child]) => [key, rewrite(child, copies, source)]));
}

export const patientShare: Operation = {
  name: 'share',
  definition: readOperationDefinition('Patient-share'),
  async run(_request: FhirRequest, context: FhirContext, target: OperationTarget, parameters: Parameters): Promise<FhirResponse> {
    const { principal } = context;
    if (principal.kind !== 'user' || principal.role !== 'org-admin') throw refuse('$share is started by an organization administrator');
    const organization = parameters.parameter?.find((p) => p.name === 'organization');
    const receiving = organization?.valueId ?? organization?.valueString;
    if (!receiving || !/^[A-Za-z0-9\-.]{1,64}$/.test(receiving)) throw new FhirError('invalid', "Parameter 'organization' must be the id of an organization of this platform", { expression: ['organization'] });
    if (receiving === principal.tenant) throw new FhirError('invalid', 'The receiving organization must be another organization', { expression: ['organization'] });
    const id = target.id as string;
    requireLive(await context.store.read('Patient', id), 'Patient', id);
    const destination = context.openOrganization(receiving);
    if ((await destination.matchIds({ resourceType: 'Organization', criteria: [] }, 1)).length === 0) {
      throw new FhirError('not-found', `There is no organization '${receiving}' on this platform`, { expression: ['organization'] });
    }
    const consent = await permittingConsent(context, id, receiving);
    if (!consent) throw refuse(`Patient/${id} has no active Consent permitting disclosure to organization '${receiving}'`);
    const originals = await compartmentOf(context, id);
    const copies = new Map(originals.map((v) => [`${v.resourceType}/${v.id}`, `${v.resourceType}/${randomUUID()}`]));
    const resources = originals.map((v) => {
      const { id: _old, meta: _meta, ...content } = v.resource as Resource;
      const copy = rewrite(content, copies, principal.tenant) as Resource;
      return { ...copy, id: (copies.get(`${v.resourceType}/${v.id}`) as string).split('/')[1] as string };
    });
    for (const resource of resources) context.validate(resource, resource.resourceType);
    const provenance: Provenance & { id: string } = {
      resourceType: 'Provenance',
      id: randomUUID(),
      target: resources.map((r) => ({ reference: `${r.resourceType}/${r.id}` })),
      recorded: new Date().toISOString(),
      policy: [`${context.baseUrl}/Consent/${consent.id}`],
      activity: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'CREATE', display: 'create' }], text: `Copied from organization '${principal.tenant}' with the patient's consent` },
      agent: [
        { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author' }] }, who: { identifier: { system: SOURCE_REFERENCE_SYSTEM, value: `${principal.tenant}/${principal.fhirUser ?? `account/${principal.accountId}`}` } } },
      ],
      entity: originals.map((v) => ({ role: 'source' as const, what: { identifier: { system: SOURCE_REFERENCE_SYSTEM, value: `${principal.tenant}/${v.resourceType}/${v.id}` } } })),
    };
    context.validate(provenance, 'Provenance');
    await destination.createMany([...resources, provenance]);
    const patientCopy = copies.get(`Patient/${id}`) as string;
    return {
      status: 200,
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'patient', valueReference: { reference: patientCopy } },
          { name: 'copied', valueInteger: resources.length },
          { name: 'provenance', valueReference: { reference: `Provenance/${provenance.id}` } },
        ],
      },
    };
  },
};
