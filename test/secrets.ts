/**
 * Every password and token the tests hand to a program comes from here, so that a whole test run can be
 * searched for them (#20: "grep finds no password or token in any output of the test run").
 *
 * `testSecret(label)` is `cd-test-secret-<label>-<random>`: the marker makes any test secret recognisable
 * in a log, a report or a screenshot's text without knowing its value, and the random part keeps it a real
 * secret (a server cannot guess it). Under `npm test` (scripts/test-all.mjs), CLUSTER_DEBUGGER_TEST_OUTPUT_DIR
 * names the folder that collects the run's outputs; there the helpers below also
 * - write the literal of each secret to `.secrets/known` (scripts/grep-secrets.mjs searches for each one,
 *   and skips `.secrets/`),
 * - name the files that are a program's INPUT and must hold a secret (a config with a token) in
 *   `.secrets/inputs`, which the search skips,
 * - keep what a child process printed in `logs/`, and leave the tests' temporary folders to be searched
 *   (the wrapper removes them after the search).
 * Without the variable (a single suite run by hand) they do only what the test asked.
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The prefix of every test secret. scripts/grep-secrets.mjs has its own copy (it runs without a build). */
export const SECRET_MARKER = 'cd-test-secret-';

/** The folder collecting this run's outputs (scripts/test-all.mjs sets it), or undefined. */
export function testOutputDir(): string | undefined {
  const dir = process.env.CLUSTER_DEBUGGER_TEST_OUTPUT_DIR;
  return dir ? resolve(dir) : undefined;
}

function record(file: 'known' | 'inputs', line: string): void {
  const dir = testOutputDir();
  if (!dir) return;
  mkdirSync(join(dir, '.secrets'), { recursive: true, mode: 0o700 });
  appendFileSync(join(dir, '.secrets', file), `${line}\n`, { mode: 0o600 });
}

/** A fresh secret, `cd-test-secret-<label>-<18 hex digits>`; `label` says what it is for (`sim`, `pg`, `alice`). */
export function testSecret(label: string): string {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(label)) throw new Error(`testSecret: label ${JSON.stringify(label)} is not kebab-case`);
  const secret = `${SECRET_MARKER}${label}-${randomBytes(9).toString('hex')}`;
  record('known', secret);
  return secret;
}

/** Writes a file a program reads and that must hold a secret (a gateway config with users' tokens, a password file). */
export function writeSecretInput(path: string, content: string | Buffer): void {
  writeFileSync(path, content, { mode: 0o600 });
  record('inputs', resolve(path));
}

/**
 * Removes a test's temporary folder, unless the run collects its outputs: then the folder (under the
 * run's TMPDIR) stays for scripts/grep-secrets.mjs, and scripts/test-all.mjs removes it afterwards.
 */
export function removeTestDir(dir: string): void {
  if (testOutputDir()) return;
  rmSync(dir, { recursive: true, force: true });
}

let logs = 0;

/** Keeps what `child` prints on stdout and stderr in the run's `logs/<name>-<n>.log`, when the run collects its outputs. */
export function keepChildOutput(child: ChildProcess, name: string): void {
  const dir = testOutputDir();
  if (!dir) return;
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const file = join(dir, 'logs', `${name}-${process.pid}-${++logs}.log`);
  const write = (d: Buffer | string) => appendFileSync(file, d);
  child.stdout?.on('data', write);
  child.stderr?.on('data', write);
}
