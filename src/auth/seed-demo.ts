/**
 * The demo seed (seed/demo.json): one organization, an account for each of the eight personas with documented
 * passwords, Practitioners and Patients as their fhirUser, a few clinical resources, a public SMART app, a
 * confidential app and a backend-services client whose private key sits in seed/ (demo only). Loaded by
 * `npm start` when the database has no accounts yet, unless SEED_DEMO=false.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceStore } from '../storage/resource-store';
import type { AccountRecord, AuthRecords, Language } from './auth-records';
import { buildClientRecord, type ClientRegistration } from './client-applications';
import { hashPassword } from './passwords';
import type { Persona } from './principal';
import { projectFile } from '../config/project-files';

/** seed/ at the project root, from src/auth (ts-node) or dist/src/auth (npm start). */
const SEED_DIR = projectFile('seed');
export const DEMO_SEED_FILE = path.join(SEED_DIR, 'demo.json');
export const DEMO_BACKEND_KEY_FILE = path.join(SEED_DIR, 'demo-backend-private-key.jwk.json');

interface DemoSeed {
  readonly accounts: readonly { username: string; password: string; role: Persona; displayName: string; fhirUser?: string; department?: string; language: Language }[];
  readonly resources: readonly (Resource & { id: string })[];
  readonly clients: readonly ClientRegistration[];
}

export async function readDemoSeed(file = DEMO_SEED_FILE): Promise<DemoSeed> {
  return JSON.parse(await readFile(file, 'utf8')) as DemoSeed;
}

/**
 * Loads the demo into `tenant` when no account exists yet; returns whether it did. Resources are validated like
 * any client write.
 */
export async function seedDemo(records: AuthRecords, store: ResourceStore, validate: (resource: unknown, type: string) => void): Promise<boolean> {
  if ((await records.accounts.estimatedDocumentCount()) > 0) return false;
  const seed = await readDemoSeed();
  for (const resource of seed.resources) {
    validate(resource, resource.resourceType);
    await store.update(resource);
  }
  for (const input of seed.clients) {
    const { record } = buildClientRecord(input, store.tenant, 'demo-seed');
    await records.clients.replaceOne({ _id: record._id }, record, { upsert: true });
  }
  const accounts: AccountRecord[] = await Promise.all(
    seed.accounts.map(async (a) => ({
      _id: `demo-${a.username}`,
      username: a.username,
      passwordHash: await hashPassword(a.password),
      role: a.role,
      tenant: store.tenant,
      displayName: a.displayName,
      status: 'active' as const,
      language: a.language,
      ...(a.fhirUser ? { fhirUser: a.fhirUser } : {}),
      ...(a.department ? { department: a.department } : {}),
    })),
  );
  await records.accounts.insertMany(accounts);
  return true;
}
