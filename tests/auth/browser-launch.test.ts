/**
 * A person's standalone launch in headless Chromium (Debian's chromium driven by playwright-core): the SMART app
 * (fhirclient) sends the browser to the sign-in page; the person signs in with the keyboard, picks a patient,
 * approves the scopes, and the app shows data read with the token it received (app-launch.html).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { createAccount, putResource, registerApp, startSmartApp, type SmartApp, type TestAccount } from './support/smart-harness';

const CHROMIUM = '/usr/bin/chromium';
// CI installs chromium (.ci/run), so there a missing browser is a failure, not a skip.
if (!existsSync(CHROMIUM) && process.env.CI) throw new Error(`${CHROMIUM} not found: .ci/run installs Debian's chromium`);
const describeWithChromium = existsSync(CHROMIUM) ? describe : describe.skip;
if (!existsSync(CHROMIUM)) console.warn(`${CHROMIUM} not found (apt-get install chromium): skipping the browser launch test`);

let server: FhirTestServer;
let app: SmartApp;
let browser: BrowserContext;
let profile: string;
let nurse: TestAccount;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  server = await startFhirServer();
  app = await startSmartApp();
  await putResource(server, { resourceType: 'Patient', id: 'br-1', name: [{ family: 'Browser', given: ['Bea'] }] });
  await putResource(server, { resourceType: 'Patient', id: 'br-2', name: [{ family: 'Other', given: ['Otto'] }] });
  await putResource(server, { resourceType: 'Observation', id: 'br-1-hr', status: 'final', code: { text: 'Heart rate' }, subject: { reference: 'Patient/br-1' }, valueQuantity: { value: 64, unit: '/min' } });
  // The nurse cares for Bea (a care team), which is what lets her see Bea's record (issue 6 persona table).
  await putResource(server, { resourceType: 'Practitioner', id: 'br-nurse', name: [{ family: 'Nightingale' }] });
  await putResource(server, { resourceType: 'CareTeam', id: 'br-team', subject: { reference: 'Patient/br-1' }, participant: [{ member: { reference: 'Practitioner/br-nurse' } }] });
  nurse = await createAccount(server, 'nurse', { fhirUser: 'Practitioner/br-nurse' });
  const registered = await registerApp(server, { client_name: 'Browser demo app', kind: 'public', redirect_uris: [app.redirectUri], scope: 'openid fhirUser launch/patient patient/*.rs' });
  app.configure({
    clientId: registered.client_id,
    scope: 'launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs',
    iss: server.baseUrl,
    onReady: async (client) => {
      const patient = (await client.patient.read()) as Patient;
      const observation = (await client.request('Observation/br-1-hr')) as Observation;
      return `<h1 id="patient">${patient.name?.[0]?.given?.[0]} ${patient.name?.[0]?.family}</h1><p id="observation">${observation.code.text}: ${observation.valueQuantity?.value}</p>`;
    },
  });
  profile = await mkdtemp(path.join(tmpdir(), 'chromium-profile-'));
  // A fresh, empty profile (user-data-dir) for every run.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await server?.stop();
  if (profile) await rm(profile, { recursive: true, force: true });
});

describeWithChromium('standalone launch in a browser', () => {
  it('signs in by keyboard, picks a patient, approves and sees the patient data in the app', async () => {
    const page = await browser.newPage();
    await page.goto(app.launchUrl);
    await page.waitForSelector('h1');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('h1').textContent()).toBe('Sign in');
    // The username field has focus first, then the password, then the button: keyboard only.
    await page.keyboard.type(nurse.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(nurse.password);
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=Allow access');
    await page.getByLabel('Bea Browser').check();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForSelector('#observation');
    expect(await page.locator('#patient').textContent()).toBe('Bea Browser');
    expect(await page.locator('#observation').textContent()).toBe('Heart rate: 64');
    expect(page.url().startsWith(app.redirectUri)).toBe(true);
  }, 60_000);
});
