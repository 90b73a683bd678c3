/**
 * Appending a bench's table to `bench/RESULTS.md`, headed with what makes
 * figures comparable: the date, the commit, the machine (CPUs, memory, Node)
 * and the command that produced them.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** `out/bench.js` runs from `out/`; the file is `bench/RESULTS.md` beside it in the repo. */
function resultsFile(outDir: string): string | undefined {
  const file = join(outDir, '..', 'bench', 'RESULTS.md');
  return existsSync(file) ? file : undefined;
}

function commitOf(dir: string): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: dir, encoding: 'utf8' }).trim();
    return dirty ? `${sha} (+ uncommitted changes)` : sha;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** The date, commit and machine line a recorded table starts with. */
export function runHeader(outDir: string): string {
  const date = new Date().toISOString().slice(0, 10);
  const memGiB = (totalmem() / 2 ** 30).toFixed(0);
  return `${date}, commit ${commitOf(join(outDir, '..'))}, ${cpus().length} CPUs (nproc), ${memGiB} GiB RAM, Node ${process.version}`;
}

/** Appends `## title` with the run header, the command, and `body` (markdown) to `bench/RESULTS.md`. */
export function appendResults(outDir: string, title: string, command: string, body: string): void {
  const file = resultsFile(outDir);
  if (!file) {
    console.log(`(bench/RESULTS.md not found next to ${outDir}; the table was not recorded)`);
    return;
  }
  appendFileSync(file, `\n## ${title}\n\n${runHeader(outDir)}. \`${command}\`\n\n${body.trimEnd()}\n`);
  console.log(`recorded in ${file}`);
}
