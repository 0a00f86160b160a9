/**
 * Runs durable jobs in the background, one at a time and in small steps, so that they never hold up requests:
 * a job kind is a function doing one step (a batch) and saying whether it is done. Progress is saved after each
 * step; jobs left running by a stopped process are resumed at start.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { JobModel, JobRecord } from './job-records';

/** One step of a job: advances `position` and reports how much it did, and whether the job is finished. */
export type JobStep = (job: JobRecord) => Promise<{ position: Record<string, unknown>; processed: number; done: boolean }>;

export interface JobRunner {
  /** Records a job and wakes the runner; returns the job id. */
  enqueue(kind: string, tenant: string, input: Record<string, unknown>): Promise<string>;
  /** Resolves when no job is queued or running (tests, shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startJobRunner(jobs: JobModel, kinds: Readonly<Record<string, JobStep>>, logger: Logger): JobRunner {
  let stopped = false;
  let running: Promise<void> | undefined;
  let wakeAgain = false;
  const waiters: (() => void)[] = [];

  const runOne = async (): Promise<boolean> => {
    const job = await jobs.findOneAndUpdate({ status: { $in: ['queued', 'running'] } }, { $set: { status: 'running' } }, { sort: { createdAt: 1 }, returnDocument: 'after' }).lean<JobRecord>();
    if (!job) return false;
    const step = kinds[job.kind];
    if (!step) {
      await jobs.updateOne({ _id: job._id }, { $set: { status: 'failed', error: `no runner for job kind '${job.kind}'` } });
      return true;
    }
    let current = job;
    try {
      while (!stopped) {
        const result = await step(current);
        const processed = current.processed + result.processed;
        await jobs.updateOne({ _id: job._id }, { $set: { position: result.position, processed, ...(result.done ? { status: 'completed' } : {}) } });
        current = { ...current, position: result.position, processed };
        if (result.done) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      logger.error({ err: error, job: job._id, kind: job.kind }, 'job failed');
      await jobs.updateOne({ _id: job._id }, { $set: { status: 'failed', error: (error as Error).message } });
    }
    return true;
  };

  const wake = (): void => {
    if (running) {
      wakeAgain = true;
      return;
    }
    running = (async () => {
      do {
        wakeAgain = false;
        while (!stopped && (await runOne()));
      } while (wakeAgain && !stopped);
    })()
      .catch((error: unknown) => logger.error({ err: error }, 'job runner failed'))
      .finally(() => {
        running = undefined;
        waiters.splice(0).forEach((resolve) => resolve());
      });
  };

  wake();
  return {
    enqueue: async (kind, tenant, input) => {
      const id = randomUUID();
      await jobs.create({ _id: id, kind, tenant, status: 'queued', input, position: {}, processed: 0 });
      wake();
      return id;
    },
    idle: () => (running ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve()),
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}
