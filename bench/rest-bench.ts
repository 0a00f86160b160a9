/**
 * REST figures (issue: REST core), measured over HTTP on loopback: the server runs as `npm start` does, in its
 * own process (with the embedded engine and a durable journal, fdatasync on, access log at LOG_LEVEL=warn),
 * and this process is the client. Create, read and update with 10 requests in flight, and the Synthea import.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { importBundles, listBundleFiles } from '../src/cli/import-bundles';
import { fmt, measureThroughput } from './measure';
import { httpClient, startServerProcess } from './server-process';

const SYNTHEA = path.resolve(__dirname, '../../shared/data/synthea-california');
const send = httpClient(64);

export async function benchRest(): Promise<{ metric: string; value: string }[]> {
  const rows: { metric: string; value: string }[] = [];
  const dataDir = await mkdtemp(path.join(tmpdir(), 'rest-bench-'));
  const server = await startServerProcess({ DATA_DIR: dataDir, MONGODB_URI: '' });
  const { base, accessToken } = server;
  try {
    const bearer = await accessToken();
    const request = (url: string, method: string, body?: string) => send(url, { method, ...(body ? { body } : {}), bearer });
    const patient = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench', given: ['Mark'] }], gender: 'female', birthDate: '1980-01-01', identifier: [{ system: 'urn:mrn', value: 'x' }] });
    const ids: string[] = [];
    await measureThroughput(300, 10, async () => request(`${base}/Patient`, 'POST', patient));
    const create = await measureThroughput(3000, 10, async () => {
      const res = await request(`${base}/Patient`, 'POST', patient);
      ids.push((JSON.parse(res.body) as { id: string }).id);
    });
    rows.push({ metric: 'create req/s, 10 in flight', value: fmt(create.perSecond, 0) });
    rows.push({ metric: 'create p50 / p99 (ms)', value: `${fmt(create.latency.p50)} / ${fmt(create.latency.p99)}` });
    const read = await measureThroughput(10000, 10, (i) => request(`${base}/Patient/${ids[i % ids.length]}`, 'GET'));
    rows.push({ metric: 'read req/s, 10 in flight', value: fmt(read.perSecond, 0) });
    rows.push({ metric: 'read p50 / p99 (ms)', value: `${fmt(read.latency.p50)} / ${fmt(read.latency.p99)}` });
    const update = await measureThroughput(3000, 10, (i) => {
      const id = ids[i % ids.length] as string;
      return request(`${base}/Patient/${id}`, 'PUT', JSON.stringify({ ...JSON.parse(patient), id, active: i % 2 === 0 }));
    });
    rows.push({ metric: 'update req/s, 10 in flight', value: fmt(update.perSecond, 0) });
    rows.push({ metric: 'update p50 / p99 (ms)', value: `${fmt(update.latency.p50)} / ${fmt(update.latency.p99)}` });
    if (existsSync(SYNTHEA)) {
      const summary = await importBundles(await listBundleFiles([SYNTHEA]), { baseUrl: base, concurrency: 4, accessToken });
      rows.push({ metric: `Synthea import resources/s (${summary.resources} resources, ${summary.failures.length} failures)`, value: fmt(summary.resources / summary.seconds, 0) });
    } else {
      rows.push({ metric: 'Synthea import', value: `skipped: ${SYNTHEA} not found` });
    }
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return rows;
}
