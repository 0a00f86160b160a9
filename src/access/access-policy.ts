/**
 * The access policy: the single decision point every FHIR data path goes through (DESIGN.md "The request path",
 * example 6 after HAPI's AuthorizationInterceptor). Ordered, named rules each allow (possibly with a filter),
 * deny with a reason, or abstain; any denial decides, filters of all allowing rules combine (AND), and without an
 * allowing rule the answer is the default deny. A denial always names its rule.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Principal, ScopeInteraction } from '../auth/principal';
import type { AccessFacts } from './access-facts';
import type { Criterion } from '../search/search-request';
import type { ResourceStore, StoredVersion } from '../storage/resource-store';
import { FhirError } from '../errors';

/** The interactions the policy decides on (http.html#summary); whole-system ones are decided per type. */
export type AccessInteraction = 'read' | 'vread' | 'history-instance' | 'history-type' | 'search-type' | 'create' | 'update' | 'patch' | 'delete';

/** Whether an interaction reads stored resources (its results are confined by the read filter). */
export function readsData(interaction: AccessInteraction): boolean {
  return interaction === 'read' || interaction === 'vread' || interaction === 'history-instance' || interaction === 'history-type' || interaction === 'search-type';
}

export interface AccessQuestion {
  readonly principal: Principal;
  readonly interaction: AccessInteraction;
  readonly resourceType: string;
  /** What is known about the principal's relationships, loaded before the request (see access-facts.ts). */
  readonly facts: AccessFacts;
}

/** The SMART v2 letter of each interaction (c, r, u, d, s), the unit of scopes and of the permission table. */
export const INTERACTION_LETTER: Record<AccessInteraction, ScopeInteraction> = {
  read: 'r',
  vread: 'r',
  'history-instance': 'r',
  'history-type': 's',
  'search-type': 's',
  create: 'c',
  update: 'u',
  patch: 'u',
  delete: 'd',
};

/**
 * One rule's answer: allow (confined to what `filter` matches, when given), restrict (confine without granting
 * anything: what another rule allows is narrowed to `filter`), deny (saying why), or abstain.
 */
export type RuleAnswer =
  | { readonly kind: 'allow'; readonly filter?: readonly Criterion[] }
  | { readonly kind: 'restrict'; readonly filter: readonly Criterion[]; readonly reasons?: readonly string[] }
  | { readonly kind: 'deny'; readonly reason: string }
  | { readonly kind: 'abstain' };

export interface AccessRule {
  /** Named in every denial it makes, in the OperationOutcome and in the audit trail. */
  readonly name: string;
  /** The escalation path of its refusals, denials and filters alike (seed 000 4.3); default: DEFAULT_ESCALATION. */
  readonly escalation?: string;
  decide(question: AccessQuestion): RuleAnswer;
}

/** A confinement of what may be read or written, and the rule that imposed it (named when it refuses something). */
export interface RuleFilter {
  readonly rule: string;
  readonly criteria: readonly Criterion[];
  /** Why each criterion exists, said when a resource fails it (aligned with `criteria`; default: a generic text). */
  readonly reasons?: readonly string[];
  readonly escalation: string;
}

/** The decision of the whole policy for one interaction on one type. */
export type Decision =
  | { readonly kind: 'allow'; readonly filters: readonly RuleFilter[] }
  | { readonly kind: 'deny'; readonly rule: string; readonly reason: string; readonly escalation: string };

export const DEFAULT_DENY = 'default-deny';

/** The escalation path of refusals whose rule names none of its own (seed 000 4.3: every refusal names one). */
export const DEFAULT_ESCALATION = 'If your work requires this access, ask an organization administrator of your organization to review the access policy or escalate it to the compliance team.';

/** Runs the rules in order. */
export function decide(rules: readonly AccessRule[], question: AccessQuestion): Decision {
  const filters: RuleFilter[] = [];
  let allowed = false;
  for (const rule of rules) {
    const answer = rule.decide(question);
    const escalation = rule.escalation ?? DEFAULT_ESCALATION;
    if (answer.kind === 'deny') return { kind: 'deny', rule: rule.name, reason: answer.reason, escalation };
    if (answer.kind === 'allow' || answer.kind === 'restrict') {
      if (answer.kind === 'allow') allowed = true;
      if (answer.filter && answer.filter.length > 0) {
        filters.push({ rule: rule.name, criteria: answer.filter, escalation, ...(answer.kind === 'restrict' && answer.reasons ? { reasons: answer.reasons } : {}) });
      }
    }
  }
  if (!allowed) return { kind: 'deny', rule: DEFAULT_DENY, reason: `nothing grants ${question.interaction} on ${question.resourceType}`, escalation: DEFAULT_ESCALATION };
  return { kind: 'allow', filters };
}

/**
 * The 403 a client receives for a refusal (requirements seed 000 4.3): what was refused, by which rule, why, and
 * the escalation path when there is one.
 */
export function accessDenied(question: Pick<AccessQuestion, 'interaction' | 'resourceType'>, rule: string, reason: string, escalation: string): FhirError {
  return refusedBy(rule, `Access denied by rule '${rule}': ${question.interaction} on ${question.resourceType} is not permitted (${reason})`, escalation);
}

/**
 * A 403 refused by `rule`: the refusal (`diagnostics`: what and why) and the escalation path as a second,
 * informational issue. Operations whose own conditions refuse a caller (e.g. $share, $lock) use it as the rules do.
 */
export function refusedBy(rule: string, diagnostics: string, escalation: string = DEFAULT_ESCALATION): FhirError {
  const issues: OperationOutcomeIssue[] = [
    { severity: 'error', code: 'forbidden', diagnostics },
    { severity: 'information', code: 'informational', diagnostics: escalation },
  ];
  return new FhirError('forbidden', diagnostics, { rule, issues });
}

/** What the FHIR layer asks of the policy for one request (its principal fixed). */
export interface AccessControl {
  readonly principal: Principal;
  /** Throws a 403 naming the rule when the interaction is refused on the type. */
  require(interaction: AccessInteraction, resourceType: string): void;
  /** Whether the interaction is permitted on the type at all (system-level searches skip the types that are not). */
  permits(interaction: AccessInteraction, resourceType: string): boolean;
  /** Whether a permitted interaction is confined to some of the type's resources (so single resources must be checked). */
  confines(interaction: AccessInteraction, resourceType: string): boolean;
  /** The criteria confining the resources of a type the caller may read; 'none' when it may read none. */
  readFilter(resourceType: string): readonly Criterion[] | 'none';
  /** Throws a 403 naming the rule when the stored resource lies outside what the interaction may read. */
  checkRead(interaction: AccessInteraction, version: StoredVersion): void;
  /** Throws a 403 naming the rule when the content (new, or being replaced or deleted) lies outside what it may write. */
  checkWrite(interaction: AccessInteraction, resource: Resource): void;
}

/**
 * The access control of one request: decisions are made once per (interaction, type) and kept for the request,
 * and stored or written resources are checked against the decision's filter with the store's own matcher.
 */
export function createAccessControl(principal: Principal, rules: readonly AccessRule[], store: ResourceStore, facts: AccessFacts): AccessControl {
  const decisions = new Map<string, Decision>();
  const decision = (interaction: AccessInteraction, resourceType: string): Decision => {
    const key = `${interaction} ${resourceType}`;
    let made = decisions.get(key);
    if (!made) {
      made = decide(rules, { principal, interaction, resourceType, facts });
      decisions.set(key, made);
    }
    return made;
  };
  const require = (interaction: AccessInteraction, resourceType: string): readonly RuleFilter[] => {
    const made = decision(interaction, resourceType);
    if (made.kind === 'deny') throw accessDenied({ interaction, resourceType }, made.rule, made.reason, made.escalation);
    return made.filters;
  };
  const check = (interaction: AccessInteraction, resource: Resource): void => {
    for (const { rule, criteria, reasons, escalation } of require(interaction, resource.resourceType)) {
      const failed = reasons ? criteria.findIndex((criterion) => !store.matches(resource, [criterion])) : store.matches(resource, criteria) ? -1 : 0;
      if (failed >= 0) {
        const what = `${resource.resourceType}/${resource.id ?? '(new)'}`;
        throw accessDenied({ interaction, resourceType: resource.resourceType }, rule, reasons?.[failed] ? `${what}: ${reasons[failed]}` : `${what} lies outside what this access is confined to`, escalation);
      }
    }
  };
  return {
    principal,
    require: (interaction, resourceType) => void require(interaction, resourceType),
    permits: (interaction, resourceType) => decision(interaction, resourceType).kind === 'allow',
    confines: (interaction, resourceType) => {
      const made = decision(interaction, resourceType);
      return made.kind === 'allow' && made.filters.length > 0;
    },
    readFilter: (resourceType) => {
      const made = decision('search-type', resourceType);
      return made.kind === 'deny' ? 'none' : made.filters.flatMap((f) => f.criteria);
    },
    checkRead: (interaction, version) => {
      if (version.resource) check(interaction, version.resource);
    },
    checkWrite: check,
  };
}
