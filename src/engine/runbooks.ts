/**
 * The runbooks' base URL for a process of this machine (the language server, `cluster-check`):
 * src/protocol/runbooks.ts decides; this finds the installed copy of docs/rules/ it falls back to.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RUNBOOKS_DIR, runbooksBase } from '../protocol/runbooks';

/**
 * The nearest docs/rules/ (holding its README.md) in `from` or a folder above it: a bundle is
 * `out/<process>.js` in the repository and in the installed extension (docs/ beside out/), and a
 * test bundle is deeper under out/test/.
 */
export function findRunbooksDir(from: string = __dirname): string | undefined {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, RUNBOOKS_DIR);
    if (existsSync(join(candidate, 'README.md'))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

let cached: { base: string | undefined } | undefined;

/** The runbooks' base for this process (read once): the environment's, the published one, or the installed copy. */
export function processRunbooksBase(): string | undefined {
  if (!cached) {
    const dir = findRunbooksDir();
    cached = { base: runbooksBase(process.env, dir && pathToFileURL(dir).href) };
  }
  return cached.base;
}
