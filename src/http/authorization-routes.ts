/**
 * The authorization server on Koa: the pages people see during an authorization request (sign-in, patient choice
 * and approval; oidc-provider "interactions") and, for everything else under the mount, oidc-provider itself
 * (its own Koa app, given the raw request with the mount path stripped, as Express-style mounting expects).
 * Forms carry a CSRF token bound to the interaction; responses forbid framing. A request for emergency access
 * (break-glass) asks a signed-in person for their password again, then for the purpose and reason on its approval
 * page, and keeps the sign-in result with the approval (auth/authorization-server.ts BREAK_GLASS_CHECKS). An account
 * that has not accepted its organization's current terms of use and privacy policy is shown them after signing in
 * (POLICY_PROMPT) and accepts or declines; the answer is audited and recorded, and kept with the rest of the request.
 */
import type { Context, Middleware } from 'koa';
import type { Interaction } from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { AuthRecords, Language, AccountRecord } from '../auth/auth-records';
import { BREAK_GLASS_CHECKS, POLICY_PROMPT, type AuthorizationServer, type PolicyResult } from '../auth/authorization-server';
import type { ServerKeys } from '../auth/server-keys';
import { checkCsrfToken, csrfToken } from '../auth/server-keys';
import { signIn } from '../auth/sign-in';
import { approveLaunch, prepareApproval, type Approval, type ApprovalDependencies } from '../auth/approve-launch';
import { describeScope, renderApprovalPage, renderErrorPage, renderLoginPage, renderPolicyPage, renderReauthenticationPage, type FieldError } from '../auth/pages';
import type { OrganizationPolicies } from '../auth/organization-policies';
import { pageTexts, type PageTexts } from '../auth/page-texts';
import { BREAK_GLASS_SCOPE, EMERGENCY_PURPOSES, readStatement, REASON_LENGTH, type BreakGlassStatement, type StatementProblem } from '../auth/break-glass';
import { parseScope, permissionLetters } from '../auth/smart-scopes';
import { readJsonBody } from './read-json-body';

export interface AuthorizationRoutesOptions {
  readonly mountPath: string;
  readonly server: AuthorizationServer;
  readonly records: AuthRecords;
  readonly keys: ServerKeys;
  readonly approval: ApprovalDependencies;
  /** The style document handed to apps as smart_style_url. */
  readonly smartStyle: Record<string, unknown>;
  /** The lifetime of emergency-access tokens, in seconds (told on the approval page). */
  readonly breakGlassTokenSeconds: number;
  /** The organizations' terms of use and privacy policy: the version to show and where answers are recorded. */
  readonly policies: OrganizationPolicies;
}

const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]{10,64})(?:\/(login|policy|confirm|abort))?$/;
const FORM_LIMIT = 16 * 1024;

function language(ctx: Context, interaction?: Interaction, account?: AccountRecord): Language {
  if (account) return account.language;
  const ui = typeof interaction?.params.ui_locales === 'string' ? interaction.params.ui_locales.split(' ')[0] : undefined;
  if (ui === 'es' || ui === 'en') return ui;
  return ctx.acceptsLanguages('en', 'es') === 'es' ? 'es' : 'en';
}

function sendHtml(ctx: Context, status: number, html: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
  ctx.set('X-Frame-Options', 'DENY');
  ctx.body = html;
}

function statementError(t: PageTexts, problem: StatementProblem): FieldError {
  if (problem.field === 'purpose') return { field: 'purpose', message: problem.problem === 'missing' ? t.purposeRequired : t.purposeUnknown };
  const message = { missing: t.reasonRequired, short: t.reasonShort(REASON_LENGTH.min), long: t.reasonLong(REASON_LENGTH.max), characters: t.reasonCharacters }[problem.problem];
  return { field: 'reason', message };
}

async function readForm(ctx: Context): Promise<URLSearchParams> {
  const type = ctx.get('content-type').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return new URLSearchParams();
  return new URLSearchParams(String(await readJsonBody(ctx.req, FORM_LIMIT, { raw: true })));
}

/**
 * SMART apps ask for offline_access without prompt=consent, and oidc-provider drops offline_access unless consent is
 * prompted; the approval page is always shown, so consent is requested explicitly (never with prompt=none). A
 * SMART authorize-post form (authorize-post capability) is handed over as the equivalent GET request.
 */
async function prepareAuthorizationRequest(ctx: Context, req: Context['req']): Promise<void> {
  let params: URLSearchParams;
  if (ctx.method === 'POST') {
    const type = ctx.get('content-type').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return;
    params = new URLSearchParams(String(await readJsonBody(ctx.req, FORM_LIMIT, { raw: true })));
    req.method = 'GET';
  } else {
    params = new URLSearchParams(ctx.querystring);
  }
  const scopes = (params.get('scope') ?? '').split(' ');
  const prompts = (params.get('prompt') ?? '').split(' ').filter(Boolean);
  if (scopes.includes('offline_access') && !prompts.includes('consent') && !prompts.includes('none')) params.set('prompt', [...prompts, 'consent'].join(' '));
  req.url = `/auth?${params.toString()}`;
}

export function authorizationRoutes(options: AuthorizationRoutesOptions): Middleware {
  const { server, records, keys, approval } = options;
  const mount = options.mountPath.replace(/\/$/, '');
  const provider = server.provider;
  const callback = provider.callback();
  const styleBody = JSON.stringify(options.smartStyle);

  /**
   * Hands the interaction result to oidc-provider and sends the browser back to the authorization endpoint.
   * `keepSignIn` keeps this request's sign-in with the result (emergency access requires both in one request).
   */
  async function finish(ctx: Context, result: Record<string, unknown>, keepSignIn = false): Promise<void> {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: keepSignIn });
    ctx.redirect(returnTo);
    ctx.status = 303;
  }

  async function approvalPage(ctx: Context, interaction: Interaction, account: AccountRecord, state: Approval & { kind: 'ask' }, errors: FieldError[], status: number, entered: { purpose?: string; reason?: string } = {}): Promise<void> {
    const t = pageTexts(account.language);
    const uid = interaction.uid;
    const breakGlass = state.breakGlass
      ? {
          seconds: options.breakGlassTokenSeconds,
          purposes: Object.entries(EMERGENCY_PURPOSES).map(([code, label]) => ({ code, label: label[account.language] })),
          reasonLength: REASON_LENGTH,
          ...(entered.purpose !== undefined ? { purpose: entered.purpose } : {}),
          ...(entered.reason !== undefined ? { reason: entered.reason } : {}),
        }
      : undefined;
    sendHtml(
      ctx,
      status,
      renderApprovalPage({
        language: account.language,
        action: `${mount}/interaction/${uid}/confirm`,
        abortAction: `${mount}/interaction/${uid}/abort`,
        csrf: csrfToken(keys, uid, 'confirm'),
        appName: state.clientName,
        userName: account.displayName,
        ...(state.fixedPatient ? { fixedPatient: { label: state.fixedPatient.label, own: state.fixedPatient.own } } : {}),
        ...(state.choices ? { patients: state.choices } : {}),
        ...(breakGlass ? { breakGlass } : {}),
        // The emergency access itself is the subject of the page, not one of the permissions to clear.
        scopes: state.scopes.filter((value) => value !== BREAK_GLASS_SCOPE).map((value) => {
          const parsed = parseScope(value);
          const resource = parsed.kind === 'resource' ? { context: parsed.scope.context, resourceType: parsed.scope.resourceType, letters: permissionLetters(parsed.scope), ...(parsed.scope.query ? { query: parsed.scope.query } : {}) } : undefined;
          return { value, label: describeScope(t, value, resource) };
        }),
        errors,
      }),
    );
  }

  async function signedInAccount(interaction: Interaction): Promise<AccountRecord | undefined> {
    const accountId = interaction.session?.accountId;
    return accountId ? ((await records.accounts.findById(accountId).lean()) ?? undefined) : undefined;
  }

  async function clientName(interaction: Interaction): Promise<string> {
    const client = await records.clients.findById(interaction.params.client_id).lean();
    return client?.name ?? String(interaction.params.client_id);
  }

  async function handleInteraction(ctx: Context, uid: string, action: string | undefined): Promise<void> {
    let interaction: Interaction;
    try {
      interaction = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      sendHtml(ctx, 400, renderErrorPage(language(ctx), 'invalid_request', 'this sign-in page has expired or belongs to another browser; start again from the application'));
      return;
    }
    if (interaction.uid !== uid) {
      sendHtml(ctx, 400, renderErrorPage(language(ctx), 'invalid_request', 'this sign-in page belongs to another request'));
      return;
    }
    if (action !== undefined && ctx.method !== 'POST') {
      ctx.status = 405;
      ctx.set('Allow', 'POST');
      return;
    }
    const form = action ? await readForm(ctx) : new URLSearchParams();
    if (action && !checkCsrfToken(keys, uid, action === 'abort' ? 'confirm' : action, form.get('csrf'))) {
      sendHtml(ctx, 403, renderErrorPage(language(ctx, interaction), 'invalid_request', 'the form is missing its security token; reload the page and try again'));
      return;
    }
    if (action === 'abort') {
      await finish(ctx, { error: 'access_denied', error_description: 'the user denied the request' });
      return;
    }
    if (interaction.prompt.name === 'login') {
      const emergency = interaction.prompt.reasons.includes(BREAK_GLASS_CHECKS.reauthentication);
      const current = emergency ? await signedInAccount(interaction) : undefined;
      if (current && current.status === 'active') return reauthenticate(ctx, interaction, current, action, form);
      const lang = language(ctx, interaction);
      const t = pageTexts(lang);
      const render = async (status: number, errors: FieldError[], username?: string) =>
        sendHtml(ctx, status, renderLoginPage({ language: lang, action: `${mount}/interaction/${uid}/login`, csrf: csrfToken(keys, uid, 'login'), appName: await clientName(interaction), errors, emergency, ...(username !== undefined ? { username } : {}) }));
      if (action === undefined) return render(200, []);
      if (action !== 'login') return render(409, []);
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      const missing: FieldError[] = [];
      if (!username.trim()) missing.push({ field: 'username', message: t.usernameRequired });
      if (!password) missing.push({ field: 'password', message: t.passwordRequired });
      if (missing.length > 0) return render(400, missing, username);
      const outcome = await signIn(records, username, password, ctx.ip);
      if (outcome.kind === 'throttled') return render(429, [{ field: 'username', message: t.throttled(outcome.minutes) }], username);
      if (outcome.kind === 'invalid') return render(401, [{ field: 'username', message: t.badCredentials }], username);
      await finish(ctx, { login: { accountId: outcome.account._id } });
      return;
    }
    const account = await signedInAccount(interaction);
    if (!account || account.status !== 'active') {
      await finish(ctx, { error: 'login_required', error_description: 'the account is not active' });
      return;
    }
    if (interaction.prompt.name === POLICY_PROMPT) return answerPolicy(ctx, interaction, account, action, form);
    const state = await prepareApproval(approval, interaction, account);
    if (state.kind === 'refuse') {
      await finish(ctx, { error: 'access_denied', error_description: state.description });
      return;
    }
    if (action === undefined) return approvalPage(ctx, interaction, account, state, [], 200);
    if (action !== 'confirm') return approvalPage(ctx, interaction, account, state, [], 409);
    const patient = form.get('patient') ?? undefined;
    let breakGlass: BreakGlassStatement | undefined;
    if (state.breakGlass) {
      const entered = { purpose: form.get('purpose') ?? '', reason: form.get('reason') ?? '' };
      const read = readStatement(form.get('purpose'), form.get('reason'));
      if ('problems' in read) {
        const t = pageTexts(account.language);
        const errors = read.problems.map((problem) => statementError(t, problem));
        if (state.choices && !state.choices.some((choice) => choice.id === patient)) errors.unshift({ field: 'patient', message: t.patientRequired });
        return approvalPage(ctx, interaction, account, state, errors, 400, entered);
      }
      breakGlass = read.statement;
    }
    const grantId = await approveLaunch(approval, interaction, account, state, { scopes: form.getAll('scope'), ...(patient ? { patient } : {}), ...(breakGlass ? { breakGlass } : {}) });
    if (grantId === 'patient-required') {
      return approvalPage(ctx, interaction, account, state, [{ field: 'patient', message: pageTexts(account.language).patientRequired }], 400, breakGlass ?? {});
    }
    // The policy answered in this request stays with the result, or the policy check would ask for it again.
    const answeredPolicy = (interaction.lastSubmission as PolicyResult | undefined)?.organizationPolicy !== undefined;
    await finish(ctx, { consent: { grantId } }, state.breakGlass === true || answeredPolicy);
  }

  /**
   * The organization's current policy version, answered with Accept or Decline. The form names the version shown, so
   * an answer never applies to a version published while the person was reading. The answer is audited and recorded
   * before the request goes on, keeping this request's sign-in (emergency access needs it with the approval).
   */
  async function answerPolicy(ctx: Context, interaction: Interaction, account: AccountRecord, action: string | undefined, form: URLSearchParams): Promise<void> {
    const uid = interaction.uid;
    const t = pageTexts(account.language);
    const [version, standing] = await Promise.all([options.policies.currentFor(account), options.policies.standingOf(account)]);
    if (!version || !standing) {
      await finish(ctx, {}, true);
      return;
    }
    const render = (status: number, errors: FieldError[]) =>
      sendHtml(
        ctx,
        status,
        renderPolicyPage({
          language: account.language,
          action: `${mount}/interaction/${uid}/policy`,
          csrf: csrfToken(keys, uid, 'policy'),
          userName: account.displayName,
          version: { id: version._id, number: version.version, title: version.title[account.language], text: version.text[account.language], publishedAt: version.publishedAt },
          declinedBefore: standing.status === 'declined',
          errors,
        }),
      );
    if (action === undefined) return render(200, []);
    if (action !== 'policy') return render(409, []);
    const answer = form.get('decision');
    if (answer !== 'accept' && answer !== 'decline') return render(400, [{ field: 'decision', message: t.policyDecisionRequired }]);
    if (form.get('version') !== version._id) return render(409, [{ field: 'decision', message: t.policyChanged }]);
    const decision = answer === 'accept' ? 'accepted' : 'declined';
    try {
      await options.policies.answer(account, version, decision, { clientId: String(interaction.params.client_id), clientAddress: ctx.ip, requestId: ctx.state.requestId });
    } catch (error) {
      ctx.state.log.error({ err: error }, 'recording an answer to the organization policy failed');
      sendHtml(ctx, 503, renderErrorPage(account.language, 'temporarily_unavailable', t.policyUnavailable));
      return;
    }
    await finish(ctx, { organizationPolicy: { versionId: version._id, decision } } satisfies PolicyResult, true);
  }

  /** Emergency access with a live session: the signed-in person's password again, throttled like any sign-in. */
  async function reauthenticate(ctx: Context, interaction: Interaction, account: AccountRecord, action: string | undefined, form: URLSearchParams): Promise<void> {
    const uid = interaction.uid;
    const t = pageTexts(account.language);
    const render = async (status: number, errors: FieldError[]) =>
      sendHtml(ctx, status, renderReauthenticationPage({ language: account.language, action: `${mount}/interaction/${uid}/login`, csrf: csrfToken(keys, uid, 'login'), appName: await clientName(interaction), userName: account.displayName, errors }));
    if (action === undefined) return render(200, []);
    if (action !== 'login') return render(409, []);
    const password = form.get('password') ?? '';
    if (!password) return render(400, [{ field: 'password', message: t.passwordRequired }]);
    const outcome = await signIn(records, account.username, password, ctx.ip);
    if (outcome.kind === 'throttled') return render(429, [{ field: 'password', message: t.throttled(outcome.minutes) }]);
    if (outcome.kind === 'invalid') return render(401, [{ field: 'password', message: t.badPassword }]);
    await finish(ctx, { login: { accountId: outcome.account._id } });
  }

  return async (ctx, next) => {
    if (ctx.path !== mount && !ctx.path.startsWith(`${mount}/`)) return next();
    const rest = ctx.path.slice(mount.length);
    const interaction = INTERACTION.exec(rest);
    if (interaction) return handleInteraction(ctx, interaction[1] as string, interaction[2]);
    if (rest === '/smart-style.json' && ctx.method === 'GET') {
      ctx.set('Access-Control-Allow-Origin', '*');
      ctx.type = 'application/json';
      ctx.body = styleBody;
      return;
    }
    const req = ctx.req as typeof ctx.req & { originalUrl?: string };
    req.url = (req.url ?? '/').slice(mount.length) || '/';
    if (!req.url.startsWith('/')) req.url = `/${req.url}`;
    if (rest === '/auth') await prepareAuthorizationRequest(ctx, req);
    // oidc-provider finds its mount path (for the URLs it builds) as originalUrl minus url.
    req.originalUrl = `${mount}${req.url}`;
    ctx.respond = false;
    await callback(ctx.req, ctx.res);
    // The response is written; keep the outer error renderer from treating this as unmatched.
    ctx.body = null;
  };
}
