/**
 * scripts/grep-secrets.mjs, the last step of `npm test` (#20: no password or token in any output of the
 * test run), can fail: a secret planted in a text or a binary file is found, with its file and line and
 * masked; a folder without one passes; `.secrets/` and the declared inputs are not searched.
 */
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { grepSecrets, main, SECRET_MARKER } from '../../scripts/grep-secrets.mjs';
import { SECRET_MARKER as TEST_MARKER } from '../secrets';

describe('grep-secrets (the whole-run search for test secrets)', () => {
  let dir: string;
  // Built here, not with testSecret: under `npm test` that would list it in the run's own .secrets/known.
  const planted = `${SECRET_MARKER}planted-0123456789abcdef01`;
  const literal = 'generated-password-Zq81';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'grep-secrets-test-'));
    mkdirSync(join(dir, 'logs', 'deep'), { recursive: true });
    writeFileSync(join(dir, 'logs', 'gateway.log'), 'listening ws://127.0.0.1:1234\nusers: operators alice\n');
    writeFileSync(join(dir, 'report.sarif'), JSON.stringify({ runs: [{ results: [] }] }));
  });
  // Always removed (not removeTestDir): the planted secret must not reach the run's own search.
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(...args: string[]): { code: number; out: string } {
    let out = '';
    const code = main([...args, dir], (s) => (out += s));
    return { code, out };
  }

  it('has the marker test/secrets.ts gives every test secret', () => assert.equal(SECRET_MARKER, TEST_MARKER));

  it('passes a folder with no secret (exit 0)', () => {
    const r = run();
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /no test secret/);
  });

  it('finds a planted secret in a text file: exit 1, the file, the line, the secret masked', () => {
    writeFileSync(join(dir, 'logs', 'deep', 'sim.log'), `started\nconnect with Bearer ${planted} now\nbye\n`);
    const r = run();
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /logs\/deep\/sim\.log:2: a test secret: connect with Bearer \[test secret "planted"\] now/);
    assert.ok(!r.out.includes(planted) && !r.out.includes('0123456789abcdef'), 'the report shows no secret');
    assert.ok(!r.out.includes(SECRET_MARKER), 'nor the marker (the report may itself be kept)');
  });

  it('finds one in a binary file, and a known literal without the marker', () => {
    writeFileSync(
      join(dir, 'shot.png'),
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), Buffer.from(planted), Buffer.from([0, 0xff])]),
    );
    writeFileSync(join(dir, 'journal.jsonl'), `{"a":1}\n{"by":"${literal}"}\n`);
    mkdirSync(join(dir, '.secrets'));
    writeFileSync(join(dir, '.secrets', 'known'), `${planted}\n${literal}\nshort\n`);
    const found = grepSecrets({ dirs: [dir] });
    assert.deepEqual(found.map((f) => [f.file.replace(/.*grep-secrets-test-[^/]+\//, ''), f.line, f.what]).sort(), [
      ['journal.jsonl', 2, 'literal'],
      ['shot.png', 1, 'marker'],
    ]);
    assert.ok(found.every((f) => !f.excerpt.includes(literal) && !f.excerpt.includes(planted)));
    assert.equal(run().code, 1);
  });

  it('skips .secrets/ and the inputs it lists (a config a program must read), older files with --newer-than, and listed folders whole', () => {
    mkdirSync(join(dir, '.secrets'));
    writeFileSync(join(dir, '.secrets', 'known'), `${planted}\n`);
    const config = join(dir, 'gateway.json');
    writeFileSync(config, JSON.stringify({ token: planted }));
    writeFileSync(join(dir, '.secrets', 'inputs'), `${config}\n`);
    assert.equal(run().code, 0);
    writeFileSync(join(dir, 'status.json'), JSON.stringify({ token: planted }));
    assert.equal(run().code, 1);
    assert.equal(run('--newer-than', String(Date.now() + 60_000)).code, 0, 'nothing is newer than a minute from now');
    mkdirSync(join(dir, 'browser-profile'));
    writeFileSync(join(dir, 'browser-profile', 'Local Storage'), planted);
    writeFileSync(join(dir, '.secrets', 'inputs'), `${config}\n${join(dir, 'status.json')}\n${join(dir, 'browser-profile')}\n`);
    assert.equal(run().code, 0, 'a listed folder is skipped whole');
    writeFileSync(join(dir, 'browser-profile.log'), planted);
    assert.equal(run().code, 1, 'but not a file that only starts with its name');
  });

  it('refuses a call without a folder (exit 2)', () => {
    let out = '';
    assert.equal(
      main([], (s) => (out += s)),
      2,
    );
    assert.match(out, /usage/);
  });
});
