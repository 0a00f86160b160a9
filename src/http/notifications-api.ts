/**
 * The notifications API (JSON, bearer-authenticated like the management API in admin-api.ts):
 * - an account reads its in-app inbox and marks items read (scope `notifications:inbox`, any persona, user tokens);
 * - the organization's administrators (scope `notifications:admin`: org-admin accounts, or a backend client of the
 *   organization registered with it) send notifications, read the notification log (filters: topic, status,
 *   notification, since, until), export it as CSV or NDJSON, retry failed, bounced or undeliverable deliveries,
 *   and set the organization's default language (requirements seed 000 2.8, 3.3, 5.2).
 * Errors are OperationOutcomes whose diagnostics follow Accept-Language (English or Spanish).
 */
import { Readable } from 'node:stream';
import type { Context, Middleware } from 'koa';
import type { Language } from '../auth/auth-records';
import type { AuthorizationServer } from '../auth/authorization-server';
import type { Principal } from '../auth/principal';
import { verifyAccessToken } from '../auth/verify-access-token';
import { FhirError } from '../errors';
import type { DeliveryWorker } from '../notifications/deliver-notifications';
import { DELIVERY_STATUSES, type DeliveryStatus, type NotificationRecords } from '../notifications/notification-records';
import { CSV_COLUMNS, csvLine, exportLog, InvalidPositionError, markAllRead, markRead, readInbox, readLog, readNotification, retryDeliveries, type LogFilter, type RetryRefusal } from '../notifications/notification-log';
import { checkNotificationRequest, NotificationRequestError, TOPIC_PATTERN, type RecordingOutbox } from '../notifications/outbox';
import { readJsonBody } from './read-json-body';
import { preferredLanguage } from './render-errors';

export interface NotificationsApiOptions {
  readonly mountPath: string;
  readonly server: AuthorizationServer;
  readonly records: NotificationRecords;
  readonly outbox: Pick<RecordingOutbox, 'record'>;
  readonly worker: Pick<DeliveryWorker, 'wake' | 'checkSettled'>;
  readonly now?: () => Date;
}

interface Text {
  readonly en: string;
  readonly es: string;
}

/** A refusal of this API: status, FHIR issue type, the text in both languages, and the offending field. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly issueCode: string,
    readonly text: Text,
    readonly expression?: string,
  ) {
    super(text.en);
  }
}

const INBOX_SCOPE = 'notifications:inbox';
const ADMIN_SCOPE = 'notifications:admin';
const PAGE = { inbox: { default: 20, max: 100 }, log: { default: 50, max: 500 } } as const;
const ID = /^[A-Za-z0-9\-.]{1,100}$/;

function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = JSON.stringify(body);
}

function badRequest(en: string, es: string, expression?: string): ApiError {
  return new ApiError(400, 'invalid', { en, es }, expression);
}

/** Query parameters, refusing any this endpoint does not know (a misspelt filter must not widen a result). */
function queryOf(ctx: Context, allowed: readonly string[]): Map<string, string> {
  const params = new URLSearchParams(ctx.querystring);
  const values = new Map<string, string>();
  for (const [name, value] of params) {
    if (!allowed.includes(name)) throw badRequest(`unknown parameter '${name}' (allowed: ${allowed.join(', ') || 'none'})`, `parámetro desconocido '${name}' (permitidos: ${allowed.join(', ') || 'ninguno'})`, name);
    if (values.has(name)) throw badRequest(`parameter '${name}' is repeated`, `el parámetro '${name}' está repetido`, name);
    values.set(name, value);
  }
  return values;
}

function countOf(query: Map<string, string>, limits: { default: number; max: number }): number {
  const raw = query.get('_count');
  if (raw === undefined) return limits.default;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > limits.max) throw badRequest(`_count must be an integer from 1 to ${limits.max}`, `_count debe ser un entero de 1 a ${limits.max}`, '_count');
  return Number(raw);
}

function instantOf(query: Map<string, string>, name: string): Date | undefined {
  const raw = query.get(name);
  if (raw === undefined) return undefined;
  const valid = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(raw) && !Number.isNaN(Date.parse(raw));
  if (!valid) throw badRequest(`${name} must be a date (2026-03-01) or an instant with its time zone (2026-03-01T08:00:00Z)`, `${name} debe ser una fecha (2026-03-01) o un instante con su zona horaria (2026-03-01T08:00:00Z)`, name);
  return new Date(raw);
}

function logFilterOf(query: Map<string, string>): LogFilter {
  const topic = query.get('topic');
  if (topic !== undefined && !TOPIC_PATTERN.test(topic)) throw badRequest('topic must be a topic code such as consent-revoked', 'topic debe ser un código de tema como consent-revoked', 'topic');
  const status = query.get('status');
  if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status)) throw badRequest(`status must be one of ${DELIVERY_STATUSES.join(', ')}`, `status debe ser uno de ${DELIVERY_STATUSES.join(', ')}`, 'status');
  const notification = query.get('notification');
  if (notification !== undefined && !ID.test(notification)) throw badRequest('notification must be a notification id', 'notification debe ser un id de notificación', 'notification');
  const since = instantOf(query, 'since');
  const until = instantOf(query, 'until');
  if (since && until && since >= until) throw badRequest('since must be before until', 'since debe ser anterior a until', 'since');
  return { ...(topic ? { topic } : {}), ...(status ? { status: status as DeliveryStatus } : {}), ...(notification ? { notification } : {}), ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

async function readBody(ctx: Context): Promise<Record<string, unknown>> {
  if ((ctx.get('content-type').split(';')[0] ?? '').trim().toLowerCase() !== 'application/json') throw new ApiError(415, 'not-supported', { en: 'send the body as application/json', es: 'envíe el cuerpo como application/json' });
  let body: unknown;
  try {
    body = await readJsonBody(ctx.req, 4 * 1024 * 1024);
  } catch (error) {
    if (error instanceof FhirError) throw new ApiError(error.status, error.issues[0]?.code ?? 'invalid', { en: error.message, es: error.message });
    throw error;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object', 'el cuerpo debe ser un objeto JSON');
  return body as Record<string, unknown>;
}

const REFUSALS: Record<RetryRefusal, ApiError> = {
  'not-found': new ApiError(404, 'not-found', { en: 'no such notification or delivery in your organization', es: 'no existe esa notificación o entrega en su organización' }),
  'not-retryable': new ApiError(409, 'conflict', { en: 'only failed, bounced or undeliverable deliveries can be retried', es: 'solo se pueden reintentar entregas fallidas, rechazadas o no entregables' }),
  'no-channel': new ApiError(409, 'conflict', { en: 'this recipient has no channel to retry: contact them another way', es: 'este destinatario no tiene un canal que reintentar: contáctelo por otro medio' }),
};

export function notificationsApi(options: NotificationsApiOptions): Middleware {
  const mount = options.mountPath.replace(/\/$/, '');
  const { records } = options;
  const now = options.now ?? (() => new Date());
  const realm = `${options.server.issuer.replace(/\/auth$/, '')}${mount}`;

  async function authorize(ctx: Context, scope: typeof INBOX_SCOPE | typeof ADMIN_SCOPE): Promise<Principal> {
    const header = ctx.get('authorization');
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!match?.[1]) {
      ctx.set('WWW-Authenticate', header ? `Bearer realm="${realm}", error="invalid_request"` : `Bearer realm="${realm}"`);
      throw new ApiError(401, 'login', { en: 'a bearer access token is required', es: 'se requiere un token de acceso (bearer)' });
    }
    const verified = await verifyAccessToken(options.server, match[1]);
    if (!verified) {
      ctx.set('WWW-Authenticate', `Bearer realm="${realm}", error="invalid_token"`);
      throw new ApiError(401, 'login', { en: 'the access token is unknown, expired or revoked', es: 'el token de acceso es desconocido, caducó o fue revocado' });
    }
    // The audit stage (capture-management-audit.ts) records the request, refused or not, for this caller.
    ctx.state.principal = verified.principal;
    if (!verified.scopes.includes(scope)) {
      ctx.set('WWW-Authenticate', `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"`);
      throw new ApiError(403, 'forbidden', { en: `this operation needs the scope ${scope}`, es: `esta operación requiere el permiso ${scope}` });
    }
    const { principal } = verified;
    if (scope === INBOX_SCOPE && !principal.accountId) throw new ApiError(403, 'forbidden', { en: 'the inbox belongs to a person: use a token issued to a user', es: 'la bandeja pertenece a una persona: use un token emitido a un usuario' });
    // The role is checked again here: an account whose persona changed keeps tokens issued before.
    if (scope === ADMIN_SCOPE && principal.kind === 'user' && principal.role !== 'org-admin') {
      throw new ApiError(403, 'forbidden', { en: "only organization administrators manage the organization's notifications", es: 'solo los administradores de la organización gestionan sus notificaciones' });
    }
    return principal;
  }

  async function getInbox(ctx: Context): Promise<void> {
    const principal = await authorize(ctx, INBOX_SCOPE);
    const query = queryOf(ctx, ['_count', 'cursor', 'unread']);
    const unread = query.get('unread');
    if (unread !== undefined && unread !== 'true' && unread !== 'false') throw badRequest('unread must be true or false', 'unread debe ser true o false', 'unread');
    const cursor = query.get('cursor');
    const page = await readInbox(records, principal.tenant, principal.accountId as string, { unreadOnly: unread === 'true', count: countOf(query, PAGE.inbox), ...(cursor ? { cursor } : {}) });
    sendJson(ctx, 200, page);
  }

  async function postRead(ctx: Context, id: string): Promise<void> {
    const principal = await authorize(ctx, INBOX_SCOPE);
    queryOf(ctx, []);
    if (!(await markRead(records, principal.tenant, principal.accountId as string, id, now()))) throw new ApiError(404, 'not-found', { en: 'your inbox has no such item', es: 'su bandeja no tiene ese elemento' });
    sendJson(ctx, 200, { id, read: true });
  }

  async function postReadAll(ctx: Context): Promise<void> {
    const principal = await authorize(ctx, INBOX_SCOPE);
    queryOf(ctx, []);
    sendJson(ctx, 200, { marked: await markAllRead(records, principal.tenant, principal.accountId as string, now()) });
  }

  async function postNotification(ctx: Context): Promise<void> {
    const principal = await authorize(ctx, ADMIN_SCOPE);
    queryOf(ctx, []);
    const body = await readBody(ctx);
    if ('tenant' in body) throw badRequest('tenant is not sent: notifications go to your own organization', 'tenant no se envía: las notificaciones van a su propia organización', 'tenant');
    const id = await options.outbox.record(checkNotificationRequest({ ...body, tenant: principal.tenant }), { sentBy: principal.accountId ?? principal.clientId });
    ctx.set('Location', `${mount}/log/${id}`);
    sendJson(ctx, 202, { id });
  }

  async function getLog(ctx: Context): Promise<void> {
    const principal = await authorize(ctx, ADMIN_SCOPE);
    const query = queryOf(ctx, ['_count', 'cursor', 'topic', 'status', 'notification', 'since', 'until']);
    const cursor = query.get('cursor');
    const page = await readLog(records, principal.tenant, logFilterOf(query), { count: countOf(query, PAGE.log), language: preferredLanguage(ctx), ...(cursor ? { cursor } : {}) });
    sendJson(ctx, 200, page);
  }

  async function getExport(ctx: Context): Promise<void> {
    const principal = await authorize(ctx, ADMIN_SCOPE);
    const query = queryOf(ctx, ['format', 'topic', 'status', 'notification', 'since', 'until']);
    const format = query.get('format') ?? 'csv';
    if (format !== 'csv' && format !== 'ndjson') throw badRequest('format must be csv or ndjson', 'format debe ser csv o ndjson', 'format');
    const filter = logFilterOf(query);
    const language: Language = preferredLanguage(ctx);
    const entries = exportLog(records, principal.tenant, filter, language);
    async function* lines(): AsyncGenerator<string> {
      if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
      for await (const entry of entries) yield format === 'csv' ? `${csvLine(entry)}\r\n` : `${JSON.stringify(entry)}\n`;
    }
    ctx.status = 200;
    ctx.type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
    ctx.set('Content-Disposition', `attachment; filename="notification-log-${now().toISOString().slice(0, 10)}.${format}"`);
    ctx.body = Readable.from(lines());
  }

  async function getNotification(ctx: Context, id: string): Promise<void> {
    const principal = await authorize(ctx, ADMIN_SCOPE);
    queryOf(ctx, []);
    const notification = await readNotification(records, principal.tenant, id, preferredLanguage(ctx));
    if (!notification) throw REFUSALS['not-found'];
    sendJson(ctx, 200, notification);
  }

  async function retry(ctx: Context, target: { notification: string } | { delivery: string }): Promise<void> {
    const principal = await authorize(ctx, ADMIN_SCOPE);
    queryOf(ctx, []);
    const result = await retryDeliveries(records, principal.tenant, target, principal.accountId ?? principal.clientId, now());
    if (typeof result === 'string') throw REFUSALS[result];
    options.worker.wake();
    sendJson(ctx, 202, { queued: result });
  }

  async function getSettings(ctx: Context): Promise<void> {
    const principal = await authorize(ctx, ADMIN_SCOPE);
    queryOf(ctx, []);
    const settings = await records.settings.findById(principal.tenant).lean();
    sendJson(ctx, 200, { defaultLanguage: settings?.defaultLanguage ?? 'en' });
  }

  async function putSettings(ctx: Context): Promise<void> {
    const principal = await authorize(ctx, ADMIN_SCOPE);
    queryOf(ctx, []);
    const body = await readBody(ctx);
    const unknown = Object.keys(body).find((key) => key !== 'defaultLanguage');
    if (unknown !== undefined) throw badRequest(`unknown field '${unknown}'`, `campo desconocido '${unknown}'`, unknown);
    if (body.defaultLanguage !== 'en' && body.defaultLanguage !== 'es') throw badRequest('defaultLanguage must be en or es', 'defaultLanguage debe ser en o es', 'defaultLanguage');
    await records.settings.replaceOne({ _id: principal.tenant }, { _id: principal.tenant, defaultLanguage: body.defaultLanguage }, { upsert: true });
    sendJson(ctx, 200, { defaultLanguage: body.defaultLanguage });
  }

  type Handler = (ctx: Context, id: string) => Promise<void>;
  const routes: readonly { readonly pattern: RegExp; readonly methods: Readonly<Record<string, Handler>> }[] = [
    { pattern: /^\/inbox$/, methods: { GET: getInbox } },
    { pattern: /^\/inbox\/read$/, methods: { POST: postReadAll } },
    { pattern: /^\/inbox\/([^/]+)\/read$/, methods: { POST: postRead } },
    { pattern: /^$/, methods: { POST: postNotification } },
    { pattern: /^\/log$/, methods: { GET: getLog } },
    { pattern: /^\/log\/export$/, methods: { GET: getExport } },
    { pattern: /^\/log\/([^/]+)$/, methods: { GET: getNotification } },
    { pattern: /^\/log\/([^/]+)\/retry$/, methods: { POST: (ctx, id) => retry(ctx, { notification: id }) } },
    { pattern: /^\/deliveries\/([^/]+)\/retry$/, methods: { POST: (ctx, id) => retry(ctx, { delivery: id }) } },
    { pattern: /^\/settings$/, methods: { GET: getSettings, PUT: putSettings } },
  ];

  return async (ctx, next) => {
    if (ctx.path !== mount && !ctx.path.startsWith(`${mount}/`)) return next();
    const rest = ctx.path.slice(mount.length).replace(/\/$/, '');
    try {
      for (const route of routes) {
        const match = route.pattern.exec(rest);
        if (!match) continue;
        const handler = route.methods[ctx.method];
        if (!handler) {
          ctx.set('Allow', Object.keys(route.methods).join(', '));
          throw new ApiError(405, 'not-supported', { en: `${ctx.method} is not allowed here`, es: `${ctx.method} no está permitido aquí` });
        }
        const id = match[1] ?? '';
        if (match[1] !== undefined && !ID.test(id)) throw new ApiError(404, 'not-found', { en: 'no such item', es: 'no existe ese elemento' });
        return await handler(ctx, id);
      }
      throw new ApiError(404, 'not-found', { en: `no endpoint at ${ctx.path}`, es: `no hay ningún punto de acceso en ${ctx.path}` });
    } catch (error) {
      let refusal = error;
      if (error instanceof NotificationRequestError) refusal = new ApiError(400, 'invalid', { en: `${error.field}: ${error.text.en}`, es: `${error.field}: ${error.text.es}` }, error.field);
      if (error instanceof InvalidPositionError) refusal = badRequest('cursor is not one this server issued', 'cursor no es uno emitido por este servidor', 'cursor');
      if (!(refusal instanceof ApiError)) throw error;
      const language = preferredLanguage(ctx);
      sendJson(ctx, refusal.status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: refusal.issueCode, diagnostics: refusal.text[language], ...(refusal.expression ? { expression: [refusal.expression] } : {}) }] });
    }
  };
}
