/**
 * Every token and password a test hands to a program comes from test/secrets.ts's testSecret, so that
 * `npm test`'s last step (scripts/grep-secrets.mjs) can find it in any output of the run. A literal such
 * as `token: 't'` would be invisible to that search: this test finds one in any test file.
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** A token or password given as a literal: `token: '…'`, `TOKEN = '…'`, `password: '…'`, `'--token', '…'`, `CLUSTER_SIM_TOKEN: '…'`. */
const LITERAL = [
  // (not inside a string, as `'token: '`; not LSP's workDoneToken; a template that starts from a secret is one)
  /(?<![-'.\w])(token|password|[a-z]+(?<!workDone)Token|[A-Z_]*TOKEN|[A-Z_]*PASSWORD)\s*[:=]\s*(['"][^'"]|`[^`$])/,
  /'--token', '[^-']/,
  /'--token=[^-']/,
];

function testFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'fixtures' ? [] : testFiles(`${dir}/${e.name}`)) : /\.ts$/.test(e.name) ? [`${dir}/${e.name}`] : [],
  );
}

describe('test secrets (test/secrets.ts)', () => {
  it('no test file gives a program a token or password as a literal: each comes from testSecret', () => {
    const found: string[] = [];
    for (const f of [...testFiles('test'), ...testFiles('bench')]) {
      if (f === 'test/secrets.ts' || f === 'test/unit/test-secrets.test.ts') continue;
      readFileSync(join(ROOT, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // Snapshot fixtures' publish tokens are Quickwit data, not credentials.
          const code = line.replace(/publish_?[tT]oken\s*[:=]\s*['"`][^'"`]*['"`]/g, '');
          if (LITERAL.some((re) => re.test(code))) found.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(found, [], 'use testSecret(label) from test/secrets.ts instead');
  });
});
