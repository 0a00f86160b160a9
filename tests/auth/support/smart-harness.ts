/**
 * What SMART tests need around the server: accounts and registered apps, a "browser" that follows redirects,
 * keeps cookies and fills in the sign-in and approval forms, and a SMART app served on loopback that uses the real
 * SMART JavaScript client (`fhirclient`, its Node entry) for authorize and ready.
 */
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import smart from 'fhirclient';
import type Client from 'fhirclient/lib/Client';
import type { FhirTestServer } from '../../support/fhir-server';
import { hashPassword } from '../../../src/auth/passwords';
import type { Persona } from '../../../src/auth/principal';

export interface TestAccount {
  readonly username: string;
  readonly password: string;
  readonly id: string;
}

let accountCounter = 0;

/** Inserts an account (password hashed as the server does). */
export async function createAccount(server: FhirTestServer, role: Persona, options: { fhirUser?: string; department?: string; language?: 'en' | 'es'; tenant?: string; status?: 'active' | 'inactive'; flags?: { breakGlass?: boolean; complianceReviewer?: boolean } } = {}): Promise<TestAccount> {
  const username = `${role}-${++accountCounter}-${randomBytes(3).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const id = `acct-${username}`;
  await server.db.collection('auth_accounts').insertOne({
    _id: id as never,
    username,
    passwordHash: await hashPassword(password),
    role,
    tenant: options.tenant ?? server.tenant,
    status: options.status ?? 'active',
    language: options.language ?? 'en',
    displayName: `Test ${role}`,
    ...(options.fhirUser ? { fhirUser: options.fhirUser } : {}),
    ...(options.department ? { department: options.department } : {}),
    ...options.flags,
  });
  return { username, password, id };
}

/** Registers an app through the management API with the suite's backend token; returns the registration response. */
export async function registerApp(server: FhirTestServer, registration: Record<string, unknown>): Promise<{ client_id: string; client_secret?: string } & Record<string, unknown>> {
  const response = await server.fetch(`${server.origin}/admin/clients`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(registration) });
  const body = (await response.json()) as { client_id: string; client_secret?: string };
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

export async function putResource(server: FhirTestServer, resource: { resourceType: string; id: string } & Record<string, unknown>): Promise<void> {
  const response = await server.fetch(`${server.baseUrl}/${resource.resourceType}/${resource.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) });
  if (response.status >= 300) throw new Error(`PUT ${resource.resourceType}/${resource.id}: ${response.status} ${await response.text()}`);
}

/** A cookie-keeping browser that does not follow redirects by itself. */
export class Browser {
  private readonly cookies = new Map<string, string>();
  language = 'en';

  async request(url: string, init: { method?: string; form?: Record<string, string | string[]> } = {}): Promise<{ status: number; location?: string; html: string; url: string; headers: Headers }> {
    const headers: Record<string, string> = { 'accept-language': this.language, accept: 'text/html' };
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(init.form)) for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, ...rest] = (pair ?? '').split('=');
      if (!name) continue;
      if (/expires=Thu, 01 Jan 1970/i.test(line) || rest.join('=') === '') this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), rest.join('='));
    }
    const location = response.headers.get('location') ?? undefined;
    return { status: response.status, ...(location ? { location: new URL(location, url).href } : {}), html: await response.text(), url, headers: response.headers };
  }

  /** Follows redirects while they stay on `origin`; returns the first response that is not a redirect there. */
  async follow(url: string, origin: string): Promise<{ status: number; location?: string; html: string; url: string; headers: Headers }> {
    let response = await this.request(url);
    for (let hops = 0; hops < 10 && response.location && response.location.startsWith(origin); hops++) response = await this.request(response.location);
    return response;
  }
}

export function formField(html: string, name: string): string | undefined {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
}

export function formAction(html: string, origin: string): string {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form in page: ${html.slice(0, 300)}`);
  return new URL(action.replace(/&amp;/g, '&'), origin).href;
}

export interface Approval {
  /** Patient id to pick when the page offers a choice. */
  readonly patient?: string;
  /** Scopes to leave checked (default: all offered). */
  readonly scopes?: readonly string[];
}

/**
 * From an authorization URL to the redirect back to the app: signs in (when asked) and approves. Returns the final
 * redirect (to the app) and the pages seen.
 */
export async function signInAndApprove(browser: Browser, authorizeUrl: string, origin: string, account: TestAccount, approval: Approval = {}): Promise<{ redirect: URL; approvalPage: string }> {
  let page = await browser.follow(authorizeUrl, origin);
  if (page.html.includes('name="password"')) {
    page = await browser.request(formAction(page.html, origin), { form: { csrf: formField(page.html, 'csrf') ?? '', username: account.username, password: account.password } });
    if (!page.location) throw new Error(`sign-in failed (${page.status}): ${page.html.slice(0, 500)}`);
    page = await browser.follow(page.location, origin);
  }
  if (page.location) return { redirect: new URL(page.location), approvalPage: '' };
  const approvalPage = page.html;
  const offered = [...approvalPage.matchAll(/name="scope" id="[^"]+" value="([^"]+)"/g)].map((m) => (m[1] as string).replace(/&amp;/g, '&'));
  const form: Record<string, string | string[]> = { csrf: formField(approvalPage, 'csrf') ?? '', scope: approval.scopes ? offered.filter((s) => approval.scopes?.includes(s)) : offered };
  if (approval.patient) form.patient = approval.patient;
  const confirmed = await browser.request(formAction(approvalPage, origin), { form });
  if (!confirmed.location) throw new Error(`approval failed (${confirmed.status}): ${confirmed.html.slice(0, 500)}`);
  const final = await browser.follow(confirmed.location, origin);
  if (!final.location) throw new Error(`no redirect to the app (${final.status}): ${final.html.slice(0, 500)}`);
  return { redirect: new URL(final.location), approvalPage };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A SMART app on loopback driven by fhirclient: /launch starts authorize, /callback completes it. */
export interface SmartApp {
  readonly origin: string;
  readonly redirectUri: string;
  readonly launchUrl: string;
  /** The fhirclient Client of the last completed callback. */
  lastClient(): Client | undefined;
  /** What the callback page showed (set by `onReady`). */
  configure(options: AppSettings): void;
  stop(): Promise<void>;
}

export interface AppSettings {
  readonly clientId: string;
  readonly scope: string;
  /** The FHIR base for a standalone launch (an EHR launch brings its own iss). */
  readonly iss: string;
  readonly clientSecret?: string;
  /** Renders the callback page from the ready client. */
  readonly onReady?: (client: Client) => Promise<string>;
}

export async function startSmartApp(): Promise<SmartApp> {
  let settings: AppSettings | undefined;
  let client: Client | undefined;
  const session: Record<string, unknown> = {};
  const server = http.createServer((req, res) => {
    (req as unknown as { session: Record<string, unknown> }).session = session;
    const url = new URL(req.url ?? '/', 'http://app');
    const fail = (error: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`app error: ${error.message}`);
    };
    if (url.pathname === '/launch' && settings) {
      smart(req, res)
        .authorize({ clientId: settings.clientId, scope: settings.scope, redirectUri: '/callback', pkceMode: 'required', ...(settings.clientSecret ? { clientSecret: settings.clientSecret } : {}), iss: settings.iss })
        .catch(fail);
      return;
    }
    if (url.pathname === '/callback' && settings) {
      smart(req, res)
        .ready()
        .then(async (ready) => {
          client = ready;
          const html = settings?.onReady ? await settings.onReady(ready) : 'ready';
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(`<!DOCTYPE html><html lang="en"><head><title>Demo app</title></head><body><main>${html}</main></body></html>`);
        })
        .catch(fail);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    redirectUri: `${origin}/callback`,
    launchUrl: `${origin}/launch`,
    lastClient: () => client,
    configure: (options) => {
      settings = options;
      client = undefined;
      for (const key of Object.keys(session)) delete session[key];
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
