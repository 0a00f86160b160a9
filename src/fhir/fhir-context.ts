/**
 * What an interaction needs besides the request: the tenant's store, the registry, the public base URL, the
 * validator and the paging settings. Built per request by the composition root.
 */
import type { CapabilityStatementRestSecurity, Resource } from '@medplum/fhirtypes';
import type { Principal } from '../auth/principal';
import type { ResourceStore } from '../storage/resource-store';
import type { AccessControl } from '../access/access-policy';
import type { Outbox } from '../notifications/outbox';
import type { SearchParameterRegistry } from '../search/search-parameters';
import type { Registry } from './registry';

export interface FhirSettings {
  /** `_count` when the client gives none. */
  readonly defaultCount: number;
  /** The largest `_count` honoured; larger values are reduced to it. */
  readonly maxCount: number;
}

export interface FhirContext {
  /** Who is calling (from the bearer token); the store is opened for its tenant. */
  readonly principal: Principal;
  readonly store: ResourceStore;
  readonly registry: Registry;
  /** Absolute FHIR base URL without a trailing slash, e.g. http://localhost:8080/fhir. */
  readonly baseUrl: string;
  readonly settings: FhirSettings;
  readonly searchParameters: SearchParameterRegistry;
  /**
   * The access policy's answers for this request's principal. Its read filter is added to every search, include,
   * chain, `_has` and conditional match, so hiding happens in the query, before paging and totals, and what is
   * hidden cannot be inferred (DESIGN.md example 7).
   */
  readonly access: AccessControl;
  /**
   * The store of another organization. Crossing organizations is explicit: only operations that authorize the
   * crossing themselves (Patient/$share, with the patient's consent) call this.
   */
  openOrganization(tenant: string): ResourceStore;
  /** Where workflows send notifications to people (src/notifications/outbox.ts). */
  readonly outbox: Outbox;
  /** CapabilityStatement.rest.security: how clients obtain tokens (SMART on FHIR). */
  readonly security?: CapabilityStatementRestSecurity;
  /** Throws a FhirError listing every problem when `resource` is not a valid `expectedType`. */
  validate(resource: unknown, expectedType: string): asserts resource is Resource;
}
