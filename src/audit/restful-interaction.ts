/**
 * Which RESTful interaction a request was (http.html#summary, code system restful-interaction) and what it was
 * aimed at, read from the URL shape alone, so that a request refused or failed before the router is classified
 * as one that succeeded would be.
 */

/** The restful-interaction codes the audit trail records (AuditEvent.subtype). */
export type AuditedInteraction =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'create'
  | 'search-type'
  | 'search-system'
  | 'batch'
  | 'transaction'
  | 'operation';

export interface InteractionTarget {
  /** Undefined for a URL that names no FHIR endpoint. */
  readonly interaction: AuditedInteraction | undefined;
  /** The resource type the URL names (for a compartment search, the type searched). */
  readonly resourceType?: string;
  /** The instance the URL names, e.g. `Patient/1` or `Observation/2/_history/3`. */
  readonly reference?: string;
  /** `Patient/[id]/[type]` compartment searches and `Patient/[id]/$op`: the compartment's patient. */
  readonly compartmentPatient?: string;
  /** `$name` of an operation. */
  readonly operation?: string;
}

/** AuditEvent.action (audit-event-action): Create, Read, Update, Delete or Execute. */
export function actionOf(interaction: AuditedInteraction | undefined): 'C' | 'R' | 'U' | 'D' | 'E' {
  switch (interaction) {
    case 'create':
      return 'C';
    case 'read':
    case 'vread':
    case 'history-instance':
    case 'history-type':
    case 'history-system':
      return 'R';
    case 'update':
    case 'patch':
      return 'U';
    case 'delete':
      return 'D';
    default:
      return 'E';
  }
}

const TYPE = /^[A-Z][A-Za-z]+$/;

/** Reads the interaction from the method and path segments after the base; `bundleType` is a POSTed Bundle's type. */
export function classifyInteraction(method: string, path: readonly string[], bundleType?: unknown): InteractionTarget {
  const verb = method === 'HEAD' ? 'GET' : method;
  const [first = '', second = '', third = '', fourth = ''] = path;
  const last = path[path.length - 1] ?? '';
  if (last.startsWith('$') && path.length <= 3) {
    const typed = TYPE.test(first) ? { resourceType: first } : {};
    const instance = path.length === 3 ? { reference: `${first}/${second}`, ...(first === 'Patient' ? { compartmentPatient: second } : {}) } : {};
    return { interaction: 'operation', operation: last, ...(path.length > 1 ? typed : {}), ...instance };
  }
  switch (path.length) {
    case 0:
      if (verb === 'POST') return { interaction: bundleType === 'transaction' ? 'transaction' : 'batch' };
      return { interaction: verb === 'GET' ? 'search-system' : undefined };
    case 1:
      if (first === '_history') return { interaction: verb === 'GET' ? 'history-system' : undefined };
      if (first === '_search') return { interaction: verb === 'POST' ? 'search-system' : undefined };
      return { interaction: typeInteraction(verb), resourceType: first };
    case 2:
      if (second === '_history') return { interaction: verb === 'GET' ? 'history-type' : undefined, resourceType: first };
      if (second === '_search') return { interaction: verb === 'POST' ? 'search-type' : undefined, resourceType: first };
      return { interaction: instanceInteraction(verb), resourceType: first, reference: `${first}/${second}` };
    case 3:
      if (third === '_history') return { interaction: verb === 'GET' ? 'history-instance' : undefined, resourceType: first, reference: `${first}/${second}` };
      return {
        interaction: verb === 'GET' ? 'search-type' : undefined,
        resourceType: third,
        reference: `${first}/${second}`,
        ...(first === 'Patient' ? { compartmentPatient: second } : {}),
      };
    case 4:
      if (third === '_history' && verb === 'GET') return { interaction: 'vread', resourceType: first, reference: `${first}/${second}/_history/${fourth}` };
      return { interaction: undefined };
    default:
      return { interaction: undefined };
  }
}

function typeInteraction(verb: string): AuditedInteraction | undefined {
  const interactions: Record<string, AuditedInteraction> = { GET: 'search-type', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  return interactions[verb];
}

function instanceInteraction(verb: string): AuditedInteraction | undefined {
  const interactions: Record<string, AuditedInteraction> = { GET: 'read', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  return interactions[verb];
}
