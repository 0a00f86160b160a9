/**
 * A FHIR REST request and response as the FHIR layer sees them: no Koa, no sockets (DESIGN.md example 3,
 * after Medplum's fhir-router), so every interaction and whole Bundles can be run and tested in-process.
 * http.html#general
 */
import type { Resource } from '@medplum/fhirtypes';

export type FhirMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** `Prefer: return=...` (http.html#ops). */
export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

export interface FhirRequest {
  readonly method: FhirMethod;
  /** Path segments after the FHIR base, e.g. ['Patient', '123', '_history', '2']. */
  readonly path: readonly string[];
  /** Query parameters in order (names may repeat). */
  readonly query: readonly (readonly [string, string])[];
  /** Parsed body: a resource, a JSON Patch array, or undefined. */
  readonly body: unknown;
  /** Media type of the body without parameters, e.g. application/fhir+json or application/json-patch+json. */
  readonly contentType: string | undefined;
  readonly ifMatch: string | undefined;
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
  readonly ifNoneExist: string | undefined;
  readonly preferReturn: PreferReturn | undefined;
  /** `Prefer: handling=strict|lenient` (search.html#errors). */
  readonly preferHandling: 'strict' | 'lenient' | undefined;
}

export interface FhirResponse {
  readonly status: number;
  readonly body?: Resource;
  /** Absolute URL with the version, for created or updated resources. */
  readonly location?: string;
  /** Weak ETag `W/"<versionId>"`. */
  readonly etag?: string;
  /** HTTP date. */
  readonly lastModified?: string;
}

/** Creates a request with every optional header absent; interactions and Bundle entries build on it. */
export function fhirRequest(method: FhirMethod, path: readonly string[], fields: Partial<FhirRequest> = {}): FhirRequest {
  return {
    method,
    path,
    query: [],
    body: undefined,
    contentType: undefined,
    ifMatch: undefined,
    ifNoneMatch: undefined,
    ifModifiedSince: undefined,
    ifNoneExist: undefined,
    preferReturn: undefined,
    preferHandling: undefined,
    ...fields,
  };
}
