/**
 * Who is calling, as authentication establishes it from the bearer token (DESIGN.md "The request path"): the
 * account and its persona, the organization (tenant), the SMART scopes granted and the launch context. The access
 * policy decides on nothing else. SMART App Launch 2.x: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */

/** The eight personas of the platform (requirements, seed 001). */
export const PERSONAS = ['system-admin', 'org-admin', 'department-head', 'doctor', 'nurse', 'technician', 'receptionist', 'patient'] as const;
export type Persona = (typeof PERSONAS)[number];

/** SMART v2 interaction letters; v1 `read` is `rs`, v1 `write` is `cud`, `*` is `cruds`. */
export type ScopeInteraction = 'c' | 'r' | 'u' | 'd' | 's';

/** One resource scope, in either SMART syntax, normalized. */
export interface SmartScope {
  /** The scope string as granted. */
  readonly raw: string;
  readonly context: 'patient' | 'user' | 'system';
  /** A resource type, or '*' for all. */
  readonly resourceType: string;
  readonly interactions: ReadonlySet<ScopeInteraction>;
  /** v2 granular constraint: the search parameters after '?', e.g. `category=laboratory`; absent when unconstrained. */
  readonly query?: string;
}

/** The context a SMART launch established (EHR launch or standalone patient picker). */
export interface LaunchContext {
  /** Patient id (without the type) for patient/ scopes. */
  readonly patient?: string;
  readonly encounter?: string;
}

export interface Principal {
  /** 'user': a person through an app (staff or patient); 'system': a Backend Services client acting for itself. */
  readonly kind: 'user' | 'system';
  /** The organization every stored resource the request touches belongs to. */
  readonly tenant: string;
  readonly clientId: string;
  /** The account of the person (absent for system clients). */
  readonly accountId?: string;
  readonly role?: Persona;
  readonly department?: string;
  /** The FHIR resource of the user, e.g. `Practitioner/123` or `Patient/456`. */
  readonly fhirUser?: string;
  readonly scopes: readonly SmartScope[];
  readonly launch: LaunchContext;
  /** When the access token expires. */
  readonly expiresAt: Date;
  /** Present on an emergency-access (break-the-glass) token: why, for whom, and until when. */
  readonly breakGlass?: BreakGlass;
  /** A compliance reviewer of its organization (organization administrators, and accounts flagged as reviewers). */
  readonly complianceReviewer?: boolean;
  /**
   * Present when the account had not accepted the current version of its organization's policy when the token was
   * issued (auth/organization-policies.ts): the access rule `organization-policy` then allows only essential access.
   */
  readonly policy?: PolicyStanding;
}

/** An account's standing towards the current version of its organization's terms of use and privacy policy (seed 000 5.4). */
export interface PolicyStanding {
  readonly versionId: string;
  readonly version: number;
  /** declined: its latest answer was no; pending: it has not answered (a token refreshed since the version was published). */
  readonly status: 'declined' | 'pending';
}

/** A granted emergency access (requirements seed 000 2.1): a coded purpose and the free-text reason given. */
export interface BreakGlass {
  /** v3 PurposeOfUse code, e.g. ETREAT (emergency treatment). */
  readonly purpose: string;
  readonly reason: string;
  /** The patient the override is for. */
  readonly patient: string;
  readonly expiresAt: Date;
  /** The id of the override; its compliance review item is Task/<override>. */
  readonly override?: string;
}

/** The principal of a signed-in person before any token exists (what the persona table alone lets it see). */
export function principalOfAccount(account: { _id: string; tenant: string; role: Persona; department?: string; fhirUser?: string; complianceReviewer?: boolean }): Principal {
  return {
    kind: 'user',
    tenant: account.tenant,
    clientId: '',
    accountId: account._id,
    role: account.role,
    ...(account.department ? { department: account.department } : {}),
    ...(account.fhirUser ? { fhirUser: account.fhirUser } : {}),
    ...(account.role === 'org-admin' || account.complianceReviewer ? { complianceReviewer: true } : {}),
    scopes: [],
    launch: {},
    expiresAt: new Date(0),
  };
}
