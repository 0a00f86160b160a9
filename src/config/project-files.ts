/**
 * Files the server ships beside its code (profiles/, seed/, capability-statement/, docs/). They are found from
 * the project root, the directory of package.json, so that the same code finds them when run from src/ through
 * ts-node and when run from the build in dist/src/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

const ROOT = findRoot(__dirname);

/** The absolute path of `segments` under the project root. */
export function projectFile(...segments: string[]): string {
  return path.join(ROOT, ...segments);
}
