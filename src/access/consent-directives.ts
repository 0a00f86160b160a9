/**
 * Patients' privacy consents as access restrictions (consent.html, "Privacy Consent Directives"; issue 6:
 * "patient restrictions (deny an actor, a data class, a period, a purpose) apply to every read path"). The base
 * policy (persona table, care relationships) permits; each `deny` provision of an active Consent — at the top,
 * or nested in a permitting Consent — restricts one patient's data: for the actors it names (everyone but the
 * patient when it names none), for the purposes it names (all when none), while its period lasts, for the data
 * classes (resource types) and security labels it names. A nested `permit` under a deny exempts its actors.
 * A provision that names only actions outside the consent actions of data access (consentaction: collect,
 * access, use, disclose, correct), such as the contact channels of notifications/channel-consent.ts, controls those
 * actions and restricts no data access. An organization's directives are read once and dropped at once when one
 * of its Consents changes, so a new or revoked consent takes effect on the next request.
 */
import type { Consent, ConsentProvision } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal';
import type { ResourceStore, StoredVersion } from '../storage/resource-store';
import { tokenQueryKey } from '../search/index-keys';
import { parseDateRange } from '../search/date-range';

/** One restriction of one patient's data. */
export interface Restriction {
  /** Patient id. */
  readonly patient: string;
  /** The Consent that imposes it, for messages. */
  readonly consent: string;
  /** Actor references it applies to; empty: everyone but the patient. */
  readonly actors: readonly string[];
  /** Actor references exempted by a nested permit. */
  readonly exempt: readonly string[];
  /** v3 purpose-of-use codes it applies to; empty: every purpose. */
  readonly purposes: readonly string[];
  /** Resource types it covers; empty: all of the patient's data. */
  readonly classes: readonly string[];
  /** Security labels (system|code) it covers; empty: regardless of labels. */
  readonly labels: readonly { system: string | undefined; code: string }[];
  /** When the restriction applies (inclusive ms bounds). */
  readonly from: number;
  readonly until: number;
}

const RESOURCE_TYPES = 'http://hl7.org/fhir/resource-types';
/** The code system of the actions on data a consent rule controls (consent.html#provision, Consent.provision.action). */
const CONSENT_ACTIONS = 'http://terminology.hl7.org/CodeSystem/consentaction';

/** Whether a provision controls data access: it names no action, or one of the consent actions on data. */
function controlsDataAccess(provision: ConsentProvision): boolean {
  const actions = provision.action ?? [];
  return actions.length === 0 || actions.some((action) => (action.coding ?? []).some((coding) => coding.system === CONSENT_ACTIONS));
}
const MAX_CONSENTS = 10_000;

function restrictionOf(consent: Consent, provision: ConsentProvision, exempt: readonly string[]): Restriction | undefined {
  const patient = consent.patient?.reference;
  if (!patient?.startsWith('Patient/')) return undefined;
  const start = provision.period?.start ? parseDateRange(provision.period.start)?.start.getTime() : undefined;
  const end = provision.period?.end ? parseDateRange(provision.period.end)?.end.getTime() : undefined;
  return {
    patient: patient.slice('Patient/'.length),
    consent: `Consent/${consent.id}`,
    actors: (provision.actor ?? []).flatMap((a) => (a.reference?.reference ? [a.reference.reference] : [])),
    exempt,
    purposes: (provision.purpose ?? []).flatMap((p) => (p.code ? [p.code] : [])),
    classes: (provision.class ?? []).flatMap((c) => (c.code && (!c.system || c.system === RESOURCE_TYPES) ? [c.code] : [])),
    labels: (provision.securityLabel ?? []).flatMap((l) => (l.code ? [{ system: l.system, code: l.code }] : [])),
    from: start ?? -Infinity,
    until: end ?? Infinity,
  };
}

/** The restrictions an active Consent imposes: its deny provisions, top-level or nested. */
export function restrictionsOf(consent: Consent): Restriction[] {
  if (consent.status !== 'active' || !consent.provision) return [];
  const top = consent.provision;
  const restrictions: Restriction[] = [];
  if (top.type === 'deny' && controlsDataAccess(top)) {
    const exempt = (top.provision ?? []).filter((p) => p.type === 'permit').flatMap((p) => (p.actor ?? []).flatMap((a) => (a.reference?.reference ? [a.reference.reference] : [])));
    const own = restrictionOf(consent, top, exempt);
    if (own) restrictions.push(own);
  } else if (top.type !== 'deny') {
    for (const nested of top.provision ?? []) {
      if (nested.type !== 'deny' || !controlsDataAccess(nested)) continue;
      const own = restrictionOf(consent, nested, []);
      if (own) restrictions.push(own);
    }
  }
  return restrictions;
}

/** Whether a restriction binds this principal, for this purpose, now. */
export function binds(restriction: Restriction, principal: Principal, purpose: string, now = Date.now()): boolean {
  if (now < restriction.from || now > restriction.until) return false;
  if (principal.fhirUser === `Patient/${restriction.patient}`) return false;
  if (restriction.purposes.length > 0 && !restriction.purposes.includes(purpose)) return false;
  const actor = principal.fhirUser;
  if (actor && restriction.exempt.includes(actor)) return false;
  return restriction.actors.length === 0 || (actor !== undefined && restriction.actors.includes(actor));
}

/** The keys of a restriction's security labels in the `_security` parameter. */
export function labelKeys(restriction: Restriction): string[] {
  return restriction.labels.map((label) => tokenQueryKey('_security', label.system, label.code));
}

export class ConsentDirectives {
  private readonly byTenant = new Map<string, Promise<readonly Restriction[]>>();

  /** Every restriction active Consents impose in the organization. */
  restrictions(store: ResourceStore): Promise<readonly Restriction[]> {
    let loaded = this.byTenant.get(store.tenant);
    if (!loaded) {
      loaded = this.load(store);
      this.byTenant.set(store.tenant, loaded);
      loaded.catch(() => this.byTenant.delete(store.tenant));
    }
    return loaded;
  }

  private async load(store: ResourceStore): Promise<Restriction[]> {
    const page = await store.search({
      queries: [{ resourceType: 'Consent', criteria: [{ kind: 'keys', keys: [tokenQueryKey('status', undefined, 'active')] }] }],
      sort: [{ param: '_id', descending: false }],
      count: MAX_CONSENTS,
    });
    return page.versions.flatMap((v) => restrictionsOf(v.resource as Consent));
  }

  /** A write listener: a stored, changed or deleted Consent takes effect on the next request. */
  readonly onWrites = (tenant: string, versions: readonly StoredVersion[]): void => {
    if (versions.some((v) => v.resourceType === 'Consent')) this.byTenant.delete(tenant);
  };
}
