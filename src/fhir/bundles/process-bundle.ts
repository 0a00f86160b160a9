/**
 * batch and transaction Bundles (http.html#transaction, bundle.html). A batch runs each entry on its own and
 * reports each outcome; a transaction runs in one storage transaction (all or nothing) in the order the spec
 * prescribes (DELETE, POST, PUT/PATCH, GET), after giving new resources their ids, resolving conditional
 * creates and conditional references, and rewriting `urn:uuid:` references everywhere in the entries.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, BundleEntryResponse, Resource } from '@medplum/fhirtypes';
import { fhirRequest, type FhirMethod, type FhirRequest, type FhirResponse } from '../fhir-request';
import type { StoredVersion } from '../../storage/resource-store';
import type { FhirContext } from '../fhir-context';
import { conditionLockName, findMatches, queryOf } from '../interactions/conditional';
import { handleFhirRequest } from '../router';
import { createdResponse, resourceToCreate } from '../interactions/write';
import { versionResponse } from '../responses';
import { FhirError } from '../../errors';

const METHODS = new Set<FhirMethod>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const TRANSACTION_ORDER: Record<FhirMethod, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };
const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified' };

interface ParsedEntry {
  readonly index: number;
  readonly entry: BundleEntry;
  readonly request: FhirRequest;
}

function bundleOf(request: FhirRequest): Bundle & { type: 'batch' | 'transaction' } {
  const body = request.body as Partial<Bundle> | undefined;
  if (!body || body.resourceType !== 'Bundle') {
    throw new FhirError('invalid', 'POST to the FHIR base takes a Bundle of type batch or transaction', { expression: ['resourceType'] });
  }
  if (body.type !== 'batch' && body.type !== 'transaction') {
    throw new FhirError('invalid', `Bundle.type must be batch or transaction, not '${String(body.type)}'`, { expression: ['Bundle.type'] });
  }
  if (body.entry !== undefined && !Array.isArray(body.entry)) {
    throw new FhirError('invalid', 'Bundle.entry must be an array', { expression: ['Bundle.entry'] });
  }
  return body as Bundle & { type: 'batch' | 'transaction' };
}

/** An entry's request.url relative to the base: `Patient/1`, `Patient?identifier=x`, or an absolute URL on this server. */
function parseEntry(entry: BundleEntry, index: number, context: FhirContext, outer: FhirRequest): ParsedEntry {
  const where = `Bundle.entry[${index}].request`;
  const method = entry.request?.method as FhirMethod | undefined;
  if (!method || !METHODS.has(method)) throw new FhirError('invalid', `${where}.method must be one of GET, HEAD, POST, PUT, PATCH, DELETE`, { expression: [`${where}.method`] });
  let url = entry.request?.url;
  if (typeof url !== 'string' || url.length === 0) throw new FhirError('invalid', `${where}.url is required`, { expression: [`${where}.url`] });
  if (url.startsWith(`${context.baseUrl}/`)) url = url.slice(context.baseUrl.length + 1);
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) throw new FhirError('invalid', `${where}.url '${url}' is not on this server`, { expression: [`${where}.url`] });
  const [pathPart = '', search = ''] = url.replace(/^\//, '').split(/\?(.*)/s);
  const path = pathPart.split('/').filter((segment) => segment.length > 0).map(decodeURIComponent);
  return {
    index,
    entry,
    request: fhirRequest(method, path, {
      query: queryOf(search),
      body: bodyOf(entry, method),
      contentType: patchContentType(entry, method),
      ifMatch: entry.request?.ifMatch,
      ifNoneMatch: entry.request?.ifNoneMatch,
      ifModifiedSince: entry.request?.ifModifiedSince,
      ifNoneExist: entry.request?.ifNoneExist,
      preferReturn: outer.preferReturn,
    }),
  };
}

/** A PATCH entry carries a JSON Patch as a Binary, or a FHIRPath Patch as Parameters (http.html#patch). */
function bodyOf(entry: BundleEntry, method: FhirMethod): unknown {
  const resource = entry.resource;
  if (method === 'PATCH' && resource?.resourceType === 'Binary') {
    try {
      return JSON.parse(Buffer.from(resource.data ?? '', 'base64').toString('utf8'));
    } catch {
      throw new FhirError('invalid', 'The Binary of a PATCH entry must hold a base64 JSON Patch document');
    }
  }
  return resource;
}

function patchContentType(entry: BundleEntry, method: FhirMethod): string {
  if (method === 'PATCH' && entry.resource?.resourceType === 'Binary') return 'application/json-patch+json';
  return 'application/fhir+json';
}

function responseEntry(response: FhirResponse): BundleEntry {
  const status = `${response.status}${STATUS_TEXT[response.status] ? ` ${STATUS_TEXT[response.status]}` : ''}`;
  const entryResponse: BundleEntryResponse = { status };
  if (response.location) entryResponse.location = response.location;
  if (response.etag) entryResponse.etag = response.etag;
  if (response.lastModified) entryResponse.lastModified = new Date(response.lastModified).toISOString();
  return { ...(response.body ? { resource: response.body } : {}), response: entryResponse };
}

function errorEntry(error: FhirError): BundleEntry {
  return { response: { status: String(error.status), outcome: error.toOperationOutcome() } };
}

/** Batch entries are independent (bundle.html#batch), so a few run at once and share journal flushes. */
const BATCH_CONCURRENCY = 8;

async function runBatch(entries: ParsedEntry[], context: FhirContext): Promise<BundleEntry[]> {
  const results: BundleEntry[] = new Array<BundleEntry>(entries.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const { index, request } = entries[next++] as ParsedEntry;
      try {
        results[index] = responseEntry(await handleFhirRequest(request, context));
      } catch (error) {
        if (!(error instanceof FhirError)) throw error;
        results[index] = errorEntry(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, entries.length) }, worker));
  return results;
}

/** Replaces every `reference` found in the mapping, at any depth of the resource. */
function rewriteReferences(value: unknown, resolve: (reference: string) => string | undefined): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteReferences(item, resolve));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = key === 'reference' && typeof child === 'string' ? (resolve(child) ?? child) : rewriteReferences(child, resolve);
  }
  return out;
}

function collectConditionalReferences(value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) value.forEach((item) => collectConditionalReferences(item, found));
  else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'reference' && typeof child === 'string' && /^[A-Z][A-Za-z]+\?/.test(child)) found.add(child);
      else collectConditionalReferences(child, found);
    }
  }
}

/** Two writes to one resource in a transaction make its outcome depend on order: the spec forbids it. */
function rejectOverlappingWrites(entries: ParsedEntry[]): void {
  const seen = new Map<string, number>();
  for (const { index, request } of entries) {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'POST' || request.path.length !== 2) continue;
    const identity = request.path.join('/');
    const earlier = seen.get(identity);
    if (earlier !== undefined) {
      throw new FhirError('invalid', `Bundle.entry[${earlier}] and Bundle.entry[${index}] both change ${identity}; a transaction may change a resource once`, {
        expression: [`Bundle.entry[${index}].request.url`],
      });
    }
    seen.set(identity, index);
  }
}

async function runTransaction(entries: ParsedEntry[], outer: FhirContext): Promise<BundleEntry[]> {
  rejectOverlappingWrites(entries);
  return outer.store.transaction(async (store) => {
    const context: FhirContext = { ...outer, store };
    const results: BundleEntry[] = new Array<BundleEntry>(entries.length);
    // Deletions come first (http.html#trules), so conditional creates below no longer see what they removed.
    for (const parsed of entries.filter((p) => p.request.method === 'DELETE')) {
      results[parsed.index] = responseEntry(await atEntry(parsed.index, () => handleFhirRequest(parsed.request, context)));
    }
    const references = new Map<string, string>();
    const existing = new Map<number, FhirResponse>();
    const assigned = new Map<number, string>();
    for (const { index, entry, request } of entries) {
      if (request.method !== 'POST' || request.path.length !== 1) continue;
      const type = request.path[0] as string;
      let id: string | undefined;
      if (request.ifNoneExist !== undefined) {
        const condition = queryOf(request.ifNoneExist);
        await store.lock(conditionLockName(type, condition));
        const matches = await atEntry(index, () => findMatches(context, type, condition, 2));
        if (matches.length > 1) {
          throw new FhirError('precondition-failed', `Bundle.entry[${index}]: ifNoneExist '${request.ifNoneExist}' matches more than one ${type}`, {
            expression: [`Bundle.entry[${index}].request.ifNoneExist`],
          });
        }
        const [match] = matches;
        if (match) {
          id = match.id;
          existing.set(index, versionResponse(request, context.baseUrl, match, 200, { location: true }));
        }
      }
      id ??= randomUUID();
      assigned.set(index, id);
      if (entry.fullUrl) references.set(entry.fullUrl, `${type}/${id}`);
    }
    const conditional = new Set<string>();
    for (const { entry } of entries) collectConditionalReferences(entry.resource, conditional);
    for (const reference of conditional) {
      const [type = '', search = ''] = reference.split(/\?(.*)/s);
      if (!context.registry.types.has(type)) throw new FhirError('invalid', `Conditional reference '${reference}' names an unknown resource type`);
      const matches = await findMatches(context, type, queryOf(search), 2);
      if (matches.length !== 1) {
        throw new FhirError(matches.length === 0 ? 'invalid' : 'precondition-failed', `Conditional reference '${reference}' matches ${matches.length === 0 ? 'no' : 'more than one'} ${type}; it must match exactly one`);
      }
      references.set(reference, `${type}/${(matches[0] as { id: string }).id}`);
    }
    const resolve = (reference: string): string | undefined => references.get(reference);
    const ordered = [...entries].sort((a, b) => TRANSACTION_ORDER[a.request.method] - TRANSACTION_ORDER[b.request.method] || a.index - b.index);
    const rewritten = (parsed: ParsedEntry): FhirRequest => ({ ...parsed.request, body: rewriteReferences(parsed.request.body, resolve), ifNoneExist: undefined });
    // New resources are validated one by one, then stored together.
    const creates = ordered.filter((p) => assigned.has(p.index) && !existing.has(p.index));
    const resources = creates.map((parsed) =>
      atEntrySync(parsed.index, () => resourceToCreate(rewritten(parsed), context, parsed.request.path[0] as string, assigned.get(parsed.index) as string)),
    );
    const created = resources.length > 0 ? await store.createMany(resources) : [];
    creates.forEach((parsed, i) => {
      results[parsed.index] = responseEntry(createdResponse(parsed.request, context, created[i] as StoredVersion));
    });
    for (const [index, response] of existing) results[index] = responseEntry(response);
    for (const parsed of ordered.filter((p) => p.request.method !== 'DELETE' && !assigned.has(p.index))) {
      results[parsed.index] = responseEntry(await atEntry(parsed.index, () => handleFhirRequest(rewritten(parsed), context)));
    }
    return results;
  });
}

/** Names the failing entry in a transaction's error, keeping its status. */
async function atEntry<T>(index: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw located(error, index);
  }
}

function atEntrySync<T>(index: number, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw located(error, index);
  }
}

function located(error: unknown, index: number): unknown {
  return error instanceof FhirError ? error.atLocation(`Bundle.entry[${index}]`) : error;
}

export async function processBundle(request: FhirRequest, context: FhirContext): Promise<FhirResponse> {
  const bundle = bundleOf(request);
  if (!context.registry.systemInteractions.has(bundle.type)) {
    throw new FhirError('method-not-allowed', `${bundle.type} Bundles are not supported`);
  }
  const entries = (bundle.entry ?? []).map((entry, index) => parseEntry(entry, index, context, request));
  const nested = entries.find(({ request: r }) => r.path.length === 0 && r.method === 'POST');
  if (nested) throw new FhirError('invalid', `Bundle.entry[${nested.index}] may not contain another batch or transaction`, { expression: [`Bundle.entry[${nested.index}].request.url`] });
  const results = bundle.type === 'batch' ? await runBatch(entries, context) : await runTransaction(entries, context);
  const response: Bundle = { resourceType: 'Bundle', type: bundle.type === 'batch' ? 'batch-response' : 'transaction-response', entry: results };
  return { status: 200, body: response as Resource };
}
