// Bundles every process with esbuild: one bundle per process, plus one per test file.
// Usage: node scripts/build.mjs [--watch]
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const watch = process.argv.includes('--watch');

/** Process entry points: out/<name>.js. Missing ones are skipped so layers can land one at a time. */
const processes = {
  extension: 'src/extension/main.ts',
  server: 'src/server/main.ts',
  'cluster-sim': 'src/simulator/cli.ts',
  'cluster-check': 'src/cli/main.ts',
  'cluster-gateway': 'src/gateway/cli.ts',
  bench: 'bench/bench.ts',
};

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  // `vscode` is provided by the host; ws's native speed-ups are optional.
  external: ['vscode', 'bufferutil', 'utf-8-validate'],
};


const entryPoints = Object.entries(processes)
  .filter(([, src]) => existsSync(join(root, src)))
  .map(([out, src]) => ({ out, in: join(root, src) }));

const binBanner = { js: '#!/usr/bin/env node' };
const builds = [
  { ...common, entryPoints, outdir: join(root, 'out'), banner: binBanner },
];

// Tests: every *.test.ts, and the integration-suite runners, bundled to out/test/...
const testEntries = walk(join(root, 'test'))
  .filter((f) => /\.test\.ts$|[\\/](index|run[^\\/]*)\.ts$/.test(f))
  .map((f) => ({ out: relative(root, f).replace(/\.ts$/, ''), in: f }));
if (testEntries.length) {
  // The test drivers load playwright-core, @vscode/test-electron and vscode-oniguruma (its wasm) from node_modules: they ship
  // assets and resolve files relative to their own package, so they must not be bundled.
  const testExternal = [...common.external, 'mocha', 'playwright-core', '@vscode/test-electron', 'vscode-oniguruma'];
  builds.push({ ...common, entryPoints: testEntries, outdir: join(root, 'out'), external: testExternal });
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('watching…');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
