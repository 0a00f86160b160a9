/**
 * Every setting of the server, declared as data (DESIGN.md example 9): environment variable, type, default and
 * one line of documentation. The same table validates the environment at start (failing fast with the
 * variable's name) and renders the settings table of README.md (a test keeps the two equal).
 */

type Kind = 'string' | 'integer' | 'boolean' | 'url' | 'enum';

interface SettingSpec {
  readonly env: string;
  readonly kind: Kind;
  readonly default: string | undefined;
  readonly doc: string;
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
}

export const SETTINGS = {
  port: { env: 'PORT', kind: 'integer', default: '8080', min: 0, doc: 'TCP port of the HTTP server (0 picks a free port).' },
  host: { env: 'HOST', kind: 'string', default: '0.0.0.0', doc: 'Interface the HTTP server listens on.' },
  publicUrl: { env: 'PUBLIC_URL', kind: 'url', default: undefined, doc: 'Public origin clients use (e.g. https://fhir.example.org); default http://localhost:PORT.' },
  mongodbUri: { env: 'MONGODB_URI', kind: 'url', default: undefined, doc: 'MongoDB connection string (a replica set in production); unset starts the embedded engine.' },
  dataDir: { env: 'DATA_DIR', kind: 'string', default: './data', doc: 'Directory of the embedded engine\'s journal and snapshots (used only without MONGODB_URI).' },
  dbName: { env: 'DB_NAME', kind: 'string', default: 'fhir', doc: 'Database name.' },
  embeddedFsync: { env: 'EMBEDDED_FSYNC', kind: 'boolean', default: 'true', doc: 'fdatasync the embedded journal before acknowledging writes (false still survives a killed process).' },
  embeddedMaxHeapMb: { env: 'EMBEDDED_MAX_HEAP_MB', kind: 'integer', default: '4096', min: 256, doc: 'Heap limit of the embedded engine\'s thread in MiB; it keeps every document in memory.' },
  logLevel: { env: 'LOG_LEVEL', kind: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level of the JSON logs.' },
  shutdownTimeoutMs: { env: 'SHUTDOWN_TIMEOUT_MS', kind: 'integer', default: '10000', min: 0, doc: 'How long in-flight requests may take to finish on SIGTERM/SIGINT.' },
  maxBodyBytes: { env: 'MAX_BODY_BYTES', kind: 'integer', default: '16777216', min: 1024, doc: 'Largest accepted request body in bytes (413 beyond).' },
  defaultCount: { env: 'DEFAULT_PAGE_SIZE', kind: 'integer', default: '20', min: 1, doc: 'Entries per page when a client gives no _count.' },
  maxCount: { env: 'MAX_PAGE_SIZE', kind: 'integer', default: '1000', min: 1, doc: 'Largest _count honoured; larger values are reduced to it.' },
  conditionalDeleteMultiple: { env: 'CONDITIONAL_DELETE_MULTIPLE', kind: 'boolean', default: 'false', doc: 'Let a conditional delete remove every match (otherwise several matches are 412).' },
  defaultTenant: { env: 'DEFAULT_TENANT', kind: 'string', default: 'default', doc: 'Organization (tenant) of the demo seed; every request\'s tenant comes from its access token.' },
  seedDemo: { env: 'SEED_DEMO', kind: 'boolean', default: 'true', doc: 'Load the demo organization, accounts and apps of seed/demo.json into an empty database at start.' },
  notifyEmailRelayUrl: { env: 'NOTIFY_EMAIL_RELAY_URL', kind: 'url', default: undefined, doc: 'HTTP relay that sends notification emails (README "Notifications"); unset: email deliveries are recorded as undeliverable.' },
  notifySmsRelayUrl: { env: 'NOTIFY_SMS_RELAY_URL', kind: 'url', default: undefined, doc: 'HTTP relay that sends notification SMS (README "Notifications"); unset: SMS deliveries are recorded as undeliverable.' },
  notifyRelayToken: { env: 'NOTIFY_RELAY_TOKEN', kind: 'string', default: undefined, doc: 'Bearer token sent to the notification relays (a secret: never logged).' },
  notifyMaxAttempts: { env: 'NOTIFY_MAX_ATTEMPTS', kind: 'integer', default: '6', min: 1, doc: 'Attempts of a notification delivery before it is marked failed (staff may then retry it).' },
  notifyRetryDelayMs: { env: 'NOTIFY_RETRY_DELAY_MS', kind: 'integer', default: '30000', min: 0, doc: 'Delay before retrying a failed notification delivery; each further delay is 3 times longer, plus up to 20% at random.' },
  breakGlassTokenSeconds: { env: 'BREAK_GLASS_TOKEN_SECONDS', kind: 'integer', default: '900', min: 10, max: 14400, doc: 'Lifetime of an emergency-access (break-the-glass) token in seconds; the override ends with it (never refreshed).' },
} as const satisfies Record<string, SettingSpec>;

type Settings = typeof SETTINGS;
type ValueOf<S extends SettingSpec> = S['kind'] extends 'integer' ? number : S['kind'] extends 'boolean' ? boolean : string;

/** The validated configuration; optional settings without a default are undefined when unset. */
export type Config = {
  readonly [K in keyof Settings]: Settings[K]['default'] extends string ? ValueOf<Settings[K]> : ValueOf<Settings[K]> | undefined;
};

export class ConfigError extends Error {}

function parse(spec: SettingSpec, raw: string): string | number | boolean {
  switch (spec.kind) {
    case 'integer': {
      if (!/^\d+$/.test(raw) || Number(raw) < (spec.min ?? 0) || (spec.max !== undefined && Number(raw) > spec.max)) {
        const bounds = spec.max !== undefined ? ` from ${spec.min ?? 0} to ${spec.max}` : spec.min !== undefined ? ` >= ${spec.min}` : '';
        throw new ConfigError(`${spec.env} must be an integer${bounds}, got '${raw}'`);
      }
      return Number(raw);
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${spec.env} must be true or false, got '${raw}'`);
      return raw === 'true';
    case 'url':
      try {
        new URL(raw);
      } catch {
        // The value is not echoed: connection strings carry credentials.
        throw new ConfigError(`${spec.env} must be a valid URL`);
      }
      return raw;
    case 'enum':
      if (!spec.values?.includes(raw)) throw new ConfigError(`${spec.env} must be one of ${spec.values?.join(', ')}, got '${raw}'`);
      return raw;
    default:
      if (raw.length === 0) throw new ConfigError(`${spec.env} must not be empty`);
      return raw;
  }
}

/** Reads and validates every setting; the first invalid value throws a ConfigError naming its variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SETTINGS) as [string, SettingSpec][]) {
    const raw = env[spec.env] ?? spec.default;
    out[key] = raw === undefined || raw === '' ? undefined : parse(spec, raw);
  }
  return out as Config;
}

/** The Markdown table of settings for README.md. */
export function renderSettingsTable(): string {
  const rows = (Object.values(SETTINGS) as SettingSpec[]).map((spec) => `| \`${spec.env}\` | ${spec.default === undefined ? '(unset)' : `\`${spec.default}\``} | ${spec.doc} |`);
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
