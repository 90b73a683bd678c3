/**
 * `npm run test:fast` (.mocharc.fast.json) runs only tests that need no root, no browser, no store and no
 * child process. Mocha only warns on a spec that matches no file, so a renamed test would silently leave
 * the tier: every spec must name test files that exist, and none of them may reach for a store or a process.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** What starts a store, a browser or a child process in the tests: their helpers, and Node's own API. */
const SLOW = [
  /from '\.\.?\/(\.\.\/gateway\/)?(etcd|postgres|fluvio-sc|certs)'/,
  /from '[./]+(cli\/)?cliProcess'/,
  /from '[./]+(server\/)?lsp'/,
  /\bstartSim\(/,
  /'node:child_process'|'child_process'/,
  /playwright|code-server|vscode-host/,
];

/** The TypeScript test files a spec of .mocharc.fast.json stands for (`out/test/x/**\/*.test.js` or one file). */
function sources(spec: string): string[] {
  const path = spec.replace(/^out\//, '').replace(/\.js$/, '.ts');
  const glob = path.match(/^(.*)\/\*\*\/\*\.test\.ts$/);
  if (!glob) return [path];
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(`${dir}/${e.name}`) : e.name.endsWith('.test.ts') ? [`${dir}/${e.name}`] : [],
    );
  return walk(glob[1]);
}

describe('test:fast tier (.mocharc.fast.json)', () => {
  const specs: string[] = JSON.parse(readFileSync(join(ROOT, '.mocharc.fast.json'), 'utf8')).spec;

  it('names only test files that exist', () => {
    for (const spec of specs) {
      const files = sources(spec);
      assert.ok(files.length > 0, `${spec} matches no test`);
      for (const f of files) assert.ok(existsSync(join(ROOT, f)), `${spec}: ${f} does not exist`);
    }
  });

  it('starts no store, browser or child process', () => {
    for (const f of specs.flatMap(sources).filter((f) => f !== 'test/unit/tiers.test.ts')) {
      const text = readFileSync(join(ROOT, f), 'utf8');
      for (const re of SLOW) assert.doesNotMatch(text, re, `${f} belongs in a slower tier (npm run test:unit)`);
    }
  });
});
