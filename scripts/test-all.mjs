// `npm test`: the one full command, as CI runs it (.ci/run). Runs the tiers one after the other, stopping at
// the first that fails, as `a && b && …` would: typecheck, lint, build, test:unit, test:chaos, test:vscode,
// test:ui. Then it searches everything the run printed and left for a test secret (#20: "grep finds no
// password or token in any output of the test run"), and fails if one is found.
//
// The run's outputs are collected in one folder, CLUSTER_DEBUGGER_TEST_OUTPUT_DIR (default: a new
// cluster-debugger-test-run-* in the system's temporary folder):
//   tiers/<tier>.log  each tier's stdout and stderr (also shown as usual),
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
import { spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

/** `npm run <tier>`, its output shown and kept in tiers/<tier>.log; resolves to whether it passed. */
function run(tier) {
  const log = createWriteStream(join(outDir, 'tiers', `${tier.replace(':', '-')}.log`));
  return new Promise((resolvePromise) => {
    const child = spawn('npm', ['run', tier], { cwd: root, env, stdio: ['inherit', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      log.write(d);
    });
    child.stderr.on('data', (d) => {
      process.stderr.write(d);
      log.write(d);
    });
    child.on('close', (code, signal) => log.end(() => resolvePromise({ ok: code === 0, why: signal ?? `exit ${code}` })));
  });
}

const started = Date.now();
let failed;
for (const tier of tiers) {
  process.stdout.write(`\n== npm run ${tier}\n`);
  const r = await run(tier);
  if (!r.ok) {
    failed = `${tier} failed (${r.why})`;
    break;
  }
}

process.stdout.write(`\n== searching the run's outputs for passwords and tokens (${outDir}, .test-artifacts/)\n`);
const leaked = grepSecrets([outDir]) !== 0;
const artifacts = join(root, '.test-artifacts');
const leakedArtifacts = grepSecrets(['--known', join(outDir, '.secrets', 'known'), '--newer-than', String(started), artifacts]) !== 0;

// Kept after a leak, for a person to look at the files named above.
if (!leaked) rmSync(tmp, { recursive: true, force: true });
const ok = !failed && !leaked && !leakedArtifacts;
if (ok && !given) rmSync(outDir, { recursive: true, force: true });
else process.stdout.write(`the run's outputs: ${outDir}\n`);
if (failed) process.stderr.write(`npm test: ${failed}\n`);
if (leaked || leakedArtifacts) process.stderr.write('npm test: a test secret leaked into an output (above: file, line, masked excerpt)\n');
process.exitCode = ok ? 0 : 1;
