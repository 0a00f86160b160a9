/**
 * The codes an AuditEvent of this server carries, as IHE Basic Audit Log Patterns uses them for RESTful activity
 * (https://profiles.ihe.net/ITI/BALP/content.html#3573-restful-activities) and the R4 value sets it binds
 * (auditevent.html), plus the project's own canonical URLs (the hash chain extension, the persona code system).
 */
import type { Coding } from '@medplum/fhirtypes';

/** Canonical base of the project's own definitions (profiles/). */
export const CANONICAL_BASE = 'https://fhir-interop-server.org/fhir';

/** The complex extension holding an AuditEvent's place in its organization's hash chain. */
export const AUDIT_CHAIN_EXTENSION = `${CANONICAL_BASE}/StructureDefinition/audit-chain`;

/** The personas of the platform (src/auth/principal.ts PERSONAS), as AuditEvent.agent.role codes. */
export const PERSONA_SYSTEM = `${CANONICAL_BASE}/CodeSystem/persona`;

const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
export const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';

/** AuditEvent.type of every RESTful event. */
export const REST_EVENT: Coding = { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' };

/** Agent types: the two network ends (DICOM's Source and Destination Role ID) and the user's participation. */
export const SOURCE_ROLE: Coding = { system: DICOM, code: '110153', display: 'Source Role ID' };
export const DESTINATION_ROLE: Coding = { system: DICOM, code: '110152', display: 'Destination Role ID' };
export const INFORMATION_RECIPIENT: Coding = { system: PARTICIPATION, code: 'IRCP', display: 'information recipient' };
export const AUTHOR: Coding = { system: PARTICIPATION, code: 'AUT', display: 'author (originator)' };
export const CUSTODIAN: Coding = { system: PARTICIPATION, code: 'CST', display: 'custodian' };

/** Entity types and roles (audit-entity-type, object-role) and BALP's X-Request-Id entity. */
export const PERSON_ENTITY: Coding = { system: ENTITY_TYPE, code: '1', display: 'Person' };
export const SYSTEM_OBJECT_ENTITY: Coding = { system: ENTITY_TYPE, code: '2', display: 'System Object' };
export const PATIENT_ROLE: Coding = { system: OBJECT_ROLE, code: '1', display: 'Patient' };
export const DOMAIN_RESOURCE_ROLE: Coding = { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' };
export const QUERY_ROLE: Coding = { system: OBJECT_ROLE, code: '24', display: 'Query' };
export const REQUEST_ID_ENTITY: Coding = { system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', code: 'XrequestId' };

/** AuditEvent.source.type: the FHIR server observes and records the event. */
export const APPLICATION_SERVER_SOURCE: Coding = { system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' };

/** AuditEvent.agent.network.type (network-type). */
export const IP_ADDRESS = '2';
export const URI_ADDRESS = '5';

/** AuditEvent.outcome (audit-event-outcome, R4). */
export const OUTCOME = { success: '0', minorFailure: '4', seriousFailure: '8' } as const;

/** The purpose of use an emergency override declares (v3-ActReason BTG, "break the glass"). */
export const BREAK_THE_GLASS: Coding = { system: ACT_REASON, code: 'BTG', display: 'break the glass' };

/**
 * Organization policy decisions (requirements seed 000 5.4): an account accepting or declining a version of its
 * organization's terms of use and privacy policy at sign-in. No HL7 or DICOM event type names this, so the type
 * and its two subtypes come from the project's code system (AuditEvent.type is extensibly bound).
 */
export const ORGANIZATION_POLICY_SYSTEM = `${CANONICAL_BASE}/CodeSystem/organization-policy`;
export const POLICY_DECISION_EVENT: Coding = { system: ORGANIZATION_POLICY_SYSTEM, code: 'policy-decision', display: 'Organization policy decision' };
export const POLICY_DECISIONS = {
  accepted: { system: ORGANIZATION_POLICY_SYSTEM, code: 'accepted', display: 'Accepted' },
  declined: { system: ORGANIZATION_POLICY_SYSTEM, code: 'declined', display: 'Declined' },
} as const satisfies Record<string, Coding>;

/** object-role 13: the policy version the decision is about is a security resource. */
export const SECURITY_RESOURCE_ROLE: Coding = { system: OBJECT_ROLE, code: '13', display: 'Security Resource' };

/**
 * Requests to the server's own management APIs (`/admin`, `/notifications`): emergency accesses, client
 * applications, launches, policies, notifications. Not FHIR interactions, so the type comes from the project's code
 * system and the subtype is the HTTP verb (http://hl7.org/fhir/http-verb).
 */
export const MANAGEMENT_API_EVENT: Coding = { system: `${CANONICAL_BASE}/CodeSystem/audit-event-type`, code: 'management-api', display: 'Management API request' };
export const HTTP_VERB = 'http://hl7.org/fhir/http-verb';
