/**
 * Durable jobs (DESIGN.md "jobs/"): a job advances in steps, its position is saved after each, and a runner started
 * after a stop resumes it from there; a failing step marks the job failed with its reason. A scheduled job runs when
 * it is due without anything waking the runner, also after a restart; a runner takes only the kinds it knows.
 */
import mongoose from 'mongoose';
import pino from 'pino';
import { openJobRecords, type JobModel } from '../../src/jobs/job-records';
import { startJobRunner, type JobStep } from '../../src/jobs/job-runner';
import { startTestMongo, type TestMongo } from '../support/mongo';

let mongo: TestMongo;
let connection: mongoose.Connection;
let jobs: JobModel;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  mongo = await startTestMongo();
  connection = await mongoose.createConnection(mongo.uri, { dbName: mongo.dbName }).asPromise();
  jobs = await openJobRecords(connection);
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
  await mongo.stop();
});

/** Counts to `input.to` in steps of one, remembering every value it has seen. */
function counting(seen: number[], gate?: () => Promise<void>): JobStep {
  return async (job) => {
    if (gate) await gate();
    const at = ((job.position.at as number | undefined) ?? 0) + 1;
    seen.push(at);
    return { position: { at }, processed: 1, done: at >= (job.input.to as number) };
  };
}

describe('job runner', () => {
  it('runs a job step by step to completion and records its progress', async () => {
    const seen: number[] = [];
    const runner = startJobRunner(jobs, { count: counting(seen) }, logger);
    const id = await runner.enqueue('count', 'org-a', { to: 5 });
    await runner.idle();
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(await jobs.findById(id).lean()).toMatchObject({ status: 'completed', processed: 5, position: { at: 5 } });
    await runner.stop();
  });

  it('resumes a job where it stopped when a new runner starts', async () => {
    const seen: number[] = [];
    let release: () => void = () => undefined;
    let steps = 0;
    const first = startJobRunner(
      jobs,
      {
        count: counting(seen, async () => {
          if (++steps === 3) await new Promise<void>((resolve) => (release = resolve));
        }),
      },
      logger,
    );
    const id = await first.enqueue('count', 'org-a', { to: 6 });
    while (steps < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    const stopping = first.stop();
    release();
    await stopping;
    const saved = await jobs.findById(id).lean();
    expect(saved?.status).toBe('running');
    const resumed: number[] = [];
    const second = startJobRunner(jobs, { count: counting(resumed) }, logger);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await second.idle();
    expect(resumed[0]).toBe((saved?.position.at as number) + 1);
    expect(await jobs.findById(id).lean()).toMatchObject({ status: 'completed', position: { at: 6 } });
    await second.stop();
  });

  it('marks a job failed with the reason when a step throws', async () => {
    const runner = startJobRunner(
      jobs,
      {
        broken: async () => {
          throw new Error('disk on fire');
        },
      },
      logger,
    );
    const id = await runner.enqueue('broken', 'org-a', {});
    await runner.idle();
    expect(await jobs.findById(id).lean()).toMatchObject({ status: 'failed', error: 'disk on fire' });
    await runner.stop();
  });

  it('runs a scheduled job when it is due, without being woken', async () => {
    const seen: number[] = [];
    const runner = startJobRunner(jobs, { later: counting(seen) }, logger);
    const id = await runner.enqueue('later', 'org-a', { to: 1 }, { runAt: new Date(Date.now() + 400) });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(seen).toEqual([]);
    expect((await jobs.findById(id).lean())?.status).toBe('queued');
    await until(async () => (await jobs.findById(id).lean())?.status === 'completed');
    expect(seen).toEqual([1]);
    await runner.stop();
  });

  it('runs a scheduled job whose time passed while no runner was started (restart)', async () => {
    const first = startJobRunner(jobs, { restart: counting([]) }, logger);
    const id = await first.enqueue('restart', 'org-a', { to: 1 }, { runAt: new Date(Date.now() + 200) });
    await first.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await jobs.findById(id).lean())?.status).toBe('queued');
    const seen: number[] = [];
    const second = startJobRunner(jobs, { restart: counting(seen) }, logger);
    await until(async () => (await jobs.findById(id).lean())?.status === 'completed');
    expect(seen).toEqual([1]);
    await second.stop();
  });

  it('runs a scheduled job that fell due while the runner was looking for due jobs (a slow query)', async () => {
    // Every look for a due job takes 150 ms, computed with the time it started: the job, due 50 ms after the
    // enqueue, is not due for the first look and already past when the runner decides how long to sleep.
    const slow = new Proxy(jobs, {
      get(target, property, receiver) {
        if (property !== 'findOneAndUpdate') return Reflect.get(target, property, receiver);
        return (...args: Parameters<JobModel['findOneAndUpdate']>) => ({
          lean: async () => {
            await new Promise((resolve) => setTimeout(resolve, 150));
            return target.findOneAndUpdate(...args).lean();
          },
        });
      },
    });
    const seen: number[] = [];
    const runner = startJobRunner(slow, { slow: counting(seen) }, logger);
    await runner.idle();
    const id = await runner.enqueue('slow', 'org-a', { to: 1 }, { runAt: new Date(Date.now() + 50) });
    await until(async () => (await jobs.findById(id).lean())?.status === 'completed');
    expect(seen).toEqual([1]);
    await runner.stop();
  });

  it('takes only the kinds it knows and leaves the others to their runner', async () => {
    const mine: number[] = [];
    const theirs: number[] = [];
    const one = startJobRunner(jobs, { mine: counting(mine) }, logger);
    const other = await one.enqueue('theirs', 'org-a', { to: 1 });
    await one.enqueue('mine', 'org-a', { to: 1 });
    await one.idle();
    expect(mine).toEqual([1]);
    expect((await jobs.findById(other).lean())?.status).toBe('queued');
    const two = startJobRunner(jobs, { theirs: counting(theirs) }, logger);
    await until(async () => (await jobs.findById(other).lean())?.status === 'completed');
    expect(theirs).toEqual([1]);
    await Promise.all([one.stop(), two.stop()]);
  });
});

/** Polls until `check` holds, failing after five seconds. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
