/**
 * Every text of the notifications module that people read, in English and Spanish (seed 000 5.2; DESIGN.md
 * "Contracts": messages people read come in both): why a delivery could not be made, the alert that tells
 * administrators who was not reached (seed 000 2.8), and the errors of the HTTP API. One table per language, so a
 * missing translation is a type error.
 */
import type { Language } from '../auth/auth-records';
import type { Channel, DeliveryStatus } from './notification-records';

/** Stable codes of why a delivery was not (or could not be) made. */
export const REASONS = ['unknown-account', 'account-inactive', 'no-active-account', 'unknown-patient', 'no-consented-channel', 'no-address', 'no-consent', 'no-transport'] as const;
export type ReasonCode = (typeof REASONS)[number];

export interface LocalizedText {
  readonly en: string;
  readonly es: string;
}

interface Texts {
  readonly reasons: Record<ReasonCode, string>;
  readonly channels: Record<Channel, string>;
  readonly statuses: Record<DeliveryStatus, string>;
  alertSubject(topic: string): string;
  alertBody(facts: AlertFacts): string;
}

/** What an undelivered-notification alert names. */
export interface AlertFacts {
  readonly notification: string;
  readonly topic: string;
  readonly subject: string;
  readonly sentAt: Date;
  readonly about?: string;
  readonly unreached: readonly { readonly display: string; readonly failures: readonly { readonly channel: Channel; readonly status: DeliveryStatus; readonly reason?: string }[] }[];
  /** Unreached people beyond those listed (the log lists them all). */
  readonly more: number;
}

/** People named in one alert; the body stays well under the outbox's 10,000 characters. */
export const ALERT_LIST_LIMIT = 40;

function line(text: string): string {
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

const en: Texts = {
  reasons: {
    'unknown-account': 'no such account in this organization',
    'account-inactive': 'the account is inactive',
    'no-active-account': 'no active account has this role',
    'unknown-patient': 'no such patient in this organization',
    'no-consented-channel': 'the patient has no account and consented to no email or SMS contact',
    'no-address': 'no address for this channel in Patient.telecom',
    'no-consent': 'the patient no longer consents to this channel',
    'no-transport': 'no transport is configured for this channel on the server',
  },
  channels: { 'in-app': 'in-app inbox', email: 'email', sms: 'SMS', none: 'no channel' },
  statuses: { queued: 'queued', delivered: 'delivered', failed: 'failed', bounced: 'bounced', undeliverable: 'undeliverable' },
  alertSubject: (topic) => `Notification not delivered: ${topic}`,
  alertBody: (f) =>
    [
      `${f.unreached.length + f.more} recipient${f.unreached.length + f.more === 1 ? '' : 's'} of notification ${f.notification} (${f.topic}, sent ${f.sentAt.toISOString()}${f.about ? `, about ${f.about}` : ''}) could not be reached.`,
      `Subject: ${f.subject}`,
      ...f.unreached.map((r) => line(`- ${r.display}: ${r.failures.map((x) => `${en.channels[x.channel]} ${en.statuses[x.status]}${x.reason ? ` (${describeReason('en', x.reason)})` : ''}`).join('; ')}`)),
      ...(f.more > 0 ? [`- and ${f.more} more (GET /notifications/log?notification=${f.notification} lists them all)`] : []),
      `Contact them another way, or retry the failed deliveries once the cause is fixed (POST /notifications/log/${f.notification}/retry).`,
    ].join('\n'),
};

const es: Texts = {
  reasons: {
    'unknown-account': 'no existe esa cuenta en esta organización',
    'account-inactive': 'la cuenta está inactiva',
    'no-active-account': 'ninguna cuenta activa tiene este rol',
    'unknown-patient': 'no existe ese paciente en esta organización',
    'no-consented-channel': 'el paciente no tiene cuenta y no consintió el contacto por correo electrónico ni SMS',
    'no-address': 'no hay dirección para este canal en Patient.telecom',
    'no-consent': 'el paciente ya no consiente este canal',
    'no-transport': 'el servidor no tiene configurado un transporte para este canal',
  },
  channels: { 'in-app': 'bandeja de la aplicación', email: 'correo electrónico', sms: 'SMS', none: 'ningún canal' },
  statuses: { queued: 'en cola', delivered: 'entregada', failed: 'fallida', bounced: 'rechazada', undeliverable: 'no entregable' },
  alertSubject: (topic) => `Notificación no entregada: ${topic}`,
  alertBody: (f) =>
    [
      `No se pudo contactar a ${f.unreached.length + f.more} destinatario${f.unreached.length + f.more === 1 ? '' : 's'} de la notificación ${f.notification} (${f.topic}, enviada ${f.sentAt.toISOString()}${f.about ? `, sobre ${f.about}` : ''}).`,
      `Asunto: ${f.subject}`,
      ...f.unreached.map((r) => line(`- ${r.display}: ${r.failures.map((x) => `${es.channels[x.channel]} ${es.statuses[x.status]}${x.reason ? ` (${describeReason('es', x.reason)})` : ''}`).join('; ')}`)),
      ...(f.more > 0 ? [`- y ${f.more} más (GET /notifications/log?notification=${f.notification} los lista todos)`] : []),
      `Contáctelos por otro medio o reintente las entregas fallidas cuando se haya corregido la causa (POST /notifications/log/${f.notification}/retry).`,
    ].join('\n'),
};

const TEXTS: Record<Language, Texts> = { en, es };

export function notificationTexts(language: Language): Texts {
  return TEXTS[language];
}

/** A reason code in words; a transport's own description is shown as it is. */
export function describeReason(language: Language, reason: string): string {
  return (REASONS as readonly string[]).includes(reason) ? TEXTS[language].reasons[reason as ReasonCode] : reason;
}

/** The alert's subject and body in both languages, each administrator reading their own. */
export function alertTexts(input: Omit<AlertFacts, 'subject' | 'more'> & { readonly subject: LocalizedText }): { subject: LocalizedText; body: LocalizedText } {
  const facts = { ...input, unreached: input.unreached.slice(0, ALERT_LIST_LIMIT), more: Math.max(0, input.unreached.length - ALERT_LIST_LIMIT) };
  return {
    subject: { en: en.alertSubject(facts.topic), es: es.alertSubject(facts.topic) },
    body: { en: en.alertBody({ ...facts, subject: line(facts.subject.en) }), es: es.alertBody({ ...facts, subject: line(facts.subject.es) }) },
  };
}
