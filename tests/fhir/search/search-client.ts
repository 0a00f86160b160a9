/**
 * What the search suites share: a client that writes fixtures and runs searches over HTTP exactly as written in the
 * specification (search.html), with the value escaping of search.html#escaping kept intact, and the assertions on
 * a 400's OperationOutcome (search.html#errors: "Where the content of the parameter is syntactically incorrect,
 * servers SHOULD return an error").
 */
import { randomBytes } from 'node:crypto';
import type { Bundle, BundleEntry, OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { FhirTestServer } from '../../support/fhir-server';

/** A suffix that makes a suite's values its own (identifiers, URLs, tags). */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * Percent-encodes what a URL query cannot carry as is (`+` of a time-zone offset, space, `&`, `=`, `#`, `%`, `\`,
 * non-ASCII), leaving `:`, `|`, `$`, `,` and `/` readable as clients usually send them.
 */
function encodeQueryPart(part: string): string {
  return encodeURIComponent(part).replace(/%(3A|7C|24|2C|2F)/gi, (escaped) => decodeURIComponent(escaped));
}

/** `Patient?family=Smith\,Jones&birthdate=ge1974` as the spec prints it, encoded per name and value. */
export function searchUrl(baseUrl: string, query: string): string {
  const question = query.indexOf('?');
  if (question < 0) return `${baseUrl}/${query}`;
  const path = query.slice(0, question);
  const pairs = query
    .slice(question + 1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      const value = equals < 0 ? '' : pair.slice(equals + 1);
      return `${encodeQueryPart(name)}=${encodeQueryPart(value)}`;
    });
  return `${baseUrl}/${path}?${pairs.join('&')}`;
}

export interface SearchClient {
  /** Creates a resource (201 expected) and returns it as stored. */
  create<T extends Resource>(resource: T): Promise<T & { id: string }>;
  /** Runs a search that must succeed and returns the searchset Bundle. */
  search(query: string, headers?: Record<string, string>): Promise<Bundle>;
  /** The ids of the `match` entries, sorted; fails when the result has a next page (raise _count). */
  ids(query: string, headers?: Record<string, string>): Promise<string[]>;
  /** Runs a search that must fail with `status` and returns its OperationOutcome. */
  fails(query: string, status?: number, headers?: Record<string, string>): Promise<OperationOutcome>;
}

export function searchClient(server: FhirTestServer): SearchClient {
  const get = (query: string, headers: Record<string, string> = {}) => server.fetch(searchUrl(server.baseUrl, query), { headers });
  const search = async (query: string, headers: Record<string, string> = {}): Promise<Bundle> => {
    const response = await get(query, headers);
    const body = (await response.json()) as Bundle | OperationOutcome;
    if (response.status !== 200) throw new Error(`GET ${query} answered ${response.status}: ${JSON.stringify(body)}`);
    expect(body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    return body as Bundle;
  };
  return {
    async create<T extends Resource>(resource: T): Promise<T & { id: string }> {
      const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(resource),
      });
      const body = (await response.json()) as T & { id: string };
      if (response.status !== 201) throw new Error(`create ${resource.resourceType} answered ${response.status}: ${JSON.stringify(body)}`);
      return body;
    },
    search,
    async ids(query, headers) {
      const bundle = await search(query, headers);
      expect(bundle.link?.find((l) => l.relation === 'next')).toBeUndefined();
      return matches(bundle)
        .map((entry) => entry.resource?.id as string)
        .sort();
    },
    async fails(query, status = 400, headers = {}) {
      const response = await get(query, headers);
      const body = (await response.json()) as OperationOutcome;
      expect({ status: response.status, resourceType: body.resourceType }).toEqual({ status, resourceType: 'OperationOutcome' });
      return body;
    },
  };
}

/** The entries a search matched (entry.search.mode = match). */
export function matches(bundle: Bundle): BundleEntry[] {
  return (bundle.entry ?? []).filter((entry) => entry.search?.mode === 'match');
}

/** Sorted ids of the given resources, to compare with SearchClient.ids. */
export function idsOf(...resources: readonly { id?: string }[]): string[] {
  return resources.map((r) => r.id as string).sort();
}

/**
 * The first issue of a rejected search: an error of IssueType `invalid` that names the parameter in `expression`
 * and in its text, with every fragment of `mentions` in the text.
 */
export function expectInvalidParameter(outcome: OperationOutcome, parameter: string, ...mentions: string[]): OperationOutcomeIssue {
  const issue = outcome.issue[0] as OperationOutcomeIssue;
  expect(issue).toMatchObject({ severity: 'error', code: 'invalid', expression: [parameter] });
  expect(issue.diagnostics).toContain(`'${parameter}'`);
  for (const mention of mentions) expect(issue.diagnostics).toContain(mention);
  return issue;
}
