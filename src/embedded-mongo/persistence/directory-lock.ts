/**
 * One store per data directory: two writers appending to the same journal would interleave records and destroy it.
 * Like mongod's `mongod.lock`, the lock file names the owning process; a lock left by a process that died (kill -9)
 * is taken over.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCK_FILE = 'mongod.lock';

/** Lock files this process holds: a lock naming our own pid is ours only if listed (containers reuse pids). */
const heldLocks = new Set<string>();

export interface DirectoryLock {
  /** Removes the lock file so another process may open the directory. */
  release(): Promise<void>;
}

/**
 * Takes the lock of `dir`, or fails when a live process holds it.
 * @see https://www.mongodb.com/docs/manual/tutorial/recover-data-following-unexpected-shutdown/ (mongod.lock)
 */
export async function acquireDirectoryLock(dir: string): Promise<DirectoryLock> {
  const path = join(dir, LOCK_FILE);
  if (await createLockFile(path)) return holdLock(path);
  const owner = await readLockOwner(path);
  if (owner !== undefined && isLockOwnerAlive(owner, path)) {
    throw new Error(`the data directory ${dir} is in use by process ${owner} (lock file ${path})`);
  }
  await rm(path, { force: true });
  if (await createLockFile(path)) return holdLock(path);
  throw new Error(`the data directory ${dir} was locked by another process while taking over a stale lock (${path})`);
}

async function createLockFile(path: string): Promise<boolean> {
  try {
    await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function holdLock(path: string): DirectoryLock {
  heldLocks.add(path);
  return {
    release: async () => {
      heldLocks.delete(path);
      await rm(path, { force: true });
    },
  };
}

/** The pid in the lock file; undefined for an unreadable or empty file (its writer died while creating it). */
async function readLockOwner(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function isLockOwnerAlive(pid: number, path: string): boolean {
  if (pid === process.pid) return heldLocks.has(path);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
