// `npm test`: the one full command, as CI runs it (.ci/run). Runs the tiers in this order, stopping at the
// first step that fails: typecheck, lint, build, test:unit, test:chaos, test:vscode, test:ui. Then it searches
// everything the run printed and left for a test secret (#20: "grep finds no password or token in any output of
// the test run"), and fails if one is found.
//
// Where it saves time over `npm run typecheck && npm run lint && … && npm run test:ui` (the same tiers, the same
// tests), on a 2-core machine:
// - typecheck, lint and build are independent: they run side by side, and so does the editor tiers' set-up
//   (scripts/vscode-host/setup.sh: code-server's install, about 70 s in a fresh clone, mostly npm and disk);
//   nothing timed runs beside them;
// - the VSIX is packaged once, from the build tier's out/ (`npm run package:vsix`), for both editor tiers: run
//   alone, `npm run test:vscode` and `npm run test:ui` each build and package it again, and set up code-server;
//   here they run only their suites (`test:vscode:packaged`, `test:ui:packaged`);
// - each step's time is printed as it ends, and all of them at the end (also in tiers/times.txt).
//
// The run's outputs are collected in one folder, CLUSTER_DEBUGGER_TEST_OUTPUT_DIR (default: a new
// cluster-debugger-test-run-* in the system's temporary folder):
//   tiers/<step>.log  each step's stdout and stderr (also shown; a step that ran beside others is shown whole
//                     when it ends, so that their lines do not interleave),
//   logs/             what the simulators, gateways, language servers and CLIs the tests start printed
//                     (test/secrets.ts's keepChildOutput),
//   tmp/              the tests' TMPDIR: their temporary folders (journals, snapshots, reports, configs),
//                     left in place by removeTestDir until the search,
//   .secrets/         the literals of the run's test secrets and the input files that must hold one (not searched).
// The search (scripts/grep-secrets.mjs) covers that folder and what the run added to .test-artifacts/ (the
// VS Code host's logs, the UI suite's screenshots). Then tmp/ is removed (unless a secret was found there), and
// the whole folder if it was the default one and everything passed; otherwise its path is printed.
//
// CLUSTER_DEBUGGER_TEST_TIERS=build,test:unit (say) runs only those tiers, in the order above; the search runs anyway.
// With test:vscode or test:ui and without build, the VSIX is built and packaged as `npm run package` does.
import { spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { main as grepSecrets } from './grep-secrets.mjs';

const root = new URL('..', import.meta.url).pathname;
const TIERS = ['typecheck', 'lint', 'build', 'test:unit', 'test:chaos', 'test:vscode', 'test:ui'];

const only = process.env.CLUSTER_DEBUGGER_TEST_TIERS?.split(',')
  .map((t) => t.trim())
  .filter(Boolean);
const unknown = (only ?? []).filter((t) => !TIERS.includes(t));
if (unknown.length > 0) {
  process.stderr.write(`CLUSTER_DEBUGGER_TEST_TIERS: no tier ${unknown.join(', ')} (the tiers: ${TIERS.join(', ')})\n`);
  process.exit(2);
}
const tiers = only ? TIERS.filter((t) => only.includes(t)) : TIERS;

const given = process.env.CLUSTER_DEBUGGER_TEST_OUTPUT_DIR;
const outDir = given ? resolve(given) : mkdtempSync(join(tmpdir(), 'cluster-debugger-test-run-'));
const tmp = join(outDir, 'tmp');
mkdirSync(join(outDir, 'tiers'), { recursive: true });
mkdirSync(tmp, { recursive: true });
// The stores' helpers run PostgreSQL as the `postgres` user when root: it must be able to reach its folder below tmp/.
chmodSync(outDir, 0o755);
chmodSync(tmp, 0o755);

const env = {
  ...process.env,
  CLUSTER_DEBUGGER_TEST_OUTPUT_DIR: outDir,
  TMPDIR: tmp,
  PATH: `${join(root, 'node_modules', '.bin')}${delimiter}${process.env.PATH}`,
};

/**
 * `npm run <script>`, its output kept in tiers/<name>.log and shown: as it comes, or (`buffered`, for a step
 * that runs beside others) whole when it ends. Resolves to whether it passed, and how long it took.
 */
function run({ name, script }, buffered) {
  const log = createWriteStream(join(outDir, 'tiers', `${name.replace(':', '-')}.log`));
  const start = performance.now();
  const held = [];
  const show = (stream, d) => (buffered ? held.push([stream, d]) : stream.write(d));
  return new Promise((resolvePromise) => {
    const child = spawn('npm', ['run', script], { cwd: root, env, stdio: [buffered ? 'ignore' : 'inherit', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => {
      show(process.stdout, d);
      log.write(d);
    });
    child.stderr.on('data', (d) => {
      show(process.stderr, d);
      log.write(d);
    });
    child.on('close', (code, signal) =>
      log.end(() => {
        const seconds = (performance.now() - start) / 1000;
        if (buffered) {
          process.stdout.write(`\n== npm run ${script} (beside others)\n`);
          for (const [stream, d] of held) stream.write(d);
        }
        process.stdout.write(`== ${name}: ${code === 0 ? 'passed' : 'FAILED'} in ${seconds.toFixed(1)} s\n`);
        resolvePromise({ name, ok: code === 0, why: signal ?? `exit ${code}`, seconds });
      }),
    );
  });
}

/** The steps, in order; the steps of one group run side by side. */
const chosen = (t) => tiers.includes(t);
const editor = chosen('test:vscode') || chosen('test:ui');
const groups = [
  [
    ...['typecheck', 'lint', 'build'].filter(chosen).map((t) => ({ name: t, script: t })),
    ...(editor ? [{ name: 'setup:vscode-host', script: 'setup:vscode-host' }] : []),
  ],
  // The VSIX both editor tiers install: from the build tier's out/ when it ran, else built here as `npm run package` does.
  editor ? [{ name: 'package', script: chosen('build') ? 'package:vsix' : 'package' }] : [],
  ...['test:unit', 'test:chaos'].filter(chosen).map((t) => [{ name: t, script: t }]),
  ...['test:vscode', 'test:ui'].filter(chosen).map((t) => [{ name: t, script: `${t}:packaged` }]),
].filter((g) => g.length > 0);

const started = Date.now();
const results = [];
let failed;
for (const group of groups) {
  if (group.length === 1) process.stdout.write(`\n== npm run ${group[0].script}\n`);
  else process.stdout.write(`\n== side by side: ${group.map((s) => `npm run ${s.script}`).join(', ')}\n`);
  const done = await Promise.all(group.map((step) => run(step, group.length > 1)));
  results.push(...done);
  const bad = done.filter((r) => !r.ok);
  if (bad.length > 0) {
    failed = bad.map((r) => `${r.name} failed (${r.why})`).join(', ');
    break;
  }
}
const times = results.map((r) => `${r.name} ${r.seconds.toFixed(1)} s${r.ok ? '' : ' (FAILED)'}`).join(', ');
writeFileSync(join(outDir, 'tiers', 'times.txt'), `${times}\n`);
process.stdout.write(`\n== steps: ${times}; ${((Date.now() - started) / 1000).toFixed(1)} s in all\n`);

process.stdout.write(`\n== searching the run's outputs for passwords and tokens (${outDir}, .test-artifacts/)\n`);
const searched = Date.now();
const leaked = grepSecrets([outDir]) !== 0;
const artifacts = join(root, '.test-artifacts');
const leakedArtifacts = grepSecrets(['--known', join(outDir, '.secrets', 'known'), '--newer-than', String(started), artifacts]) !== 0;
process.stdout.write(`== the search took ${((Date.now() - searched) / 1000).toFixed(1)} s\n`);

// Kept after a leak, for a person to look at the files named above.
if (!leaked) rmSync(tmp, { recursive: true, force: true });
const ok = !failed && !leaked && !leakedArtifacts;
if (ok && !given) rmSync(outDir, { recursive: true, force: true });
else process.stdout.write(`the run's outputs: ${outDir}\n`);
if (failed) process.stderr.write(`npm test: ${failed}\n`);
if (leaked || leakedArtifacts) process.stderr.write('npm test: a test secret leaked into an output (above: file, line, masked excerpt)\n');
process.exitCode = ok ? 0 : 1;
