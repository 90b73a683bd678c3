// Bundles every process with esbuild: one bundle per process, plus one per test file.
// Usage: node scripts/build.mjs [--watch]
import * as esbuild from 'esbuild';
import { cpSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
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

// etcd3 loads `${__dirname}/../proto/rpc.proto` at runtime; bundled, __dirname is out/ (or out/test/...). Its .proto
// files are copied to out/etcd3-proto/ and the path is rewritten to the nearest etcd3-proto folder above the bundle.
const etcd3ProtoDir = join(root, 'node_modules/etcd3/proto');
const etcd3Proto = {
  name: 'etcd3-proto',
  setup(build) {
    build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const find =
        "(function(){const p=require('path'),f=require('fs');let d=__dirname;for(let i=0;i<6;i++){const c=p.join(d,'etcd3-proto','rpc.proto');" +
        "if(f.existsSync(c))return c;d=p.dirname(d);}return p.join(__dirname,'etcd3-proto','rpc.proto');})()";
      const out = src.replace('`${__dirname}/../proto/rpc.proto`', find);
      if (out === src) throw new Error('etcd3: the rpc.proto path to rewrite was not found (etcd3 changed?)');
      return { contents: out, loader: 'js' };
    });
  },
};
if (existsSync(etcd3ProtoDir)) cpSync(etcd3ProtoDir, join(root, 'out/etcd3-proto'), { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  // `vscode` is provided by the host; ws's native speed-ups are optional.
  external: ['vscode', 'bufferutil', 'utf-8-validate'],
  // The codecs' upstream .proto excerpts go into the bundle as text: no file to ship beside it.
  loader: { '.proto': 'text' },
  plugins: [etcd3Proto],
};

const entryPoints = Object.entries(processes)
  .filter(([, src]) => existsSync(join(root, src)))
  .map(([out, src]) => ({ out, in: join(root, src) }));

const binBanner = { js: '#!/usr/bin/env node' };
const builds = [{ ...common, entryPoints, outdir: join(root, 'out'), banner: binBanner }];

// The topology webview's page script and stylesheet, for the browser: out/webview/ is the only folder the
// webview may load from (its localResourceRoots).
const webviewDir = join(root, 'src/extension/views/topology/webview');
if (existsSync(webviewDir)) {
  builds.push({
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: false,
    logLevel: 'warning',
    entryPoints: [
      { out: 'topology', in: join(webviewDir, 'main.ts') },
      { out: 'topology', in: join(webviewDir, 'topology.css') },
    ],
    outdir: join(root, 'out/webview'),
  });
}

// Tests: every *.test.ts, and the integration-suite runners, bundled to out/test/...
const testEntries = walk(join(root, 'test'))
  .filter((f) => /\.test\.ts$|[\\/](index|run[^\\/]*)\.ts$/.test(f))
  .map((f) => ({ out: relative(root, f).replace(/\.ts$/, ''), in: f }));
if (testEntries.length) {
  // The test drivers load playwright-core, @vscode/test-electron and vscode-oniguruma (its wasm) from node_modules: they ship
  // assets and resolve files relative to their own package, so they must not be bundled. ESLint (the layer rules' test)
  // loads eslint.config.mjs and its plugins at run time.
  const testExternal = [...common.external, 'mocha', 'eslint', 'playwright-core', '@vscode/test-electron', 'vscode-oniguruma'];
  // The unit tests run without VS Code: in their bundles `vscode` is a small fake (test/unit/extension/fake-vscode.ts),
  // so the extension's own logic (trees, commands) is tested in the unit tier. The other suites get the host's.
  const fakeVscode = join(root, 'test/unit/extension/fake-vscode.ts');
  const isUnit = (e) => existsSync(fakeVscode) && /^test[\\/]unit[\\/]/.test(e.out);
  builds.push({ ...common, entryPoints: testEntries.filter((e) => !isUnit(e)), outdir: join(root, 'out'), external: testExternal });
  const unitEntries = testEntries.filter(isUnit);
  if (unitEntries.length) {
    builds.push({
      ...common,
      entryPoints: unitEntries,
      outdir: join(root, 'out'),
      external: testExternal.filter((x) => x !== 'vscode'),
      alias: { vscode: fakeVscode },
    });
  }
  // The UI bench drives code-server like the UI test and shares its drivers: bundled like them, and
  // as deep below out/ as they are (they find the repo root three folders up).
  if (existsSync(join(root, 'bench/ui/run.ts'))) {
    builds.push({
      ...common,
      entryPoints: [{ out: 'bench/ui/run', in: join(root, 'bench/ui/run.ts') }],
      outdir: join(root, 'out'),
      external: testExternal,
    });
  }
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('watching…');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
