/**
 * Builds the one AuditEvent of a finished FHIR request, shaped after IHE Basic Audit Log Patterns for RESTful
 * activity (https://profiles.ihe.net/ITI/BALP/content.html#3573-restful-activities): type rest, the interaction as
 * subtype, agents for the user (fhirUser, account, persona, purpose of use), the client application (with its
 * network address) and this server, entities for the request id, the resources touched, the patients concerned
 * and the query, and the outcome with the refusing access rule. Unlike BALP's patient profiles, which want one
 * event per patient, a request touching several patients records them all in its one event.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Bundle, CodeableConcept, Coding } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal';
import {
  ACT_REASON,
  APPLICATION_SERVER_SOURCE,
  AUTHOR,
  BREAK_THE_GLASS,
  CUSTODIAN,
  DESTINATION_ROLE,
  DOMAIN_RESOURCE_ROLE,
  INFORMATION_RECIPIENT,
  IP_ADDRESS,
  OUTCOME,
  PATIENT_ROLE,
  PERSON_ENTITY,
  PERSONA_SYSTEM,
  QUERY_ROLE,
  REQUEST_ID_ENTITY,
  REST_EVENT,
  RESTFUL_INTERACTION,
  SOURCE_ROLE,
  SYSTEM_OBJECT_ENTITY,
  URI_ADDRESS,
} from './audit-codes';
import type { AuditedExchange } from './audited-exchange';
import type { ConcernedResources } from './find-concerned-resources';
import { actionOf, type AuditedInteraction, type InteractionTarget } from './restful-interaction';

/** How this server names itself and the namespaces of the ids its agents carry. */
export interface AuditIdentity {
  /** The software, e.g. fhir-interop-server. */
  readonly software: string;
  /** The authorization server's issuer: accounts are identified by their subject within it. */
  readonly issuer: string;
  /** Where client applications are registered (the management API): client ids are identified within it. */
  readonly clientRegistry: string;
}

/** Long diagnostics (every validation issue) are cut here. */
const MAX_DESCRIPTION = 1000;
/** A batch's failed entries described in outcomeDesc, at most. */
const MAX_FAILED_ENTRIES = 10;

const RFC3986 = 'urn:ietf:rfc:3986';

function cut(text: string): string {
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
}

/** BALP: in a read the data flows to the client (the Destination); in every other interaction the request does. */
function clientReceives(interaction: AuditedInteraction | undefined): boolean {
  return interaction === 'read' || interaction === 'vread';
}

function userParticipation(interaction: AuditedInteraction | undefined): Coding {
  if (interaction === 'create' || interaction === 'update' || interaction === 'patch') return AUTHOR;
  return interaction === 'delete' ? CUSTODIAN : INFORMATION_RECIPIENT;
}

/** Purpose of use: BTG with the stated reason, and the coded purpose, while an emergency override is in force. */
function purposeOfUse(principal: Principal): CodeableConcept[] | undefined {
  const override = principal.breakGlass;
  if (!override) return undefined;
  return [{ coding: [BREAK_THE_GLASS], text: override.reason }, { coding: [{ system: ACT_REASON, code: override.purpose }] }];
}

/** How the parties of an event took part: the user's participation and whether the data flowed to the client. */
export interface Participation {
  readonly user: Coding;
  /** The client received the data (it is the Destination and this server the Source); otherwise the reverse. */
  readonly clientReceives: boolean;
}

/**
 * The agents of an event: the user (persona, fhirUser, account, purpose of use), the client application with its
 * network address, and this server at `serverUrl` (the FHIR base, or the issuer for events of the authorization server).
 */
export function describeAgents(principal: Principal, participation: Participation, clientAddress: string, serverUrl: string, identity: AuditIdentity): AuditEventAgent[] {
  const purpose = purposeOfUse(principal);
  const account = principal.accountId ? { system: identity.issuer, value: principal.accountId } : undefined;
  const user: AuditEventAgent[] =
    principal.kind === 'user'
      ? [
          {
            type: { coding: [participation.user] },
            ...(principal.role ? { role: [{ coding: [{ system: PERSONA_SYSTEM, code: principal.role }] }] } : {}),
            who: principal.fhirUser ? { reference: principal.fhirUser, ...(account ? { identifier: account } : {}) } : { ...(account ? { identifier: account } : {}) },
            ...(principal.accountId ? { altId: principal.accountId } : {}),
            requestor: true,
            ...(purpose ? { purposeOfUse: purpose } : {}),
          },
        ]
      : [];
  const receives = participation.clientReceives;
  const client: AuditEventAgent = {
    type: { coding: [receives ? DESTINATION_ROLE : SOURCE_ROLE] },
    who: { identifier: { system: identity.clientRegistry, value: principal.clientId }, display: principal.clientId },
    requestor: principal.kind === 'system',
    network: { address: clientAddress, type: IP_ADDRESS },
    // A system client acts for itself: an override it holds is its purpose of use.
    ...(principal.kind === 'system' && purpose ? { purposeOfUse: purpose } : {}),
  };
  const server: AuditEventAgent = {
    type: { coding: [receives ? SOURCE_ROLE : DESTINATION_ROLE] },
    who: { identifier: { system: RFC3986, value: serverUrl }, display: identity.software },
    requestor: false,
    network: { address: serverUrl, type: URI_ADDRESS },
  };
  return [...user, client, server];
}

/** AuditEvent.source: this server, observing for the organization (`site`). */
export function describeSource(tenant: string, serverUrl: string, identity: AuditIdentity): AuditEvent['source'] {
  return { site: tenant, observer: { identifier: { system: RFC3986, value: serverUrl }, display: identity.software }, type: [APPLICATION_SERVER_SOURCE] };
}

/** BALP's entity naming the request (its X-Request-Id) an event was recorded for. */
/** A patient whose data the event concerns (BALP: entity of role Patient). */
export function patientEntity(id: string): AuditEventEntity {
  return { what: { reference: `Patient/${id}` }, type: PERSON_ENTITY, role: PATIENT_ROLE };
}

export function requestEntity(requestId: string): AuditEventEntity {
  return { type: REQUEST_ID_ENTITY, what: { identifier: { value: requestId } } };
}

/** The request as received (BALP: the raw query, base64) and as a relative URL (description). */
function queryEntity(exchange: AuditedExchange, interaction: AuditedInteraction | undefined): AuditEventEntity | undefined {
  const searching = interaction === 'search-type' || interaction === 'search-system' || interaction?.startsWith('history') || interaction === 'operation';
  if (!searching && exchange.query.length === 0) return undefined;
  // A token must never reach the audit trail, even one a client put in the URL.
  const query = new URLSearchParams(exchange.query.map(([name, value]): [string, string] => [name, name === 'access_token' ? '***' : value])).toString();
  const path = exchange.path.map((segment) => segment.replace(/[%/?#\s]/g, encodeURIComponent)).join('/');
  const relative = `${path}${query ? `?${query}` : ''}`;
  return {
    type: SYSTEM_OBJECT_ENTITY,
    role: QUERY_ROLE,
    description: cut(relative),
    query: Buffer.from(`${exchange.baseUrl}/${relative}`, 'utf8').toString('base64'),
  };
}

function entities(exchange: AuditedExchange, interaction: AuditedInteraction | undefined, concerned: ConcernedResources): AuditEventEntity[] {
  const request: AuditEventEntity = {
    ...requestEntity(exchange.requestId),
    ...(concerned.unrecorded > 0 ? { detail: [{ type: 'resources-not-listed', valueString: String(concerned.unrecorded) }] } : {}),
  };
  const data = concerned.references.map((reference): AuditEventEntity => ({ what: { reference }, type: SYSTEM_OBJECT_ENTITY, role: DOMAIN_RESOURCE_ROLE }));
  const patients = concerned.patients.map(patientEntity);
  const query = queryEntity(exchange, interaction);
  return [request, ...data, ...patients, ...(query ? [query] : [])];
}

/** The failed entries of a batch (a transaction fails as a whole). */
function failedEntries(exchange: AuditedExchange): string[] {
  const body = exchange.response?.body;
  if (body?.resourceType !== 'Bundle' || (body as Bundle).type !== 'batch-response') return [];
  return ((body as Bundle).entry ?? []).flatMap((entry, index) => {
    const status = entry.response?.status ?? '';
    if (!/^[45]/.test(status)) return [];
    const diagnostics = entry.response?.outcome?.resourceType === 'OperationOutcome' ? (entry.response.outcome.issue?.[0]?.diagnostics ?? '') : '';
    return [`entry[${index}] ${status}: ${diagnostics}`];
  });
}

function outcomeOf(exchange: AuditedExchange): { outcome: AuditEvent['outcome']; outcomeDesc?: string } {
  const { failure } = exchange;
  if (failure) {
    const described = failure.rule ? `Refused by access rule '${failure.rule}': ${failure.message}` : `${failure.status} ${failure.issueCode}: ${failure.message}`;
    return { outcome: failure.status >= 500 ? OUTCOME.seriousFailure : OUTCOME.minorFailure, outcomeDesc: cut(described) };
  }
  const failed = failedEntries(exchange);
  if (failed.length === 0) return { outcome: OUTCOME.success };
  const listed = failed.slice(0, MAX_FAILED_ENTRIES).join('; ');
  return { outcome: OUTCOME.minorFailure, outcomeDesc: cut(`${failed.length} batch entries failed: ${listed}`) };
}

/** The AuditEvent of `exchange` (without id and chain link: the sink assigns them). */
export function buildAuditEvent(exchange: AuditedExchange, target: InteractionTarget, concerned: ConcernedResources, identity: AuditIdentity): AuditEvent {
  const { interaction } = target;
  const purpose = purposeOfUse(exchange.principal);
  return {
    resourceType: 'AuditEvent',
    type: REST_EVENT,
    ...(interaction ? { subtype: [{ system: RESTFUL_INTERACTION, code: interaction, display: interaction }] } : {}),
    action: actionOf(interaction),
    period: { start: exchange.started.toISOString(), end: exchange.ended.toISOString() },
    recorded: exchange.ended.toISOString(),
    ...outcomeOf(exchange),
    ...(purpose ? { purposeOfEvent: purpose } : {}),
    agent: describeAgents(exchange.principal, { user: userParticipation(interaction), clientReceives: clientReceives(interaction) }, exchange.clientAddress, exchange.baseUrl, identity),
    source: describeSource(exchange.principal.tenant, exchange.baseUrl, identity),
    entity: entities(exchange, interaction, concerned),
  };
}
