/**
 * What the notification tests need around the server: accounts of any persona and language holding a real user
 * token (the whole authorization code flow), a stand-in email/SMS relay on loopback whose answers a test chooses,
 * Patients and Consents stored through the FHIR API, and polling until background delivery has settled.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Consent } from '@medplum/fhirtypes';
import type { Persona } from '../../../src/auth/principal';
import type { FhirTestServer } from '../../support/fhir-server';
import { putResource, type TestAccount } from '../../auth/support/smart-harness';
import { userClient } from '../../support/smart-tokens';

export interface PersonaClient {
  readonly account: TestAccount;
  /** The scopes the token was granted. */
  readonly scope: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** An account of `role` (in `language`) and a token for it from a public app registered with `scope`. */
export async function personaClient(server: FhirTestServer, role: Persona, scope: string, options: { language?: 'en' | 'es'; fhirUser?: string } = {}): Promise<PersonaClient> {
  const client = await userClient(server, { role, scope, ...options });
  return { account: client.account, scope: String(client.tokenResponse.scope), fetch: (path, init) => client.fetch(`${server.origin}${path}`, init) };
}

/** What a relay answers, per recipient address (default 202). */
export type RelayAnswer = number | 'hang';

/** A stand-in email/SMS relay: records every message and answers with the status a test set for its address. */
export interface FakeRelay {
  readonly url: string;
  readonly received: Record<string, unknown>[];
  /** The authorization header of each request. */
  readonly authorizations: (string | undefined)[];
  answer(address: string, status: RelayAnswer): void;
  stop(): Promise<void>;
}

export async function startFakeRelay(): Promise<FakeRelay> {
  const received: Record<string, unknown>[] = [];
  const authorizations: (string | undefined)[] = [];
  const answers = new Map<string, RelayAnswer>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      received.push(message);
      authorizations.push(req.headers.authorization);
      const answer = answers.get(message.to as string) ?? 202;
      if (answer === 'hang') return;
      res.writeHead(answer, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`,
    received,
    authorizations,
    answer: (address, status) => answers.set(address, status),
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Stores a Patient through the FHIR API. */
export async function putPatient(server: FhirTestServer, id: string, extra: Record<string, unknown> = {}): Promise<void> {
  await putResource(server, { resourceType: 'Patient', id, name: [{ family: `Family-${id}`, given: ['Pat'] }], ...extra });
}

const CHANNEL_SYSTEM = 'http://hl7.org/fhir/contact-point-system';

/** A Consent of the patient permitting (or denying) contact on each of the channels, a provision per channel. */
export function channelConsentResource(id: string, patient: string, channels: Record<string, 'permit' | 'deny'>, dateTime = new Date().toISOString()): Consent & { id: string } {
  return {
    resourceType: 'Consent',
    id,
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    dateTime,
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'permit', provision: Object.entries(channels).map(([code, type]) => ({ type, action: [{ coding: [{ system: CHANNEL_SYSTEM, code }] }] })) },
  };
}

/** Stores a Consent of the patient permitting (or denying) contact on the channels, through the FHIR API. */
export async function putChannelConsent(server: FhirTestServer, id: string, patient: string, channels: Record<string, 'permit' | 'deny'>, dateTime = new Date().toISOString()): Promise<void> {
  await putResource(server, { ...channelConsentResource(id, patient, channels, dateTime) });
}
