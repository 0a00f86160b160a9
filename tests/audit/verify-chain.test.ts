/**
 * Issue 6 "Audit": records are hash-chained per organization so that tampering is detectable, and
 * AuditEvent/$verify-chain (profiles/OperationDefinition-AuditEvent-verify-chain.json) proves the chain or names its
 * first broken link. Tampering is simulated directly in the database, as someone bypassing the API would do.
 * Concurrent requests, and writers on separate connections (separate server processes), keep one unbroken chain.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import type { AuditEvent, Bundle, OperationOutcome, Parameters } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../support/fhir-server';
import { userClient } from '../support/smart-tokens';
import { createChainedAuditSink } from '../../src/audit/chained-audit-sink';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain';
import { computeChainHash } from '../../src/audit/audit-chain';
import { verifyAuditChainCommand } from '../../src/cli/verify-audit-chain';
import { openResourceStore } from '../../src/storage/mongo/mongo-resource-store';
import { createSearchIndexer } from '../../src/app';
import { SearchParameterCatalog } from '../../src/search/search-parameter-catalog';

let server: FhirTestServer;
const url = (path: string): string => `${server.baseUrl}/${path}`;
const CHAIN = 'https://fhir-interop-server.org/fhir/StructureDefinition/audit-chain';

interface Verdict {
  valid: boolean;
  checked: number;
  head?: { sequence: number; hash: string };
  brokenLink?: { sequence?: number; auditEvent?: string; reason: string };
}

async function verify(): Promise<Verdict> {
  const response = await server.fetch(url('AuditEvent/$verify-chain'));
  expect(response.status).toBe(200);
  const parameters = (await response.json()) as Parameters;
  const named = (name: string) => parameters.parameter?.find((p) => p.name === name);
  const part = (name: string, partName: string) => named(name)?.part?.find((p) => p.name === partName);
  const head = named('head');
  const broken = named('brokenLink');
  return {
    valid: named('valid')?.valueBoolean as boolean,
    checked: named('checked')?.valueDecimal as number,
    ...(head ? { head: { sequence: part('head', 'sequence')?.valueDecimal as number, hash: part('head', 'hash')?.valueString as string } } : {}),
    ...(broken
      ? {
          brokenLink: {
            ...(part('brokenLink', 'sequence') ? { sequence: part('brokenLink', 'sequence')?.valueDecimal } : {}),
            ...(part('brokenLink', 'auditEvent') ? { auditEvent: part('brokenLink', 'auditEvent')?.valueReference?.reference } : {}),
            reason: part('brokenLink', 'reason')?.valueString as string,
          },
        }
      : {}),
  };
}

const events = () => server.db.collection('AuditEvent');
const keyOf = (id: string): string => `${server.tenant}/${id}`;

async function readAll(): Promise<AuditEvent[]> {
  const docs = await events().find({ tenant: server.tenant }).sort({ _id: 1 }).toArray();
  return docs.map((doc) => doc.resource as AuditEvent);
}

beforeAll(async () => {
  server = await startFhirServer();
  for (const id of ['v1', 'v2', 'v3']) {
    await server.fetch(url(`Patient/${id}`), { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', id }) });
  }
  await server.fetch(url('Patient/v1'));
  await server.fetch(url('Patient?_id=v1,v2'));
});

afterAll(async () => {
  await server.stop();
});

describe('the hash chain on each AuditEvent', () => {
  it('numbers the events 1, 2, 3... in their ids and links each to the hash of the one before', async () => {
    const all = await readAll();
    expect(all.length).toBeGreaterThanOrEqual(5);
    all.forEach((event, i) => {
      expect(event.id).toBe(String(i + 1).padStart(16, '0'));
      const parts = event.extension?.find((e) => e.url === CHAIN)?.extension ?? [];
      expect(parts.map((p) => p.url)).toEqual(['sequence', 'previous', 'hash']);
      expect(parts[0]?.valueDecimal).toBe(i + 1);
      const previous = i === 0 ? '0'.repeat(64) : all[i - 1]?.extension?.find((e) => e.url === CHAIN)?.extension?.[2]?.valueString;
      expect(parts[1]?.valueString).toBe(previous);
      expect(parts[2]?.valueString).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  it('lets an auditor with FHIR read access alone recompute every hash (SHA-256 of RFC 8785 JSON without meta and the hash)', async () => {
    // An independent implementation of the documented canonical form.
    const canonical = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
      if (value && typeof value === 'object') {
        const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
      }
      return JSON.stringify(value);
    };
    const bundle = (await (await server.fetch(url('AuditEvent?_count=1000'))).json()) as Bundle;
    const read = (bundle.entry ?? []).map((e) => e.resource as AuditEvent);
    expect(read.length).toBeGreaterThanOrEqual(5);
    for (const event of read) {
      const { meta: _meta, ...content } = event;
      const chain = event.extension?.find((e) => e.url === CHAIN);
      const recorded = chain?.extension?.find((p) => p.url === 'hash')?.valueString;
      const unsealed = { ...content, extension: event.extension?.map((e) => (e === chain ? { ...e, extension: e.extension?.filter((p) => p.url !== 'hash') } : e)) };
      expect(createHash('sha256').update(canonical(unsealed)).digest('hex')).toBe(recorded);
    }
  });
});

describe('AuditEvent/$verify-chain', () => {
  it('proves an intact chain, naming how many events it checked and the head', async () => {
    const verdict = await verify();
    expect(verdict).toMatchObject({ valid: true });
    expect(verdict.brokenLink).toBeUndefined();
    expect(verdict.checked).toBe(verdict.head?.sequence);
    const last = (await readAll()).find((e) => e.id === String(verdict.head?.sequence).padStart(16, '0'));
    expect(last?.extension?.find((e) => e.url === CHAIN)?.extension?.[2]?.valueString).toBe(verdict.head?.hash);
  });

  it('is itself audited, as every access to the audit trail', async () => {
    const response = await server.fetch(url('AuditEvent/$verify-chain'), { headers: { 'x-request-id': 'verify-audited' } });
    expect(response.status).toBe(200);
    const doc = await events().findOne({ 'resource.entity.what.identifier.value': 'verify-audited' });
    expect(doc?.resource).toMatchObject({ subtype: [{ code: 'operation' }], action: 'E', outcome: '0' });
    expect((doc?.resource as AuditEvent).entity?.find((e) => e.role?.code === '24')?.description).toBe('AuditEvent/$verify-chain');
  });

  it('names the first event changed in the database, then proves the chain again once it is restored', async () => {
    const victim = (await readAll())[2] as AuditEvent & { id: string };
    await events().updateOne({ _id: keyOf(victim.id) as never }, { $set: { 'resource.outcome': '8' } });
    const verdict = await verify();
    expect(verdict.valid).toBe(false);
    expect(verdict.brokenLink).toMatchObject({ sequence: 3, auditEvent: `AuditEvent/${victim.id}` });
    expect(verdict.brokenLink?.reason).toMatch(/^the AuditEvent was changed: its content hashes to [0-9a-f]{64}, it records [0-9a-f]{64}$/);
    expect(verdict.checked).toBe(2);
    await events().updateOne({ _id: keyOf(victim.id) as never }, { $set: { 'resource.outcome': victim.outcome } });
    expect((await verify()).valid).toBe(true);
  });

  it('detects an event changed together with its own hash: the next event no longer follows it', async () => {
    const victim = (await readAll())[1] as AuditEvent & { id: string };
    const rewritten: AuditEvent = { ...victim, outcome: '8' };
    const resealed = (rewritten.extension ?? []).map((e) => (e.url === CHAIN ? { ...e, extension: e.extension?.map((p) => (p.url === 'hash' ? { ...p, valueString: computeChainHash(rewritten) } : p)) } : e));
    await events().updateOne({ _id: keyOf(victim.id) as never }, { $set: { 'resource.outcome': '8', 'resource.extension': resealed } });
    const verdict = await verify();
    expect(verdict).toMatchObject({ valid: false, checked: 2, brokenLink: { sequence: 3, auditEvent: 'AuditEvent/0000000000000003' } });
    expect(verdict.brokenLink?.reason).toMatch(/^the AuditEvent does not follow its predecessor: it records previous hash [0-9a-f]{64}, the predecessor's hash is [0-9a-f]{64}$/);
    await events().updateOne({ _id: keyOf(victim.id) as never }, { $set: { 'resource.outcome': victim.outcome, 'resource.extension': victim.extension } });
    expect((await verify()).valid).toBe(true);
  });

  it('names the place of an event deleted from the database', async () => {
    const doc = await events().findOne({ _id: keyOf('0000000000000004') as never });
    await events().deleteOne({ _id: keyOf('0000000000000004') as never });
    const verdict = await verify();
    expect(verdict).toMatchObject({ valid: false, checked: 3, brokenLink: { sequence: 4 } });
    expect(verdict.brokenLink?.auditEvent).toBeUndefined();
    expect(verdict.brokenLink?.reason).toBe('missing: no AuditEvent holds this place in the chain (removed?)');
    await events().insertOne(doc as never);
    expect((await verify()).valid).toBe(true);
  });

  it('names the place of the newest event deleted from the database, which the chain head still records', async () => {
    const head = await server.db.collection('_chains').findOne({ _id: `${server.tenant}/audit` as never });
    const id = String(head?.sequence).padStart(16, '0');
    const last = await events().findOne({ _id: keyOf(id) as never });
    await events().deleteOne({ _id: keyOf(id) as never });
    const verdict = await verify();
    expect(verdict).toMatchObject({ valid: false, checked: Number(head?.sequence) - 1, brokenLink: { sequence: Number(head?.sequence), reason: 'missing: no AuditEvent holds this place in the chain (removed?)' } });
    await events().insertOne(last as never);
    expect((await verify()).valid).toBe(true);
  });

  it('detects an AuditEvent slipped into the database outside the chain', async () => {
    const [first] = await readAll();
    const forged = { ...(first as AuditEvent), id: 'forged', extension: [] };
    await events().insertOne({ _id: keyOf('forged') as never, tenant: server.tenant, id: 'forged', version: 1, lastUpdated: new Date(), deleted: false, method: 'POST', resource: forged, sp: {} });
    const verdict = await verify();
    expect(verdict.valid).toBe(false);
    expect(verdict.brokenLink?.sequence).toBeUndefined();
    expect(verdict.brokenLink?.reason).toMatch(/^1 AuditEvent\(s\) stand outside the chain \(the chain holds \d+\)$/);
    await events().deleteOne({ _id: keyOf('forged') as never });
    expect((await verify()).valid).toBe(true);
  });

  it('refuses a token confined to one patient, which cannot read the whole trail', async () => {
    const auditor = await userClient(server, { role: 'org-admin', scope: 'launch/patient patient/AuditEvent.rs', patient: 'v1', fhirUser: 'Practitioner/auditor' });
    const response = await auditor.fetch(url('AuditEvent/$verify-chain'));
    const outcome = (await response.json()) as OperationOutcome;
    expect(response.status).toBe(403);
    expect(outcome.issue[0]).toMatchObject({ code: 'forbidden', diagnostics: '$verify-chain reads every AuditEvent of the organization; this access token may read only some of them' });
    expect(outcome.issue[1]?.diagnostics).toMatch(/^Ask an auditor of your organization/);
  });

  it('takes no parameters: an unknown one is a 400 naming it', async () => {
    const response = await server.fetch(url('AuditEvent/$verify-chain?from=3'));
    const outcome = (await response.json()) as OperationOutcome;
    expect(response.status).toBe(400);
    expect(outcome.issue[0]).toMatchObject({ code: 'invalid', diagnostics: "$verify-chain takes no parameters; 'from' is not one", expression: ['from'] });
  });
});

describe('npm run audit:verify -- <tenant>', () => {
  const env = (): Record<string, string> => ({ MONGODB_URI: process.env.MONGODB_URI ?? `mongodb://${String(server.db.client.options.hosts[0])}`, DB_NAME: server.db.databaseName });

  it('proves the chain from the database alone and exits 0', async () => {
    const result = await verifyAuditChainCommand([server.tenant], env());
    expect(result.code).toBe(0);
    expect(result.output).toMatch(new RegExp(`^audit chain of '${server.tenant}': intact; (\\d+) events checked; head \\1 \\(hash [0-9a-f]{64}\\)$`));
  });

  it('prints the first broken link and exits 1', async () => {
    const victim = (await readAll())[2] as AuditEvent & { id: string };
    await events().updateOne({ _id: keyOf(victim.id) as never }, { $set: { 'resource.outcomeDesc': 'tampered' } });
    try {
      const result = await verifyAuditChainCommand([server.tenant], env());
      expect(result.code).toBe(1);
      expect(result.output).toMatch(new RegExp(`^audit chain of '${server.tenant}': BROKEN at sequence 3 \\(AuditEvent/${victim.id}\\): the AuditEvent was changed: `));
      expect(result.output).toMatch(/\n2 events checked before it; head \d+ \(hash [0-9a-f]{64}\)$/);
    } finally {
      await events().updateOne({ _id: keyOf(victim.id) as never }, { $set: { resource: victim } });
    }
  });

  it('exits 2 with its usage when the tenant is missing or malformed', async () => {
    expect(await verifyAuditChainCommand([], env())).toMatchObject({ code: 2, output: expect.stringMatching(/^usage: npm run audit:verify -- <tenant>/) });
    expect((await verifyAuditChainCommand(['a/b'], env())).code).toBe(2);
  });

  it('runs as an npm script', async () => {
    const root = path.resolve(__dirname, '../..');
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile('npm', ['run', '-s', 'audit:verify', '--', server.tenant], { cwd: root, env: { ...process.env, ...env() } }, (error, out) => resolve({ code: error ? Number(error.code) : 0, stdout: out }));
    });
    expect(code).toBe(0);
    expect(stdout).toContain(`audit chain of '${server.tenant}': intact;`);
  }, 60_000);
});

describe('one chain under concurrency', () => {
  it('keeps one unbroken chain when requests arrive together, writing their events in groups', async () => {
    const before = (await verify()).head?.sequence ?? 0;
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => server.fetch(url(`Patient/v${(i % 3) + 1}`), { headers: { 'x-request-id': `burst-${i}` } })));
    expect(responses.map((r) => r.status)).toEqual(Array(40).fill(200));
    const burst = await events().find({ 'resource.entity.what.identifier.value': { $regex: /^burst-/ } }).toArray();
    expect(burst).toHaveLength(40);
    const sequences = burst.map((doc) => Number(doc.id)).sort((a, b) => a - b);
    expect(new Set(sequences).size).toBe(40);
    expect(sequences[0]).toBeGreaterThan(before);
    // Group commit: events of concurrent requests were stored together (one insert per batch, one lastUpdated).
    expect(new Set(burst.map((doc) => (doc.lastUpdated as Date).getTime())).size).toBeLessThan(40);
    const verdict = await verify();
    expect(verdict.valid).toBe(true);
    expect(verdict.checked).toBe(verdict.head?.sequence);
  });

  it('never forks when two server processes append to the same organization’s chain', async () => {
    const catalog = new SearchParameterCatalog();
    const uri = process.env.MONGODB_URI ?? `mongodb://${String(server.db.client.options.hosts[0])}`;
    const connections = await Promise.all([0, 1].map(() => new MongoClient(uri).connect()));
    try {
      const sinks = connections.map((client) => createChainedAuditSink((tenant) => openResourceStore({ client, db: client.db(server.db.databaseName), indexer: createSearchIndexer(catalog) }, tenant)));
      const template = (await readAll())[0] as AuditEvent;
      const writes = sinks.flatMap((sink, s) =>
        Array.from({ length: 60 }, (_, i) => sink.record(server.tenant, { ...template, id: undefined, extension: [], outcomeDesc: `process ${s} event ${i}` } as AuditEvent)),
      );
      await Promise.all(writes);
      const store = openResourceStore({ client: connections[0] as MongoClient, db: (connections[0] as MongoClient).db(server.db.databaseName), indexer: createSearchIndexer(catalog) }, server.tenant);
      const verdict = await verifyAuditChain(store);
      expect(verdict.valid).toBe(true);
      expect(verdict.checked).toBe(verdict.head?.sequence);
      const written = await events().countDocuments({ 'resource.outcomeDesc': { $regex: /^process [01] event / } });
      expect(written).toBe(120);
    } finally {
      for (const client of connections) await client.close();
    }
  });
});

describe('no access goes unrecorded', () => {
  it('withholds the response with a 503 when its AuditEvent cannot be written', async () => {
    const heads = server.db.collection('_chains');
    const head = await heads.findOne({ _id: `${server.tenant}/audit` as never });
    // A lost chain head makes every append collide with the events already stored.
    await heads.deleteOne({ _id: head?._id });
    try {
      const response = await server.fetch(url('Patient/v1'));
      const outcome = (await response.json()) as OperationOutcome;
      expect(response.status).toBe(503);
      expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'transient', diagnostics: 'This access could not be recorded in the audit trail, so its response is withheld; try again later' });
      expect(JSON.stringify(outcome)).not.toContain('"v1"');
    } finally {
      await heads.insertOne(head as never);
    }
    expect((await server.fetch(url('Patient/v1'))).status).toBe(200);
    expect((await verify()).valid).toBe(true);
  });
});
