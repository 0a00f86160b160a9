/**
 * What each persona may do inside its own organization (requirements seed 001 "User-Specific Workflows" and
 * "Permission boundaries", issue 6 "Roles"), as one table of data: persona x resource types x interactions, with
 * the condition that confines a grant. The access rule `persona-permissions` enforces it on every request, the
 * authorization server refuses user scopes beyond it, and docs/permissions.md is rendered from it.
 * Interactions use the SMART v2 letters: c create, r read, u update/patch, d delete, s search.
 */
import type { Persona, ScopeInteraction } from '../auth/principal';

/**
 * What confines a grant:
 * - `care-relationship`: resources of patients the practitioner cares for (CareTeam, Encounter, Appointment or
 *   EpisodeOfCare naming them), and those patients themselves;
 * - `department`: resources assigned to the account's department (the HealthcareService whose id is the
 *   department code: orders performed by it, its schedules, slots and appointments);
 * - `own-record`: the patient's own compartment (its Patient resource and everything in it).
 */
export type Condition = 'care-relationship' | 'department' | 'own-record';

export interface Grant {
  readonly types: readonly string[];
  readonly allow: readonly ScopeInteraction[];
  readonly when?: Condition;
  /** Why the persona has it (seed 001), shown in the documentation. */
  readonly why: string;
}

const letters = (value: string): ScopeInteraction[] => [...value] as ScopeInteraction[];

/** Data classes of the platform, by resource type. */
export const DATA_CLASSES = {
  clinical: [
    'AllergyIntolerance', 'CarePlan', 'CareTeam', 'ClinicalImpression', 'Composition', 'Condition', 'DetectedIssue', 'DeviceRequest', 'DeviceUseStatement',
    'DiagnosticReport', 'DocumentReference', 'Encounter', 'EpisodeOfCare', 'FamilyMemberHistory', 'Flag', 'Goal', 'ImagingStudy', 'Immunization',
    'Media', 'MedicationAdministration', 'MedicationDispense', 'MedicationRequest', 'MedicationStatement', 'NutritionOrder', 'Observation',
    'Procedure', 'QuestionnaireResponse', 'RiskAssessment', 'ServiceRequest', 'Specimen', 'VisionPrescription', 'Provenance',
  ],
  demographics: ['Patient', 'RelatedPerson'],
  messaging: ['Communication', 'CommunicationRequest'],
  scheduling: ['Appointment', 'AppointmentResponse', 'Schedule', 'Slot'],
  directory: ['Organization', 'Location', 'HealthcareService', 'Practitioner', 'PractitionerRole', 'Endpoint'],
  billing: ['Account', 'ChargeItem', 'Claim', 'ClaimResponse', 'Coverage', 'CoverageEligibilityRequest', 'CoverageEligibilityResponse', 'ExplanationOfBenefit', 'Invoice', 'PaymentNotice', 'PaymentReconciliation'],
  'billing-configuration': ['ChargeItemDefinition', 'InsurancePlan'],
  terminology: ['Medication', 'Substance', 'Questionnaire', 'ActivityDefinition', 'PlanDefinition', 'ObservationDefinition', 'SpecimenDefinition'],
  conformance: ['CapabilityStatement', 'CodeSystem', 'ValueSet', 'ConceptMap', 'NamingSystem', 'OperationDefinition', 'SearchParameter', 'StructureDefinition', 'StructureMap', 'ImplementationGuide', 'CompartmentDefinition', 'GraphDefinition', 'MessageDefinition'],
  consent: ['Consent'],
  audit: ['AuditEvent'],
  workflow: ['Task'],
  reporting: ['Measure', 'MeasureReport'],
} as const satisfies Record<string, readonly string[]>;

const of = (...classes: (keyof typeof DATA_CLASSES)[]): string[] => classes.flatMap((name) => DATA_CLASSES[name]);

/** The clinical types a nurse records (vitals, notes, medication administration, flags) but does not prescribe. */
const NURSING = ['Observation', 'MedicationAdministration', 'Flag', 'DocumentReference', 'Composition', 'Communication'];
/** What a technician produces for an order: results, images and the findings it flags. */
const RESULTS = ['Observation', 'DiagnosticReport', 'ImagingStudy', 'Media', 'DocumentReference', 'Specimen', 'Flag'];

export const PERMISSIONS: Readonly<Record<Persona, readonly Grant[]>> = {
  'system-admin': [
    { types: of('conformance', 'terminology'), allow: letters('cruds'), why: 'platform configuration and global integrations' },
    { types: ['Organization', 'Endpoint'], allow: letters('cruds'), why: 'tenant onboarding and integration endpoints' },
    { types: of('audit'), allow: letters('rs'), why: 'global audits and incident investigation' },
  ],
  'org-admin': [
    { types: of('directory'), allow: letters('cruds'), why: 'staff, facilities and services of the organization' },
    { types: ['Schedule', 'Slot'], allow: letters('cruds'), why: 'facility and staff schedules' },
    { types: ['Appointment', 'AppointmentResponse'], allow: letters('rs'), why: 'oversight of scheduling' },
    { types: of('billing', 'billing-configuration'), allow: letters('cruds'), why: 'billing and insurance policies and financial data' },
    { types: of('audit'), allow: letters('rs'), why: 'audit logs and compliance dashboards of the organization' },
    { types: ['Patient', 'Consent'], allow: letters('rs'), why: 'patient consents for sharing and migration between organizations' },
    { types: of('workflow', 'reporting'), allow: letters('cruds'), why: 'approvals and organization reporting' },
    { types: of('terminology'), allow: letters('rs'), why: 'reference data used in configuration' },
  ],
  'department-head': [
    { types: ['Schedule', 'Slot', 'Appointment', 'AppointmentResponse'], allow: letters('cruds'), when: 'department', why: 'staff and resource schedules of the department' },
    { types: ['ServiceRequest'], allow: letters('rs'), when: 'department', why: 'orders handled by the department (volumes, KPIs)' },
    { types: of('directory'), allow: letters('rs'), why: 'staff and resources to schedule' },
    { types: of('billing'), allow: letters('rs'), why: 'department billing and budget review' },
    { types: of('workflow', 'reporting'), allow: letters('cruds'), why: 'internal approvals, escalations and department KPIs' },
  ],
  doctor: [
    { types: of('clinical', 'messaging'), allow: letters('cruds'), when: 'care-relationship', why: 'full clinical record, orders, prescriptions and notes of its patients' },
    { types: of('demographics'), allow: letters('rus'), when: 'care-relationship', why: 'identity and contact data of its patients' },
    { types: ['Consent'], allow: letters('rs'), when: 'care-relationship', why: 'what its patients have agreed to' },
    { types: of('scheduling'), allow: letters('rs'), when: 'care-relationship', why: 'appointments with its patients (telemedicine and visits)' },
    { types: of('directory', 'terminology'), allow: letters('rs'), why: 'colleagues, services and reference data for care and referrals' },
    { types: ['Task'], allow: letters('cruds'), why: 'approvals and work items' },
  ],
  nurse: [
    { types: of('clinical'), allow: letters('rs'), when: 'care-relationship', why: 'reading the record of the patients it cares for' },
    { types: NURSING, allow: letters('crus'), when: 'care-relationship', why: 'vitals, notes, medication administration and flagged events; no prescribing' },
    { types: of('demographics'), allow: letters('rs'), when: 'care-relationship', why: 'identity and contact data of its patients' },
    { types: ['CommunicationRequest'], allow: letters('rs'), when: 'care-relationship', why: 'communication with the care team about patient changes' },
    { types: of('scheduling'), allow: letters('rs'), when: 'care-relationship', why: 'appointments of its patients' },
    { types: of('directory', 'terminology'), allow: letters('rs'), why: 'care team and reference data' },
    { types: ['Task'], allow: letters('crus'), why: 'escalations and approvals it raises' },
  ],
  technician: [
    { types: ['ServiceRequest'], allow: letters('rus'), when: 'department', why: 'orders assigned to its department' },
    { types: RESULTS, allow: letters('crus'), when: 'care-relationship', why: 'uploads of images and results and flags on findings for patients with orders in its department' },
    { types: ['Patient'], allow: letters('rs'), when: 'care-relationship', why: 'identifying the patient of an order' },
    { types: of('directory', 'terminology'), allow: letters('rs'), why: 'routing results to the ordering provider' },
    { types: ['Task'], allow: letters('crus'), why: 'work items of the department' },
  ],
  receptionist: [
    { types: ['Appointment', 'AppointmentResponse'], allow: letters('cruds'), why: 'bookings, check-in and check-out' },
    { types: ['Schedule', 'Slot'], allow: letters('rus'), why: 'provider and resource calendars' },
    { types: ['Patient', 'RelatedPerson'], allow: letters('crus'), why: 'registration and demographics; no clinical data' },
    { types: ['Coverage'], allow: letters('crus'), why: 'insurance details at registration' },
    { types: ['Communication'], allow: letters('crs'), why: 'schedule changes communicated to patients and staff' },
    { types: of('directory'), allow: letters('rs'), why: 'providers, rooms and services to book' },
  ],
  patient: [
    { types: [...of('clinical', 'demographics', 'scheduling', 'billing', 'messaging'), 'Consent'], allow: letters('rs'), when: 'own-record', why: 'its own record as its organization permits' },
    { types: ['Appointment', 'Communication', 'QuestionnaireResponse'], allow: letters('cu'), when: 'own-record', why: 'requesting appointments, messaging the care team, answering questionnaires' },
    { types: ['Consent'], allow: letters('cud'), when: 'own-record', why: 'setting and revoking its consents' },
    { types: ['Patient'], allow: letters('u'), when: 'own-record', why: 'keeping its contact details current' },
    { types: of('directory', 'terminology'), allow: letters('rs'), why: 'its providers, locations and questionnaires' },
  ],
};

/** The grants of a persona that cover `letter` on `resourceType`. */
export function grantsFor(persona: Persona, resourceType: string, letter: ScopeInteraction): Grant[] {
  return PERMISSIONS[persona].filter((grant) => grant.types.includes(resourceType) && grant.allow.includes(letter));
}

const CONDITION_TEXT: Record<Condition, string> = {
  'care-relationship': 'patients it cares for',
  department: 'its department',
  'own-record': 'its own record',
};

/** docs/permissions.md: the table above for people (kept equal to it by a test; `npm run docs:permissions` writes it). */
export function renderPermissionsDoc(): string {
  const lines = [
    '# Permissions of the personas',
    '',
    'Generated from `src/access/permissions.ts` (`npm run docs:permissions`); a test fails when this file is stale.',
    '',
    'Each persona acts inside its own organization only. Letters are SMART v2 permissions: c create, r read,',
    'u update or patch, d delete, s search. A refusal is a 403 OperationOutcome naming the rule',
    '(`persona-permissions`) and the escalation path; user scopes asking for more are not granted by the',
    'authorization server. Conditions: *patients it cares for* are those named with the user in a CareTeam,',
    'Encounter, Appointment or EpisodeOfCare (for a technician: with orders for its department), plus the patient of',
    'an active break-the-glass grant; *its department* is the HealthcareService whose id is the account\'s',
    'department; *its own record* is the patient compartment of the account\'s Patient.',
    '',
  ];
  for (const [persona, grants] of Object.entries(PERMISSIONS)) {
    lines.push(`## ${persona}`, '', '| Resource types | Allowed | Only for | Why |', '| --- | --- | --- | --- |');
    for (const grant of grants) {
      lines.push(`| ${grant.types.join(', ')} | ${grant.allow.join('')} | ${grant.when ? CONDITION_TEXT[grant.when] : 'whole organization'} | ${grant.why} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
