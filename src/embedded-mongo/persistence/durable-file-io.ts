/**
 * The few file-system steps durability rests on, as promises over raw descriptors: a raw descriptor can be opened
 * synchronously, which compaction needs to switch journals without letting an append slip in between.
 */
import { close, fdatasync, fsync, ftruncate, open, write } from 'node:fs';

/** Opens a file and returns its descriptor. */
export function openFile(path: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, (error, fd) => (error ? reject(error) : resolve(fd))));
}

export function closeFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())));
}

/** Writes all of `data` at the descriptor's position (the end, for a file opened to append). */
export async function writeFully(fd: number, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    offset += await new Promise<number>((resolve, reject) =>
      write(fd, data, offset, data.length - offset, null, (error, written) => (error ? reject(error) : resolve(written))),
    );
  }
}

/** Makes written data (and the size needed to read it back) durable, skipping unrelated metadata. */
export function syncData(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

/** Makes a file's data and all its metadata durable. */
export function syncFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
}

/**
 * Makes the directory's entries (created, renamed, removed files) durable: a file fsynced into a directory whose
 * entry is not can vanish on power loss. Windows cannot open a directory for fsync, and its metadata is journaled.
 */
export async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fd = await openFile(dir, 'r');
  try {
    await syncFile(fd);
  } finally {
    await closeFile(fd);
  }
}

/** Cuts a file to `length` bytes and makes the cut durable. */
export async function truncateDurably(path: string, length: number): Promise<void> {
  const fd = await openFile(path, 'r+');
  try {
    await new Promise<void>((resolve, reject) => ftruncate(fd, length, (error) => (error ? reject(error) : resolve())));
    await syncFile(fd);
  } finally {
    await closeFile(fd);
  }
}
