/**
 * A finding rests only on what was read: a rule is run only when every collection it compares was
 * read successfully, and only on a version that can have its bug; the views say which rule is not
 * checked, and why.
 */
import * as assert from 'node:assert/strict';
import { runChecks } from '../../src/analysis/checks';
import { RULE_VERSIONS, ruleNotes, ruleReadiness, versionIn, type ClusterStatus } from '../../src/protocol';
import * as F from './fixtures';

/** One dangling shard: the metastore has it open, nobody else knows it. */
function dangling(subsystems: ClusterStatus['subsystems']) {
  const b = F.model({ subsystems });
  F.healthyShard(b, 'live');
  b.add('quickwit.metastore.shards', F.metastoreShard('d1'));
  return b.build();
}

describe('rule readiness', () => {
  it('runs a rule whose collections were all read', () => {
    assert.deepEqual(
      runChecks(dangling({ shards: { state: 'ok' } })).map((f) => f.rule),
      ['shards/dangling'],
    );
  });

  it('does not run a rule when a collection it compares is unavailable, and says why', () => {
    const status = {
      shards: {
        state: 'ok',
        collections: { 'quickwit.controlPlane.shards': { state: 'unavailable', reason: 'control plane answered {"error": "not ready"}' } },
      },
    } as const;
    const model = dangling(status);
    assert.deepEqual(runChecks(model), []);
    const notes = ruleNotes('shards', model.status);
    assert.deepEqual(notes.length, 2);
    assert.match(
      notes[0]!,
      /^shards\/dangling not checked: control plane \(quickwit\.controlPlane\.shards\) unavailable: control plane answered/,
    );
  });

  it('counts a collection not read yet as unknown, never as empty', () => {
    const model = dangling({ shards: { state: 'ok', collections: { 'quickwit.ingesters': { state: 'unread' } } } });
    assert.deepEqual(runChecks(model), []);
    assert.deepEqual(ruleReadiness('shards/dangling', model.status), {
      state: 'unknown',
      reason: 'cluster membership (quickwit.ingesters) not read yet',
    });
    // shards/orphaned does not compare the membership list: it is still checked.
    assert.deepEqual(ruleReadiness('shards/orphaned', model.status), { state: 'checked' });
  });

  it('does not run a rule on an unavailable subsystem', () => {
    assert.deepEqual(runChecks(dangling({ shards: { state: 'unavailable', reason: 'PostgreSQL metastore: connection refused' } })), []);
  });

  it('versionIn compares releases part by part', () => {
    assert.equal(versionIn('v8.5.7', '8.5.7', undefined), true);
    assert.equal(versionIn('8.5.6', '8.5.7', undefined), false);
    assert.equal(versionIn('0.17.3', '0.17.3', '0.17.4'), true);
    assert.equal(versionIn('0.17.10', '0.17.3', '0.17.4'), false);
    assert.equal(versionIn('nightly', '0.1', undefined), undefined);
  });

  it('says "not applicable" on a version that cannot have the bug, and runs on one that can', () => {
    const saved = RULE_VERSIONS['shards/dangling'];
    RULE_VERSIONS['shards/dangling'] = {
      system: 'Quickwit',
      affected: 'v0.8 only',
      fixedBy: '#0000',
      applies: (v) => versionIn(v, '0.8', '0.9'),
    };
    try {
      const on = (version: string) =>
        dangling({ shards: { state: 'ok', version: { system: 'Quickwit', version, from: '_sqlx_migrations' } } });
      const fixed = on('0.9.1');
      assert.deepEqual(runChecks(fixed), []);
      assert.deepEqual(ruleNotes('shards', fixed.status), [
        'shards/dangling: not applicable to Quickwit 0.9.1 (fixed by #0000; affected: v0.8 only)',
      ]);
      assert.deepEqual(
        runChecks(on('0.8.2')).map((f) => f.rule),
        ['shards/dangling'],
      );
      assert.deepEqual(
        runChecks(on('main')).map((f) => f.rule),
        ['shards/dangling'],
      );
    } finally {
      if (saved) RULE_VERSIONS['shards/dangling'] = saved;
      else delete RULE_VERSIONS['shards/dangling'];
    }
  });
});
