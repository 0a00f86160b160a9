/**
 * The search parameters of each organization (search.html#custom): the base ones, plus the active SearchParameter
 * resources the organization stored. A new or changed parameter is indexed on every write at once, and becomes
 * searchable when the job that computes its values for the resources stored before has finished.
 */
import type { SearchParameter } from '@medplum/fhirtypes';
import { baseSearchParameters, SearchParameterRegistry } from './search-parameters';

interface TenantParameters {
  readonly custom: readonly SearchParameter[];
  readonly pending: ReadonlySet<string>;
  readonly registry: SearchParameterRegistry;
}

/** What makes a parameter's stored values stale when it changes. */
function fingerprint(sp: SearchParameter): string {
  return JSON.stringify([sp.code, sp.type, sp.expression, [...(sp.base ?? [])].sort(), sp.target ?? []]);
}

export class SearchParameterCatalog {
  private readonly tenants = new Map<string, TenantParameters>();

  /** The registry to index and search an organization's resources with. */
  registryFor(tenant: string): SearchParameterRegistry {
    return this.tenants.get(tenant)?.registry ?? baseSearchParameters();
  }

  /**
   * Sets an organization's own parameters; returns those that are new or whose values changed, which stay pending
   * until markIndexed.
   */
  define(tenant: string, custom: readonly SearchParameter[]): SearchParameter[] {
    const previous = this.tenants.get(tenant);
    const known = new Map((previous?.custom ?? []).map((sp) => [sp.url, fingerprint(sp)]));
    const changed = custom.filter((sp) => known.get(sp.url) !== fingerprint(sp));
    const pending = new Set([...(previous?.pending ?? [])].filter((url) => custom.some((sp) => sp.url === url)));
    for (const sp of changed) pending.add(sp.url as string);
    this.set(tenant, custom, pending);
    return changed;
  }

  /** The parameter's values are computed for every stored resource: it is searchable now. */
  markIndexed(tenant: string, url: string): void {
    const current = this.tenants.get(tenant);
    if (!current?.pending.has(url)) return;
    this.set(tenant, current.custom, new Set([...current.pending].filter((u) => u !== url)));
  }

  private set(tenant: string, custom: readonly SearchParameter[], pending: ReadonlySet<string>): void {
    const base = baseSearchParameters();
    this.tenants.set(tenant, { custom, pending, registry: new SearchParameterRegistry([...custom, ...base.definitions], pending) });
  }
}
