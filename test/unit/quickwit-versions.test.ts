/**
 * The Quickwit version a metastore's `_sqlx_migrations` names, and which versions the shards rules
 * apply to (RULE_VERSIONS): releases from the tags' migration folders, #5029 between migrations 19
 * and 20, #6531 not fixed.
 */
import * as assert from 'node:assert/strict';
import { quickwitVersionOf } from '../../src/codecs/quickwit';
import { RULE_VERSIONS, ruleReadiness } from '../../src/protocol';
import { status } from './fixtures';

describe('Quickwit versions (from _sqlx_migrations)', () => {
  it('names the release of each highest migration, or the main builds between two releases', () => {
    assert.equal(quickwitVersionOf(13), '0.7.0 (migration 13)');
    assert.equal(quickwitVersionOf(16), '0.8.0 to 0.8.2 (migration 16)');
    assert.equal(quickwitVersionOf(19), '0.8.0-main: a main build after 0.8.0, before 0.9.0 (migration 19)');
    assert.equal(quickwitVersionOf(28), '0.9.0 or a later main build (migration 28)');
    assert.equal(quickwitVersionOf(29), '0.9.0-main: a main build after 0.9.0 (migration 29)');
    assert.equal(quickwitVersionOf(3), '0.5.0 or older (migration 3)');
  });

  it('shards/dangling: 0.7–0.8 yes, main builds at 17–19 unknown (checked), from 20 on not applicable; shards/orphaned everywhere from 12', () => {
    const dangling = RULE_VERSIONS['shards/dangling']!;
    const orphaned = RULE_VERSIONS['shards/orphaned']!;
    const at = (m: number) => quickwitVersionOf(m);
    assert.deepEqual(
      [11, 13, 16, 17, 19, 20, 28].map((m) => dangling.applies(at(m))),
      [false, true, true, undefined, undefined, false, false],
    );
    assert.deepEqual(
      [11, 12, 16, 28, 29].map((m) => orphaned.applies(at(m))),
      [false, true, true, true, true],
    );
    assert.equal(dangling.applies('0.8.2'), true);
    assert.equal(dangling.applies('0.9.1'), false);
    assert.equal(orphaned.fixedBy.startsWith('not fixed'), true);
  });

  it('the view says "not applicable" for dangling on 0.9 and checks it on 0.8', () => {
    const on = (m: number) =>
      status({
        subsystems: { shards: { state: 'ok', version: { system: 'Quickwit', version: quickwitVersionOf(m), from: '_sqlx_migrations' } } },
      });
    const r = ruleReadiness('shards/dangling', on(28));
    assert.equal(r.state, 'not-applicable');
    assert.match(
      (r as { reason: string }).reason,
      /^not applicable to Quickwit 0\.9\.0 or a later main build \(migration 28\) \(fixed by #5029/,
    );
    assert.equal(ruleReadiness('shards/dangling', on(16)).state, 'checked');
    assert.equal(ruleReadiness('shards/orphaned', on(28)).state, 'checked');
  });
});
