/**
 * Consent-validated channels (requirements seed 000 3.3; src/notifications/channel-consent.ts): which external
 * channels a patient's Consents permit, the address Patient.telecom gives for each, the patient's language; and the
 * pure parts of delivery around them: the retry schedule and CSV fields of the exported log.
 */
import type { Consent, ConsentProvision, Patient } from '@medplum/fhirtypes';
import { contactAddress, patientLanguage, permittedChannels } from '../../src/notifications/channel-consent';
import { csvField } from '../../src/notifications/notification-log';
import { nextRetryDelay } from '../../src/notifications/retry-policy';

const NOW = new Date('2026-03-01T08:00:00Z');
const channel = (code: string) => ({ coding: [{ system: 'http://hl7.org/fhir/contact-point-system', code }] });

function consent(provision: ConsentProvision, extra: Partial<Consent> = {}): Consent {
  return { resourceType: 'Consent', status: 'active', scope: {}, category: [], patient: { reference: 'Patient/1' }, provision, ...extra };
}

describe('permittedChannels', () => {
  it('permits no external channel when nothing is recorded', () => {
    expect(permittedChannels([], NOW)).toEqual(new Set());
  });

  it('permits a channel a provision permits, in the root or nested', () => {
    expect(permittedChannels([consent({ type: 'permit', action: [channel('email')] })], NOW)).toEqual(new Set(['email']));
    expect(permittedChannels([consent({ type: 'deny', provision: [{ type: 'permit', action: [channel('sms')] }] })], NOW)).toEqual(new Set(['sms']));
  });

  it('lets a nested provision override its parent', () => {
    expect(permittedChannels([consent({ type: 'permit', action: [channel('email'), channel('sms')], provision: [{ type: 'deny', action: [channel('sms')] }] })], NOW)).toEqual(new Set(['email']));
  });

  it('never opens a channel from a provision that names none (a treatment or sharing Consent)', () => {
    expect(permittedChannels([consent({ type: 'permit' }), consent({ type: 'permit', action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }] })], NOW)).toEqual(new Set());
    expect(permittedChannels([consent({ type: 'permit', action: [{ coding: [{ system: 'http://example.org/other', code: 'email' }] }] })], NOW)).toEqual(new Set());
  });

  it('decides each channel by the latest Consent that names it', () => {
    const earlier = consent({ type: 'permit', action: [channel('email'), channel('sms')] }, { dateTime: '2026-01-01T00:00:00Z' });
    const later = consent({ type: 'deny', action: [channel('email')] }, { dateTime: '2026-02-01T00:00:00Z' });
    expect(permittedChannels([later, earlier], NOW)).toEqual(new Set(['sms']));
  });

  it('ignores Consents that are not active and provisions outside their period', () => {
    expect(permittedChannels([consent({ type: 'permit', action: [channel('email')] }, { status: 'inactive' })], NOW)).toEqual(new Set());
    expect(permittedChannels([consent({ type: 'permit', action: [channel('email')], period: { end: '2026-02-28T00:00:00Z' } })], NOW)).toEqual(new Set());
    expect(permittedChannels([consent({ type: 'permit', action: [channel('email')], period: { start: '2026-02-01T00:00:00Z' } })], NOW)).toEqual(new Set(['email']));
  });
});

describe('contactAddress', () => {
  const patient: Patient = {
    resourceType: 'Patient',
    telecom: [
      { system: 'email', value: 'old@example.org', use: 'old', rank: 1 },
      { system: 'email', value: 'expired@example.org', period: { end: '2025-01-01' } },
      { system: 'email', value: 'second@example.org', rank: 3 },
      { system: 'email', value: 'first@example.org', rank: 2 },
      { system: 'phone', use: 'home', value: '+1 555 0100' },
      { system: 'phone', use: 'mobile', value: '+1 555 0101' },
    ],
  };

  it('takes the best-ranked current email', () => {
    expect(contactAddress(patient, 'email', NOW)).toBe('first@example.org');
  });

  it('sends SMS to an sms contact point first, else to a mobile phone, never a home phone', () => {
    expect(contactAddress(patient, 'sms', NOW)).toBe('+1 555 0101');
    expect(contactAddress({ ...patient, telecom: [...(patient.telecom ?? []), { system: 'sms', value: '+1 555 0199' }] }, 'sms', NOW)).toBe('+1 555 0199');
    expect(contactAddress({ resourceType: 'Patient', telecom: [{ system: 'phone', use: 'home', value: '+1 555 0100' }] }, 'sms', NOW)).toBeUndefined();
  });

  it('has no address for a patient without telecom', () => {
    expect(contactAddress(undefined, 'email', NOW)).toBeUndefined();
  });
});

describe('patientLanguage', () => {
  it('reads the preferred English or Spanish communication language', () => {
    const communication = (code: string, preferred?: boolean) => ({ language: { coding: [{ system: 'urn:ietf:bcp:47', code }] }, ...(preferred !== undefined ? { preferred } : {}) });
    expect(patientLanguage({ resourceType: 'Patient', communication: [communication('en'), communication('es-MX', true)] })).toBe('es');
    expect(patientLanguage({ resourceType: 'Patient', communication: [communication('fr', true)] })).toBeUndefined();
    expect(patientLanguage({ resourceType: 'Patient' })).toBeUndefined();
  });
});

describe('nextRetryDelay', () => {
  const policy = { maxAttempts: 4, baseDelayMs: 30_000, factor: 3, jitter: 0.2 };

  it('backs off exponentially and stops after the last attempt', () => {
    expect([1, 2, 3, 4].map((n) => nextRetryDelay(policy, n, () => 0))).toEqual([30_000, 90_000, 270_000, undefined]);
  });

  it('adds up to the jitter fraction at random', () => {
    expect(nextRetryDelay(policy, 1, () => 1)).toBe(36_000);
  });
});

describe('csvField', () => {
  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(undefined)).toBe('');
    expect(csvField(3)).toBe('3');
  });

  it('neutralizes cells a spreadsheet would run as a formula', () => {
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField('+1 555 0101')).toBe("'+1 555 0101");
    expect(csvField('@cmd')).toBe("'@cmd");
  });
});
