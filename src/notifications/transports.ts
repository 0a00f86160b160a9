/**
 * External transports (email, SMS) behind one interface, chosen by settings. The server speaks to a relay over
 * HTTPS (the organization's mail or SMS gateway, or a small adapter in front of a provider) with a documented JSON
 * contract; with no relay configured for a channel, its deliveries are recorded as undeliverable with that reason,
 * never as sent.
 */
import type { Language } from '../auth/auth-records';
import type { ExternalChannel } from './notification-records';

/** One message for one address, already in the recipient's language. */
export interface OutboundMessage {
  readonly channel: ExternalChannel;
  /** Email address or phone number. */
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  readonly language: Language;
  readonly urgent: boolean;
  /** The delivery id: lets a relay deduplicate a message the server sends twice after a crash. */
  readonly reference: string;
}

/**
 * What a transport made of one message: `delivered` (accepted for delivery), `failed` (a transient problem: retried
 * with backoff) or `bounced` (the address was refused for good: not retried automatically). `reason` is short and
 * names no person. A transport that throws is treated as `failed`.
 */
export type TransportResult = { readonly outcome: 'delivered' } | { readonly outcome: 'failed' | 'bounced'; readonly reason: string };

/** A way out of the server for one channel. */
export interface Transport {
  /** Recorded with each attempt, e.g. `http-relay`. */
  readonly name: string;
  send(message: OutboundMessage): Promise<TransportResult>;
}

/** The configured transport of each external channel (absent: not configured). */
export type Transports = Partial<Record<ExternalChannel, Transport>>;

export interface HttpRelayOptions {
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  readonly token?: string;
  readonly timeoutMs?: number;
}

/** Statuses that say the relay or its credentials are at fault, or ask to come back later: retried. */
const TRANSIENT_CLIENT_STATUSES = new Set([401, 403, 408, 409, 425, 429]);

/**
 * The HTTP relay transport: `POST <url>` with `application/json` body `{ channel, to, subject, body, language,
 * urgent, reference }`. A 2xx answer means accepted; 4xx means the message is refused for good (bounced), except
 * 401, 403, 408, 409, 425 and 429, which like 5xx and network errors are transient (failed, retried).
 */
export function httpRelayTransport(options: HttpRelayOptions): Transport {
  return {
    name: 'http-relay',
    async send(message) {
      let response: Response;
      try {
        response = await fetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
          body: JSON.stringify(message),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (error) {
        return { outcome: 'failed', reason: (error as Error).name === 'TimeoutError' ? 'relay timed out' : 'relay unreachable' };
      }
      await response.body?.cancel();
      if (response.ok) return { outcome: 'delivered' };
      const reason = `relay answered HTTP ${response.status}`;
      if (response.status >= 500 || TRANSIENT_CLIENT_STATUSES.has(response.status)) return { outcome: 'failed', reason };
      return { outcome: 'bounced', reason };
    },
  };
}

/** The transports the settings configure. */
export function configureTransports(settings: { readonly emailRelayUrl?: string | undefined; readonly smsRelayUrl?: string | undefined; readonly relayToken?: string | undefined }): Transports {
  const token = settings.relayToken ? { token: settings.relayToken } : {};
  return {
    ...(settings.emailRelayUrl ? { email: httpRelayTransport({ url: settings.emailRelayUrl, ...token }) } : {}),
    ...(settings.smsRelayUrl ? { sms: httpRelayTransport({ url: settings.smsRelayUrl, ...token }) } : {}),
  };
}
