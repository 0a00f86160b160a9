/**
 * The authorization server's own records (DESIGN.md "Storage": mongoose for non-FHIR records): accounts,
 * registered client applications, EHR launches, the launch context of each grant, oidc-provider's state,
 * login throttling, the server's signing and cookie keys, and the organizations' policy versions (terms of use and
 * privacy policy) with each account's answers. All live on the server's one database.
 */
import { Schema, type Connection } from 'mongoose';
import { PERSONAS, type Persona } from './principal';

export const LANGUAGES = ['en', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];

/** A person who signs in: staff of an organization or a patient. */
export interface AccountRecord {
  _id: string;
  /** Sign-in name, unique across the platform. */
  username: string;
  /** scrypt hash (passwords.ts). */
  passwordHash: string;
  role: Persona;
  /** The organization (tenant) the account belongs to. */
  tenant: string;
  department?: string;
  /** `Practitioner/..`, `PractitionerRole/..` or `Patient/..`. */
  fhirUser?: string;
  status: 'active' | 'inactive';
  language: Language;
  displayName: string;
  /**
   * Designation for emergency access (break-the-glass, auth/break-glass.ts): true designates the account whatever
   * its persona (never a patient), false withdraws it; absent, doctors and nurses are designated.
   */
  breakGlass?: boolean;
  /** A compliance reviewer of its organization besides the organization administrators (break-the-glass reviews). */
  complianceReviewer?: boolean;
}

/** How a client application authenticates (SMART App Launch "client types", Backend Services). */
export const CLIENT_KINDS = ['public', 'confidential-symmetric', 'confidential-asymmetric', 'backend'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

export interface ClientApplicationRecord {
  /** The client_id. */
  _id: string;
  name: string;
  kind: ClientKind;
  /** Shared secret of confidential-symmetric clients. */
  secret?: string;
  /** Public keys (JWKS) of asymmetric and backend clients, or a URL serving them. */
  jwks?: { keys: Record<string, unknown>[] };
  jwksUri?: string;
  /** Exact-match redirect URIs. */
  redirectUris: string[];
  /** Space-separated scopes the client may be granted at most (SMART scopes cover narrower ones). */
  scope: string;
  launchUrl?: string;
  /** The organization the application is registered for; a backend client's tokens act in it. */
  tenant: string;
  createdBy?: string;
  createdAt: Date;
}

/** An EHR launch created by a staff user for one app: the `launch` value and the context it stands for. */
export interface LaunchRecord {
  _id: string;
  clientId: string;
  tenant: string;
  /** The staff account the launch is for: only they can complete it. */
  accountId: string;
  /** Who created it: that account, or the backend client acting for them. */
  createdBy: string;
  patient?: string;
  encounter?: string;
  needPatientBanner: boolean;
  smartStyleUrl?: string;
  expiresAt: Date;
}

/** The SMART launch context decided when a grant was approved, read when its tokens are issued. */
export interface GrantContextRecord {
  /** oidc-provider's grantId. */
  _id: string;
  tenant: string;
  patient?: string;
  encounter?: string;
  needPatientBanner: boolean;
  smartStyleUrl?: string;
  /** The reason stated for an emergency access (break-the-glass) grant: a v3 PurposeOfUse code and free text. */
  breakGlass?: { purpose: string; reason: string };
  expiresAt: Date;
}

/** One oidc-provider model instance (session, grant, code, token, interaction, replay record...). */
export interface OidcStateRecord {
  /** `<model>:<id>`. */
  _id: string;
  model: string;
  /** The payload as JSON text (its keys include URLs, which are awkward as BSON field names). */
  payload: string;
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumedAt?: number;
  expiresAt?: Date;
}

export interface LoginThrottleRecord {
  /** `account:<username>` or `ip:<address>`. */
  _id: string;
  failures: number;
  lockedUntil?: Date;
  expiresAt: Date;
}

/** Text in both languages of the platform's pages. */
export interface BilingualText {
  en: string;
  es: string;
}

/**
 * One published version of an organization's terms of use and privacy policy (organization-policies.ts). Versions
 * are numbered 1, 2, ... per organization and never change once published.
 */
export interface PolicyVersionRecord {
  _id: string;
  tenant: string;
  version: number;
  title: BilingualText;
  text: BilingualText;
  /** The personas who must answer it. */
  personas: Persona[];
  publishedAt: Date;
  /** The account, or `client:<id>`, that published it. */
  publishedBy: string;
}

export const POLICY_DECISIONS = ['accepted', 'declined'] as const;
export type PolicyDecision = (typeof POLICY_DECISIONS)[number];

/** An account's answer to a policy version; answers are only added, the latest one counts. */
export interface PolicyAnswerRecord {
  _id: string;
  tenant: string;
  versionId: string;
  accountId: string;
  decision: PolicyDecision;
  answeredAt: Date;
  /** The application whose authorization request showed the policy. */
  clientId: string;
}

export interface ServerKeysRecord {
  _id: string;
  cookieKeys: string[];
  jwks: { keys: Record<string, unknown>[] };
  csrfKey: string;
}


const options = { versionKey: false, minimize: false } as const;

const accountSchema = new Schema<AccountRecord>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true, unique: true },
    passwordHash: { type: String, required: true },
    role: { type: String, required: true, enum: PERSONAS },
    tenant: { type: String, required: true },
    department: String,
    fhirUser: String,
    status: { type: String, required: true, enum: ['active', 'inactive'], default: 'active' },
    language: { type: String, required: true, enum: LANGUAGES, default: 'en' },
    displayName: { type: String, required: true },
    breakGlass: Boolean,
    complianceReviewer: Boolean,
  },
  { ...options, collection: 'auth_accounts' },
);

const clientSchema = new Schema<ClientApplicationRecord>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    kind: { type: String, required: true, enum: CLIENT_KINDS },
    secret: String,
    jwks: Schema.Types.Mixed,
    jwksUri: String,
    redirectUris: { type: [String], default: [] },
    scope: { type: String, required: true },
    launchUrl: String,
    tenant: { type: String, required: true },
    createdBy: String,
    createdAt: { type: Date, required: true, default: () => new Date() },
  },
  { ...options, collection: 'auth_clients' },
);

const launchSchema = new Schema<LaunchRecord>(
  {
    _id: { type: String, required: true },
    clientId: { type: String, required: true },
    tenant: { type: String, required: true },
    accountId: { type: String, required: true },
    createdBy: { type: String, required: true },
    patient: String,
    encounter: String,
    needPatientBanner: { type: Boolean, required: true },
    smartStyleUrl: String,
    expiresAt: { type: Date, required: true, index: { expireAfterSeconds: 0 } },
  },
  { ...options, collection: 'auth_launches' },
);

const grantContextSchema = new Schema<GrantContextRecord>(
  {
    _id: { type: String, required: true },
    tenant: { type: String, required: true },
    patient: String,
    encounter: String,
    needPatientBanner: { type: Boolean, required: true },
    smartStyleUrl: String,
    breakGlass: { type: new Schema({ purpose: { type: String, required: true }, reason: { type: String, required: true } }, { _id: false }), default: undefined },
    expiresAt: { type: Date, required: true, index: { expireAfterSeconds: 0 } },
  },
  { ...options, collection: 'auth_grant_contexts' },
);

const oidcStateSchema = new Schema<OidcStateRecord>(
  {
    _id: { type: String, required: true },
    model: { type: String, required: true },
    payload: { type: String, required: true },
    grantId: { type: String, index: true, sparse: true },
    uid: { type: String, index: true, sparse: true },
    userCode: { type: String, index: true, sparse: true },
    consumedAt: Number,
    expiresAt: { type: Date, index: { expireAfterSeconds: 0 } },
  },
  { ...options, collection: 'auth_oidc_state' },
);

const loginThrottleSchema = new Schema<LoginThrottleRecord>(
  {
    _id: { type: String, required: true },
    failures: { type: Number, required: true },
    lockedUntil: Date,
    expiresAt: { type: Date, required: true, index: { expireAfterSeconds: 0 } },
  },
  { ...options, collection: 'auth_login_throttle' },
);

const serverKeysSchema = new Schema<ServerKeysRecord>(
  {
    _id: { type: String, required: true },
    cookieKeys: { type: [String], required: true },
    jwks: { type: Schema.Types.Mixed, required: true },
    csrfKey: { type: String, required: true },
  },
  { ...options, collection: 'auth_server_keys' },
);

const bilingualSchema = new Schema<BilingualText>({ en: { type: String, required: true }, es: { type: String, required: true } }, { _id: false });

const policyVersionSchema = new Schema<PolicyVersionRecord>(
  {
    _id: { type: String, required: true },
    tenant: { type: String, required: true },
    version: { type: Number, required: true },
    title: { type: bilingualSchema, required: true },
    text: { type: bilingualSchema, required: true },
    personas: { type: [{ type: String, enum: PERSONAS }], required: true },
    publishedAt: { type: Date, required: true },
    publishedBy: { type: String, required: true },
  },
  { ...options, collection: 'auth_policy_versions' },
);
policyVersionSchema.index({ tenant: 1, version: -1 }, { unique: true });

const policyAnswerSchema = new Schema<PolicyAnswerRecord>(
  {
    _id: { type: String, required: true },
    tenant: { type: String, required: true },
    versionId: { type: String, required: true },
    accountId: { type: String, required: true },
    decision: { type: String, required: true, enum: POLICY_DECISIONS },
    answeredAt: { type: Date, required: true },
    clientId: { type: String, required: true },
  },
  { ...options, collection: 'auth_policy_answers' },
);
policyAnswerSchema.index({ versionId: 1, accountId: 1, answeredAt: -1 });

function bindModels(connection: Connection) {
  return {
    connection,
    accounts: connection.model('Account', accountSchema),
    clients: connection.model('ClientApplication', clientSchema),
    launches: connection.model('Launch', launchSchema),
    grantContexts: connection.model('GrantContext', grantContextSchema),
    oidcState: connection.model('OidcState', oidcStateSchema),
    loginThrottle: connection.model('LoginThrottle', loginThrottleSchema),
    serverKeys: connection.model('ServerKeys', serverKeysSchema),
    policyVersions: connection.model('PolicyVersion', policyVersionSchema),
    policyAnswers: connection.model('PolicyAnswer', policyAnswerSchema),
  };
}

/** The record models bound to the server's connection. */
export type AuthRecords = ReturnType<typeof bindModels>;

/** Binds the record models to a connection and makes sure their indexes exist. */
export async function openAuthRecords(connection: Connection): Promise<AuthRecords> {
  const records = bindModels(connection);
  const { connection: _connection, ...models } = records;
  await Promise.all(Object.values(models).map((model) => model.init()));
  return records;
}
