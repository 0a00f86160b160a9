/**
 * What the person approves at the end of an authorization request, and the grant that approval creates (SMART App
 * Launch 2.x, app-launch.html "obtain authorization code"): the launch context (the EHR launch's patient and
 * encounter, the patient a staff member picks for a standalone `launch/patient`, or a patient's own record) and the
 * scopes, never beyond what the client registered and the person chose. The context is stored per grant and
 * returned with every token of the grant. An emergency access (`break-glass`, break-glass.ts) is approved only by
 * designated personnel for a patient context, with a stated purpose and reason, in a grant of its own that never
 * holds offline or online access.
 */
import type { Patient } from '@medplum/fhirtypes';
import type { default as ProviderType, Interaction } from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { ResourceStore } from '../storage/resource-store';
import type { Criterion } from '../search/search-request';
import type { AccountRecord, AuthRecords, LaunchRecord } from './auth-records';
import { TOKEN_LIFETIMES } from './authorization-server';
import type { Persona, SmartScope } from './principal';
import { grantsFor } from '../access/permissions';
import { CONTEXT_SCOPES, MANAGEMENT_SCOPES, parseScope, parseScopes, scopeCovers, splitScopeParameter, type ManagementScope } from './smart-scopes';
import { BREAK_GLASS_SCOPE, isComplianceReviewer, isDesignated, type BreakGlassStatement } from './break-glass';

/** How many patients the picker lists (the search issue brings a filtered picker). */
export const PICKER_LIMIT = 100;

const personas =
  (...roles: Persona[]) =>
  (account: AccountRecord): boolean =>
    roles.includes(account.role);

/** Who may hold the management scopes at all (the access-policy issue refines the personas' tables). */
const MANAGEMENT_HOLDERS: Record<ManagementScope, (account: AccountRecord) => boolean> = {
  'admin:clients': personas('system-admin', 'org-admin'),
  'ehr:launch': personas('system-admin', 'org-admin', 'department-head', 'doctor', 'nurse', 'technician', 'receptionist'),
  'notifications:inbox': personas('system-admin', 'org-admin', 'department-head', 'doctor', 'nurse', 'technician', 'receptionist', 'patient'),
  'notifications:admin': personas('org-admin'),
  'break-glass': isDesignated,
  'break-glass:admin': isComplianceReviewer,
  'policies:admin': personas('org-admin'),
};

export interface ApprovalDependencies {
  readonly records: AuthRecords;
  readonly provider: ProviderType;
  readonly fhirBaseUrl: string;
  storeFor(tenant: string): ResourceStore;
  /** The criteria confining the Patients the account may see (the access policy's read filter), 'none' when none. */
  visiblePatients(account: AccountRecord, store: ResourceStore): Promise<readonly Criterion[] | 'none'>;
}

export interface PatientOption {
  readonly id: string;
  readonly label: string;
}

/** Everything the approval page shows, or the reason the request cannot go on. */
export type Approval =
  | {
      readonly kind: 'ask';
      readonly clientName: string;
      readonly scopes: readonly string[];
      readonly launch?: LaunchRecord;
      /** The patient of the context when it is fixed (EHR launch or the patient's own record). */
      readonly fixedPatient?: PatientOption & { readonly own: boolean };
      /** Patients to pick from (standalone launch/patient by staff). */
      readonly choices?: readonly PatientOption[];
      /** An emergency access (break-glass) is asked for: the page asks for the purpose and reason. */
      readonly breakGlass?: true;
    }
  | { readonly kind: 'refuse'; readonly description: string };

export function patientLabel(patient: Patient): string {
  const name = patient.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  return `${text || patient.id}${patient.birthDate ? ` (${patient.birthDate})` : ''}`;
}

/**
 * A user scope naming a type is granted only when the persona's permission table allows every letter it asks for
 * (a receptionist asking for user/Observation.rs gets a token without it); wildcard scopes are granted and
 * confined by the table on every request.
 */
function withinPersona(role: Persona, scope: SmartScope): boolean {
  return scope.resourceType === '*' || [...scope.interactions].every((letter) => grantsFor(role, scope.resourceType, letter).length > 0);
}

function mayHold(account: AccountRecord, scope: string): boolean {
  const holds = MANAGEMENT_HOLDERS[scope as ManagementScope];
  return holds === undefined || holds(account);
}

async function readPatient(store: ResourceStore, id: string): Promise<Patient | undefined> {
  const stored = await store.read('Patient', id);
  return stored && !stored.deleted ? (stored.resource as Patient) : undefined;
}

/** Works out the approval page of an interaction for the signed-in account. */
export async function prepareApproval(deps: ApprovalDependencies, interaction: Interaction, account: AccountRecord): Promise<Approval> {
  const client = await deps.records.clients.findById(interaction.params.client_id).lean();
  if (!client) return { kind: 'refuse', description: 'the application is no longer registered' };
  if (client.tenant !== account.tenant) return { kind: 'refuse', description: 'the application is not registered for your organization' };
  const requested = splitScopeParameter(interaction.params.scope as string | undefined);
  const registered = parseScopes(client.scope);
  const registeredNames = splitScopeParameter(client.scope);
  const store = deps.storeFor(account.tenant);
  const breakGlass = requested.includes(BREAK_GLASS_SCOPE);
  if (breakGlass && !registeredNames.includes(BREAK_GLASS_SCOPE)) return { kind: 'refuse', description: 'the application is not registered for break-glass (emergency) access' };
  if (breakGlass && !isDesignated(account)) {
    return { kind: 'refuse', description: 'break-glass (emergency) access is reserved for designated clinical personnel; an organization administrator can designate you' };
  }

  let launch: LaunchRecord | undefined;
  let fixedPatient: (PatientOption & { own: boolean }) | undefined;
  let choices: PatientOption[] | undefined;
  if (typeof interaction.params.launch === 'string') {
    launch = (await deps.records.launches.findById(interaction.params.launch).lean()) ?? undefined;
    if (!launch || launch.expiresAt.getTime() <= Date.now()) return { kind: 'refuse', description: 'the launch has expired' };
    if (launch.accountId !== account._id) return { kind: 'refuse', description: 'the launch was created for another user' };
    if (launch.patient) {
      const patient = await readPatient(store, launch.patient);
      if (!patient) return { kind: 'refuse', description: 'the launch patient no longer exists' };
      fixedPatient = { id: launch.patient, label: patientLabel(patient), own: false };
    }
  } else if (requested.includes('launch/patient')) {
    if (account.role === 'patient') {
      const id = account.fhirUser?.startsWith('Patient/') ? account.fhirUser.slice('Patient/'.length) : undefined;
      const patient = id ? await readPatient(store, id) : undefined;
      if (!id || !patient) return { kind: 'refuse', description: 'your account is not linked to a patient record' };
      fixedPatient = { id, label: patientLabel(patient), own: true };
    } else {
      const sort = [{ param: 'family', descending: false }, { param: 'given', descending: false }];
      // Emergency access is for a patient outside the user's usual reach: every patient of the organization.
      const visible = breakGlass ? [] : await deps.visiblePatients(account, store);
      const criteria = visible === 'none' ? [{ kind: 'ids' as const, ids: [] }] : visible;
      const found = await store.search({ queries: [{ resourceType: 'Patient', criteria }], sort, count: PICKER_LIMIT });
      choices = found.versions.map((v) => ({ id: v.id, label: patientLabel(v.resource as Patient) }));
    }
  }
  const hasPatient = fixedPatient !== undefined || choices !== undefined;
  if (breakGlass && (!hasPatient || fixedPatient?.own)) {
    return { kind: 'refuse', description: 'break-glass (emergency) access needs a patient context: ask for launch/patient, or launch the application from the EHR with a patient' };
  }
  const scopes = requested.filter((raw) => {
    // An emergency access never outlives its short token.
    if (breakGlass && (raw === 'offline_access' || raw === 'online_access')) return false;
    const parsed = parseScope(raw);
    if (parsed.kind === 'context') return (registeredNames.includes(raw) || raw === 'launch') && (raw !== 'launch' || launch !== undefined);
    if (parsed.kind === 'management') return registeredNames.includes(raw) && mayHold(account, raw);
    if (parsed.scope.context === 'patient' && !hasPatient) return false;
    return parsed.scope.context !== 'system' && registered.resource.some((allowed) => scopeCovers(allowed, parsed.scope)) && withinPersona(account.role, parsed.scope);
  });
  return { kind: 'ask', clientName: client.name, scopes, ...(launch ? { launch } : {}), ...(fixedPatient ? { fixedPatient } : {}), ...(choices ? { choices } : {}), ...(breakGlass ? { breakGlass: true as const } : {}) };
}

export interface ApprovalDecision {
  /** Scopes the person left checked. */
  readonly scopes: readonly string[];
  /** The patient picked (standalone launch by staff). */
  readonly patient?: string;
  /** The purpose and reason stated for an emergency access (required when the approval asks for one). */
  readonly breakGlass?: BreakGlassStatement;
}

/**
 * Creates (or extends) the grant for what was approved and records its launch context; returns the grant id, or
 * 'patient-required' when a patient had to be picked and none (or one not offered) was.
 */
export async function approveLaunch(deps: ApprovalDependencies, interaction: Interaction, account: AccountRecord, approval: Approval & { kind: 'ask' }, decision: ApprovalDecision): Promise<string | 'patient-required'> {
  let patient = approval.fixedPatient?.id;
  if (approval.choices) {
    if (!decision.patient || !approval.choices.some((choice) => choice.id === decision.patient)) return 'patient-required';
    patient = decision.patient;
  }
  if (approval.breakGlass && !decision.breakGlass) throw new Error('an emergency access needs its stated purpose and reason');
  const chosen = new Set(decision.scopes);
  // The emergency access is what the whole approval is about: it is not one of the boxes to clear.
  const granted = approval.scopes.filter((scope) => chosen.has(scope) || (approval.breakGlass && scope === BREAK_GLASS_SCOPE));
  // Management scopes are granted for the FHIR server's audience like resource scopes (authorization-server.ts), and,
  // being among oidc-provider's configured scopes too, as OpenID scopes: otherwise it finds them missing and asks again.
  const staticOnly = granted.filter((scope) => parseScope(scope).kind !== 'resource');
  const resources = granted.filter((scope) => parseScope(scope).kind !== 'context');

  const { Grant } = deps.provider;
  // An emergency access gets a grant of its own, which ends with it; it never extends the app's usual grant.
  const existing = interaction.grantId && !approval.breakGlass ? await Grant.find(interaction.grantId) : undefined;
  const grant = existing ?? new Grant({ accountId: account._id, clientId: interaction.params.client_id as string });
  if (staticOnly.length > 0) grant.addOIDCScope(staticOnly.join(' '));
  const details = interaction.prompt.details as { missingOIDCClaims?: string[] };
  if (details.missingOIDCClaims?.length) grant.addOIDCClaims(details.missingOIDCClaims);
  if (resources.length > 0) grant.addResourceScope(deps.fhirBaseUrl, resources.join(' '));
  // What was asked for but not granted is recorded as refused, so oidc-provider does not ask again.
  const refused = splitScopeParameter(interaction.params.scope as string | undefined).filter((scope) => !granted.includes(scope));
  const refusedStatic = refused.filter((scope) => (CONTEXT_SCOPES as readonly string[]).includes(scope) || (MANAGEMENT_SCOPES as readonly string[]).includes(scope));
  const refusedResource = refused.filter((scope) => !(CONTEXT_SCOPES as readonly string[]).includes(scope));
  if (refusedStatic.length > 0) grant.rejectOIDCScope(refusedStatic.join(' '));
  if (refusedResource.length > 0) grant.rejectResourceScope(deps.fhirBaseUrl, refusedResource.join(' '));
  const grantId = await grant.save();
  const launch = approval.launch;
  await deps.records.grantContexts.replaceOne(
    { _id: grantId },
    {
      _id: grantId,
      tenant: account.tenant,
      ...(patient ? { patient } : {}),
      ...(launch?.encounter ? { encounter: launch.encounter } : {}),
      needPatientBanner: launch ? launch.needPatientBanner : true,
      ...(launch?.smartStyleUrl ? { smartStyleUrl: launch.smartStyleUrl } : {}),
      ...(approval.breakGlass && decision.breakGlass ? { breakGlass: { purpose: decision.breakGlass.purpose, reason: decision.breakGlass.reason } } : {}),
      expiresAt: new Date(Date.now() + TOKEN_LIFETIMES.grant * 1000),
    },
    { upsert: true },
  );
  return grantId;
}
