/**
 * Organization policies (requirements seed 000 5.4): an organization administrator publishes versions of the
 * organization's terms of use and privacy policy (English and Spanish, for some or all personas); an account that
 * has not accepted the current version that applies to it reviews it at its next authorization request (a check of
 * oidc-provider's interaction policy, authorization-server.ts POLICY_CHECK) and accepts or declines. Every answer is
 * audited in the organization's hash-chained trail before it is stored. A token issued while the current version is
 * not accepted carries that standing, and the access rule `organization-policy` leaves it only essential access.
 */
import { randomUUID } from 'node:crypto';
import type { AuditedPolicyDecision } from '../audit/build-policy-decision-event';
import type { AccountRecord, AuthRecords, BilingualText, PolicyAnswerRecord, PolicyDecision, PolicyVersionRecord } from './auth-records';
import { PERSONAS, principalOfAccount, type Persona, type PolicyStanding } from './principal';

/** The management scope of publishing versions and reading who answered (organization administrators, backend clients). */
export const POLICIES_ADMIN_SCOPE = 'policies:admin';

/** Bounds of a published version, in characters. */
export const POLICY_LIMITS = { title: 200, text: 100_000 } as const;

/** A publication the server refuses; `message` says why. */
export class PolicyInputError extends Error {}

/** What an administrator publishes. */
export interface PolicyVersionInput {
  readonly title: BilingualText;
  readonly text: BilingualText;
  readonly personas: Persona[];
}

function readBilingual(value: unknown, field: string, max: number): BilingualText {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new PolicyInputError(`${field} must be an object with "en" and "es" texts`);
  const texts = value as Record<string, unknown>;
  const read = (language: 'en' | 'es'): string => {
    const text = texts[language];
    if (typeof text !== 'string' || text.trim() === '') throw new PolicyInputError(`${field}.${language} is required (a non-empty string)`);
    if (text.length > max) throw new PolicyInputError(`${field}.${language} is longer than ${max} characters`);
    return text.trim();
  };
  return { en: read('en'), es: read('es') };
}

/** Checks a publication body: `{title: {en, es}, text: {en, es}, personas?: [...]}` (default: every persona). */
export function readPolicyVersionInput(body: Record<string, unknown>): PolicyVersionInput {
  const unknown = Object.keys(body).filter((key) => !['title', 'text', 'personas'].includes(key));
  if (unknown.length > 0) throw new PolicyInputError(`unknown member ${unknown.join(', ')} (allowed: title, text, personas)`);
  let personas: Persona[] = [...PERSONAS];
  if (body.personas !== undefined) {
    if (!Array.isArray(body.personas) || body.personas.length === 0) throw new PolicyInputError(`personas must be a non-empty list of ${PERSONAS.join(', ')}`);
    const wrong = body.personas.filter((p) => !(PERSONAS as readonly unknown[]).includes(p));
    if (wrong.length > 0) throw new PolicyInputError(`${wrong.map(String).join(', ')} is not a persona (${PERSONAS.join(', ')})`);
    personas = [...new Set(body.personas as Persona[])];
  }
  return { title: readBilingual(body.title, 'title', POLICY_LIMITS.title), text: readBilingual(body.text, 'text', POLICY_LIMITS.text), personas };
}

/** Who answered a version: each account's latest answer. */
export interface PolicyAnswers {
  readonly accepted: readonly AnswerView[];
  readonly declined: readonly AnswerView[];
}

export interface AnswerView {
  readonly account: string;
  readonly name?: string;
  readonly at: Date;
}

/** The sign-in context of an answer, for the audit trail. */
export interface AnswerContext {
  readonly clientId: string;
  readonly clientAddress: string;
  readonly requestId: string;
}

export interface OrganizationPolicies {
  /** Publishes the organization's next version; throws PolicyConflictError when another was published at the same moment. */
  publish(tenant: string, input: PolicyVersionInput, publishedBy: string): Promise<PolicyVersionRecord>;
  /** The organization's versions, newest first, with who accepted and who declined each. */
  list(tenant: string): Promise<(PolicyVersionRecord & { answers: PolicyAnswers })[]>;
  /** The latest version that applies to the account's persona, if any. */
  currentFor(account: AccountRecord): Promise<PolicyVersionRecord | undefined>;
  /** Undefined when the account has accepted the current version (or none applies); otherwise where it stands. */
  standingOf(account: AccountRecord): Promise<PolicyStanding | undefined>;
  /** Audits the answer in the organization's trail (durable first), then records it. */
  answer(account: AccountRecord, version: PolicyVersionRecord, decision: PolicyDecision, context: AnswerContext): Promise<void>;
}

/** Two publications raced for the same version number. */
export class PolicyConflictError extends Error {}

export interface OrganizationPoliciesOptions {
  readonly records: AuthRecords;
  /** Appends the decision's AuditEvent to the organization's audit trail; resolves once durable. */
  readonly audit: (decision: AuditedPolicyDecision) => Promise<void>;
  /** Where versions are published (the management API): the namespace of their ids in the audit trail. */
  readonly registry: string;
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

export function createOrganizationPolicies({ records, audit, registry }: OrganizationPoliciesOptions): OrganizationPolicies {
  const latestAnswer = async (versionId: string, accountId: string): Promise<PolicyAnswerRecord | null> =>
    records.policyAnswers.findOne({ versionId, accountId }).sort({ answeredAt: -1 }).lean();

  const currentFor = async (account: AccountRecord): Promise<PolicyVersionRecord | undefined> =>
    (await records.policyVersions.findOne({ tenant: account.tenant, personas: account.role }).sort({ version: -1 }).lean()) ?? undefined;

  return {
    publish: async (tenant, input, publishedBy) => {
      const latest = await records.policyVersions.findOne({ tenant }).sort({ version: -1 }).lean();
      const record: PolicyVersionRecord = { _id: randomUUID(), tenant, version: (latest?.version ?? 0) + 1, ...input, publishedAt: new Date(), publishedBy };
      try {
        await records.policyVersions.create(record);
      } catch (error) {
        if (isDuplicateKey(error)) throw new PolicyConflictError(`version ${record.version} was published at the same moment; reload and publish again`);
        throw error;
      }
      return record;
    },

    list: async (tenant) => {
      const versions = await records.policyVersions.find({ tenant }).sort({ version: -1 }).lean();
      const answers = await records.policyAnswers.find({ tenant }).sort({ answeredAt: 1 }).lean();
      const latest = new Map<string, PolicyAnswerRecord>();
      for (const answer of answers) latest.set(`${answer.versionId} ${answer.accountId}`, answer);
      const accountIds = [...new Set(answers.map((answer) => answer.accountId))];
      const names = new Map((await records.accounts.find({ _id: { $in: accountIds } }, { displayName: 1 }).lean()).map((account) => [account._id, account.displayName]));
      return versions.map((version) => {
        const views = (decision: PolicyDecision): AnswerView[] =>
          [...latest.values()]
            .filter((answer) => answer.versionId === version._id && answer.decision === decision)
            .map((answer) => ({ account: answer.accountId, ...(names.has(answer.accountId) ? { name: names.get(answer.accountId) as string } : {}), at: answer.answeredAt }));
        return { ...version, answers: { accepted: views('accepted'), declined: views('declined') } };
      });
    },

    currentFor,

    standingOf: async (account) => {
      const version = await currentFor(account);
      if (!version) return undefined;
      const answer = await latestAnswer(version._id, account._id);
      if (answer?.decision === 'accepted') return undefined;
      return { versionId: version._id, version: version.version, status: answer ? 'declined' : 'pending' };
    },

    answer: async (account, version, decision, context) => {
      const at = new Date();
      await audit({
        principal: { ...principalOfAccount(account), clientId: context.clientId },
        policy: { id: version._id, version: version.version, title: version.title.en },
        decision,
        registry,
        clientAddress: context.clientAddress,
        requestId: context.requestId,
        at,
      });
      await records.policyAnswers.create({ _id: randomUUID(), tenant: account.tenant, versionId: version._id, accountId: account._id, decision, answeredAt: at, clientId: context.clientId });
    },
  };
}
