// `npm run test:fast`: the type check, lint and the tests that need no root, no browser, no store and no
// child process (.mocharc.fast.json: test/unit/ and the gateway's in-process tests), for the edit–test loop.
// The type check, lint and build run side by side (they are independent), then the tests; each step's time
// is printed. The type check and lint keep caches in .cache/, so a second run checks only what changed.
// `npm test` stays the one full command: it runs all of this (uncached) and the slower tiers.
import { spawn } from 'node:child_process';
import { delimiter, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const env = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}${delimiter}${process.env.PATH}` };

/** Runs `command` in the repository; resolves to its exit code and duration, its output passed through. */
function run(name, command) {
  const start = performance.now();
  return new Promise((resolvePromise) => {
    const child = spawn(command, { cwd: root, env, shell: true, stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      resolvePromise({ name, ok: code === 0, seconds: (performance.now() - start) / 1000, why: signal ?? `exit ${code}` });
    });
  });
}

/** `npm run typecheck`, remembering what it checked in .cache/tsc/. */
const typecheck = ['main', 'webview']
  .map((p) => `tsc -p ${p === 'main' ? '.' : `tsconfig.${p}.json`} --noEmit --incremental --tsBuildInfoFile .cache/tsc/${p}.tsbuildinfo`)
  .join(' && ');

const steps = [
  [
    ['typecheck', typecheck],
    ['lint', 'eslint --cache --cache-strategy content --cache-location .cache/eslint/ .'],
    ['format', 'prettier --check --cache --cache-location .cache/prettier .'],
    ['build', 'node scripts/build.mjs'],
  ],
  [['tests', 'mocha --config .mocharc.fast.json']],
];

const started = performance.now();
const results = [];
let failed = false;
for (const parallel of steps) {
  results.push(...(await Promise.all(parallel.map(([name, command]) => run(name, command)))));
  failed = results.some((r) => !r.ok);
  if (failed) break;
}
const total = (performance.now() - started) / 1000;
console.log(
  `\ntest:fast ${failed ? 'FAILED' : 'passed'} in ${total.toFixed(1)} s: ` +
    results.map((r) => `${r.name} ${r.seconds.toFixed(1)} s${r.ok ? '' : ` (FAILED, ${r.why})`}`).join(', '),
);
process.exitCode = failed ? 1 : 0;
