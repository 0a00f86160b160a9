/**
 * Runs durable jobs in the background, one at a time and in small steps, so that they never hold up requests:
 * a job kind is a function doing one step (a batch) and saying whether it is done. Progress is saved after each
 * step; jobs left running by a stopped process are resumed at start. A job may be scheduled for later (`runAt`):
 * the runner sleeps until the earliest one is due, and one started after that time runs it at once, so a
 * scheduled job survives restarts. A runner takes only the kinds it knows, so several runners can share the
 * records (a slow reindex does not delay the end of an emergency access).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { JobModel, JobRecord } from './job-records';

/** One step of a job: advances `position` and reports how much it did, and whether the job is finished. */
export type JobStep = (job: JobRecord) => Promise<{ position: Record<string, unknown>; processed: number; done: boolean }>;

export interface EnqueueOptions {
  /** Not before this time; default: at once. */
  readonly runAt?: Date;
}

export interface JobRunner {
  /** Records a job and wakes the runner; returns the job id. */
  enqueue(kind: string, tenant: string, input: Record<string, unknown>, options?: EnqueueOptions): Promise<string>;
  /** Resolves when no job is due or running (tests, shutdown); jobs scheduled for later may remain. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** The longest single sleep (setTimeout's limit is about 24.8 days); the runner looks again after it. */
const MAX_SLEEP_MS = 60 * 60 * 1000;

export function startJobRunner(jobs: JobModel, kinds: Readonly<Record<string, JobStep>>, logger: Logger): JobRunner {
  let stopped = false;
  let running: Promise<void> | undefined;
  let wakeAgain = false;
  let timer: NodeJS.Timeout | undefined;
  const waiters: (() => void)[] = [];
  const known = Object.keys(kinds);

  const runOne = async (): Promise<boolean> => {
    const job = await jobs
      .findOneAndUpdate({ status: { $in: ['queued', 'running'] }, kind: { $in: known }, $or: [{ runAt: null }, { runAt: { $lte: new Date() } }] }, { $set: { status: 'running' } }, { sort: { createdAt: 1 }, returnDocument: 'after' })
      .lean<JobRecord>();
    if (!job) return false;
    // The query takes only known kinds.
    const step = kinds[job.kind] as JobStep;
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

  /**
   * Sleeps until the earliest scheduled job of a known kind is due. One that fell due since the last look (a timer
   * firing a little early, or a slow query) is due at once: looking only at future ones would leave it asleep.
   */
  const sleepUntilNext = async (): Promise<void> => {
    const next = await jobs.findOne({ status: 'queued', kind: { $in: known }, runAt: { $ne: null } }, { runAt: 1 }).sort({ runAt: 1 }).lean<JobRecord>();
    if (stopped || !next?.runAt) return;
    clearTimeout(timer);
    timer = setTimeout(wake, Math.min(Math.max(next.runAt.getTime() - Date.now(), 0), MAX_SLEEP_MS));
    timer.unref();
  };

  function wake(): void {
    if (running) {
      wakeAgain = true;
      return;
    }
    running = (async () => {
      do {
        wakeAgain = false;
        while (!stopped && (await runOne()));
        // A job enqueued meanwhile sets wakeAgain: drain again before sleeping.
        if (!wakeAgain) await sleepUntilNext();
      } while (wakeAgain && !stopped);
    })()
      .catch((error: unknown) => logger.error({ err: error }, 'job runner failed'))
      .finally(() => {
        running = undefined;
        // A wake between the last check and here must not be lost; the waiters then wait for that run.
        if (wakeAgain && !stopped) wake();
        else waiters.splice(0).forEach((resolve) => resolve());
      });
  }

  wake();
  return {
    enqueue: async (kind, tenant, input, options = {}) => {
      const id = randomUUID();
      await jobs.create({ _id: id, kind, tenant, status: 'queued', input, position: {}, processed: 0, ...(options.runAt ? { runAt: options.runAt } : {}) });
      wake();
      return id;
    },
    idle: () => (running ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve()),
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
