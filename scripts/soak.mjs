// The chaos suite with soak counts (test/chaos/counts.ts, profile `soak`): 10 to 50 times the CI counts.
// Not part of CI. Any count can be overridden, e.g. `CHAOS_KILLS=200 npm run soak`; the figures are
// printed per scenario and as a table at the end.
// Usage: npm run soak [-- --grep <scenario>]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const report = join(mkdtempSync(join(tmpdir(), 'soak-')), 'figures.jsonl');
const started = Date.now();
const mocha = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules/mocha/bin/mocha.js'),
    '--config',
    join(root, '.mocharc.chaos.json'),
    '--timeout',
    '0',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, CHAOS_PROFILE: 'soak', CHAOS_REPORT: report } },
);

const rows = existsSync(report)
  ? readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
const overrides = Object.entries(process.env).filter(([k]) => k.startsWith('CHAOS_') && !['CHAOS_PROFILE', 'CHAOS_REPORT'].includes(k));
console.log(
  `\nsoak figures (${((Date.now() - started) / 60000).toFixed(1)} min${overrides.length ? `; ${overrides.map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}):`,
);
console.log('| scenario | tries | crashes | hangs | state changes | entities lost | refused as expected |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.scenario} | ${r.tries} | ${r.crashes} | ${r.hangs} | ${r.stateChanges} | ${r.entitiesLost} | ${r.refusedAsExpected} |`,
  );
}
process.exit(mocha.status ?? 1);
