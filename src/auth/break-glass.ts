/**
 * Emergency access, "break the glass" (requirements seed 000 2.1, seed 001 scenario 1; issue 6): who may ask for
 * it, what they must state, and how an override shows. A SMART app asks for the `break-glass` scope with a patient
 * context; the authorization server grants it only to designated personnel, after they enter their password again,
 * with a coded purpose (HL7 v3 PurposeOfUse, terminology.hl7.org/CodeSystem/v3-ActReason) and a free-text reason,
 * for a short lifetime and without a refresh token. The access rules lift care-relationship and consent limits for
 * that patient while the token lives (access/rules/persona-permissions.ts, access/rules/consent.ts).
 */
import type { AccountRecord } from './auth-records';
import type { BreakGlass, Persona } from './principal';

export const BREAK_GLASS_SCOPE = 'break-glass';

/** The scope of the API through which reviewers list and revoke emergency accesses. */
export const BREAK_GLASS_ADMIN_SCOPE = 'break-glass:admin';

/** Personas designated by default: the clinical staff who treat patients (seed 001). An account flag overrides it. */
export const DESIGNATED_PERSONAS: readonly Persona[] = ['doctor', 'nurse'];

/** Whether an account may obtain emergency access: its own flag, else its persona; never a patient. */
export function isDesignated(account: Pick<AccountRecord, 'role' | 'breakGlass'>): boolean {
  if (account.role === 'patient') return false;
  return account.breakGlass ?? DESIGNATED_PERSONAS.includes(account.role);
}

/** Whether an account reviews emergency accesses: organization administrators, and accounts flagged as reviewers. */
export function isComplianceReviewer(account: Pick<AccountRecord, 'role' | 'complianceReviewer'>): boolean {
  return account.role === 'org-admin' || account.complianceReviewer === true;
}

/**
 * The purposes a person may state, from v3 PurposeOfUse: emergency treatment and its emergency-room
 * specialization, and the other purposes that justify overriding access limits at once (disaster, threat, patient
 * safety). BTG itself names the override, not its purpose.
 */
export const EMERGENCY_PURPOSES = {
  ETREAT: { en: 'Emergency treatment', es: 'Tratamiento de emergencia' },
  ERTREAT: { en: 'Emergency room treatment', es: 'Tratamiento en urgencias' },
  PATSFTY: { en: 'Patient safety', es: 'Seguridad del paciente' },
  DISASTER: { en: 'Disaster response', es: 'Respuesta a un desastre' },
  THREAT: { en: 'Preventing harm to someone threatened with violence', es: 'Prevenir daños a alguien amenazado de violencia' },
} as const;
export type EmergencyPurpose = keyof typeof EMERGENCY_PURPOSES;

export function isEmergencyPurpose(code: string): code is EmergencyPurpose {
  return Object.prototype.hasOwnProperty.call(EMERGENCY_PURPOSES, code);
}

/** Bounds of the free-text reason, in characters after trimming. */
export const REASON_LENGTH = { min: 20, max: 1000 } as const;

/** What a person states to break the glass. */
export interface BreakGlassStatement {
  readonly purpose: EmergencyPurpose;
  readonly reason: string;
}

export type StatementProblem = { readonly field: 'purpose'; readonly problem: 'missing' | 'unknown' } | { readonly field: 'reason'; readonly problem: 'missing' | 'short' | 'long' | 'characters' };

/** Control characters other than tab and line breaks have no place in a reason people read. */
function hasControlCharacters(text: string): boolean {
  return [...text].some((c) => {
    const code = c.charCodeAt(0);
    return (code < 0x20 && c !== '\t' && c !== '\n') || code === 0x7f;
  });
}

/** Checks the stated purpose and reason; returns the statement, or every problem found. */
export function readStatement(purpose: string | null, reason: string | null): { statement: BreakGlassStatement } | { problems: StatementProblem[] } {
  const problems: StatementProblem[] = [];
  if (!purpose) problems.push({ field: 'purpose', problem: 'missing' });
  else if (!isEmergencyPurpose(purpose)) problems.push({ field: 'purpose', problem: 'unknown' });
  const text = (reason ?? '').replace(/\r\n?/g, '\n').trim();
  if (text === '') problems.push({ field: 'reason', problem: 'missing' });
  else if (hasControlCharacters(text)) problems.push({ field: 'reason', problem: 'characters' });
  else if ([...text].length < REASON_LENGTH.min) problems.push({ field: 'reason', problem: 'short' });
  else if ([...text].length > REASON_LENGTH.max) problems.push({ field: 'reason', problem: 'long' });
  return problems.length > 0 ? { problems } : { statement: { purpose: purpose as EmergencyPurpose, reason: text } };
}

/** An emergency access as the authorization server starts it, when its token is issued. */
export interface OverrideStart {
  /** oidc-provider's grant of the approval: its one access token carries the override. */
  readonly grantId: string;
  readonly tenant: string;
  readonly accountId: string;
  readonly userName: string;
  readonly role: Persona;
  /** `Practitioner/..` or `PractitionerRole/..`, when the account has one. */
  readonly fhirUser?: string;
  readonly clientId: string;
  readonly patient: string;
  readonly purpose: string;
  readonly reason: string;
  readonly startedAt: Date;
  readonly expiresAt: Date;
}

/**
 * What the authorization server needs from the emergency-access workflow (workflows/break-glass/): starting an
 * override (its compliance review item, notifications and scheduled end) before the token exists, and learning
 * that a grant's tokens were revoked (RFC 7009 revocation, sign-out).
 */
export interface BreakGlassOverrides {
  /** Records the override and everything that must exist before its token is issued; returns the override id. */
  start(start: OverrideStart): Promise<string>;
  /** Ends the grant's override, if one is active, as revoked. */
  grantRevoked(grantId: string): Promise<void>;
}

/** The override as the access token records it (returned by introspection as `break_glass`). */
export interface TokenBreakGlass {
  /** The override id; its compliance review item is Task/<id>. */
  readonly override: string;
  readonly purpose: string;
  readonly reason: string;
  /** When the override ends, in seconds since the epoch (the token's own expiry, to the second). */
  readonly expires: number;
}

/** The response header that marks every FHIR response made with an emergency-access token. */
export const BREAK_GLASS_HEADER = 'Break-Glass';

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The header value, an RFC 8941 structured item: the token `active` with parameters naming the patient, the purpose,
 * the expiry and the review item, e.g. `active; patient="Patient/123"; purpose="ETREAT";
 * expires="2026-03-01T10:15:00Z"; review="Task/4f0c..."`.
 */
export function describeOverrideHeader(breakGlass: BreakGlass): string {
  const parts = ['active', `patient="Patient/${breakGlass.patient}"`, `purpose="${breakGlass.purpose}"`, `expires="${isoSeconds(breakGlass.expiresAt)}"`];
  if (breakGlass.override) parts.push(`review="Task/${breakGlass.override}"`);
  return parts.join('; ');
}

/** The `break_glass` member of a token response: the override, its patient, purpose and expiry. */
export function describeOverrideInTokenResponse(token: TokenBreakGlass, patient: string): Record<string, unknown> {
  return { status: 'active', override: token.override, patient, purpose: token.purpose, expires_at: isoSeconds(new Date(token.expires * 1000)), review: `Task/${token.override}` };
}
