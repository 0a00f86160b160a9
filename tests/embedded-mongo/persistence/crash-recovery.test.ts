/**
 * Durability against a real crash (src/embedded-mongo/persistence): a child process appends and compacts until it
 * is killed with SIGKILL; every batch it acknowledged must come back on reopen, and no batch may come back half.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Change } from '../../../src/embedded-mongo/persistence/change';
import { DurableStore } from '../../../src/embedded-mongo/persistence/durable-store';
import { createDataDir, removeDataDirs } from './fixtures/store-helpers';

afterAll(removeDataDirs);

const FIXTURE = join(__dirname, 'fixtures', 'append-until-killed.ts');
const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const RUN_BEFORE_KILL_MS = 300;

/** Runs the fixture until it has acknowledged a first batch, lets it run ~300 ms more, kills it; returns the acknowledged numbers. */
function appendUntilKilled(dir: string): Promise<number[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', FIXTURE, dir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), RUN_BEFORE_KILL_MS);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`the fixture exited by itself (code ${code}): ${stderr}`));
        return;
      }
      // The last line may be cut mid-number by the kill; only whole lines were acknowledged.
      const lines = stdout.split('\n').slice(0, -1);
      resolvePromise(lines.map(Number));
    });
  });
}

/** The documents per collection after replaying the recovered batches. */
function replay(batches: Change[][]): Map<string, Set<number>> {
  const collections = new Map<string, Set<number>>();
  for (const batch of batches) {
    for (const change of batch) {
      if (change.op === 'createCollection') collections.set(change.coll, collections.get(change.coll) ?? new Set());
      if (change.op === 'put') {
        const ids = collections.get(change.coll) ?? new Set<number>();
        ids.add(Number(change.doc._id));
        collections.set(change.coll, ids);
      }
    }
  }
  return collections;
}

describe('a process killed with SIGKILL while appending and compacting', () => {
  it('keeps every acknowledged batch, whole, across five kills', async () => {
    const dir = await createDataDir();
    const acknowledged: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      acknowledged.push(...(await appendUntilKilled(dir)));
      const { store, recovered } = await DurableStore.open({ dir });
      await store.close();
      const collections = replay(recovered);
      const inA = [...(collections.get('a') ?? [])];
      expect(acknowledged.filter((n) => !collections.get('a')?.has(n))).toEqual([]);
      expect(inA.sort((x, y) => x - y)).toEqual([...(collections.get('b') ?? [])].sort((x, y) => x - y));
    }
    expect(acknowledged.length).toBeGreaterThan(300);
    expect((await stat(join(dir, 'snapshot.bson'))).size).toBeGreaterThan(0);
  }, 60_000);
});
