// The new-error notice (src/extension/views/newErrors.ts) against the fake `vscode`: nothing for the
// findings a cluster has when it connects, one notice for an error that appears after, nothing while
// the cluster is syncing or not checked yet, and its Don't Show Again mutes it.
import * as assert from 'node:assert/strict';
import type { ClusterInfo, FindingSummary } from '../../../src/protocol/lsp';
import {
  DONT_SHOW_AGAIN,
  NewErrorNotifier,
  NewErrorTracker,
  SHOW_PROBLEMS,
  newErrorsMessage,
  type NewErrorSource,
} from '../../../src/extension/views/newErrors';
import { cluster } from './clusterInfo';
import { fake } from './fake-vscode';

const ANCHOR = { collection: 'quickwit.metastore.shards', key: 'idx/src/shard-1', version: 3 } as const;

function finding(id: string, f: Partial<FindingSummary> = {}): FindingSummary {
  return {
    id,
    rule: 'shards/dangling',
    severity: 'error',
    subsystem: 'shards',
    group: id.split(':')[1] ?? 'idx/src',
    message: `${id} is dangling`,
    count: 3,
    samples: [ANCHOR],
    anchor: ANCHOR,
    facts: [],
    cluster: 'sim',
    repairs: [],
    ...f,
  };
}

/** A notifier over scripted clusters and findings; `muted` counts Don't Show Again. */
function notifier(init: { clusters: ClusterInfo[]; findings: Record<string, FindingSummary[]>; enabled?: boolean }) {
  const state = { ...init, enabled: init.enabled ?? true, muted: 0, reads: 0 };
  const source: NewErrorSource = {
    clusters: () => state.clusters,
    findings: async (name) => {
      state.reads++;
      return state.findings[name] ?? [];
    },
    enabled: () => state.enabled,
    mute: async () => {
      state.muted++;
      state.enabled = false;
    },
    log: { warn: () => undefined },
  };
  return { n: new NewErrorNotifier(source), state };
}

const notices = () => fake.callsOf('window.showErrorMessage');
/** Lets the `.then` of a shown message run. */
const settle = () => new Promise((r) => setImmediate(r));

beforeEach(() => fake.reset());

describe('new-error notice', () => {
  it('says nothing about the errors found on connecting; one notice for an error that appears after', async () => {
    const a = finding('shards/dangling:a');
    const { n, state } = notifier({ clusters: [cluster('prod')], findings: { prod: [a] } });
    await n.changed();
    assert.deepEqual(notices(), []);
    const b = finding('wal/close-blocked:node-1', { rule: 'wal/close-blocked', message: 'StreamingNode 1 is Terminating' });
    state.findings.prod = [a, b, finding('ddl/duplicate:t', { severity: 'warning' })];
    await n.changed();
    assert.deepEqual(notices(), [
      ['New error on prod: wal/close-blocked (node-1): StreamingNode 1 is Terminating', SHOW_PROBLEMS, DONT_SHOW_AGAIN],
    ]);
    // Nothing new: no second notice.
    await n.changed();
    assert.equal(notices().length, 1);
  });

  it('takes no baseline before the first full check, nor while syncing: the first checked findings are the baseline', async () => {
    const a = finding('shards/dangling:a');
    const { n, state } = notifier({ clusters: [cluster('prod', { checked: undefined })], findings: { prod: [] } });
    await n.changed(); // synced, not checked yet: its (empty) findings are no baseline
    assert.equal(state.reads, 0);
    state.clusters = [cluster('prod', { provisional: 4, checked: undefined, syncedAt: undefined })];
    await n.changed();
    state.clusters = [cluster('prod')];
    state.findings.prod = [a];
    await n.changed();
    assert.deepEqual(notices(), [], 'the errors the first check found are not news');
    // Stale (reconnecting): not read; what appeared meanwhile is news once it is back.
    state.clusters = [cluster('prod', { state: 'stale' })];
    state.findings.prod = [a, finding('shards/dangling:b')];
    await n.changed();
    assert.deepEqual(notices(), []);
    state.clusters = [cluster('prod')];
    await n.changed();
    assert.equal(notices().length, 1);
    assert.match(String(notices()[0][0]), /^New error on prod: shards\/dangling \(b\)/);
  });

  it('a cluster that left and comes back starts again from its first sync', async () => {
    const { n, state } = notifier({ clusters: [cluster('prod')], findings: { prod: [] } });
    await n.changed();
    state.clusters = [];
    await n.changed();
    assert.equal(n.tracker.has('prod'), false);
    state.clusters = [cluster('prod')];
    state.findings.prod = [finding('shards/dangling:a')];
    await n.changed();
    assert.deepEqual(notices(), []);
  });

  it("Don't Show Again mutes it; muted, nothing is read, and turned back on it starts afresh", async () => {
    const { n, state } = notifier({ clusters: [cluster('prod')], findings: { prod: [] } });
    await n.changed();
    fake.answer('window.showErrorMessage', DONT_SHOW_AGAIN);
    state.findings.prod = [finding('shards/dangling:a')];
    await n.changed();
    await settle();
    assert.equal(state.muted, 1);
    const reads = state.reads;
    state.findings.prod = [finding('shards/dangling:a'), finding('shards/dangling:b')];
    await n.changed();
    assert.equal(state.reads, reads, 'muted: the findings are not read');
    assert.equal(notices().length, 1);
    state.enabled = true;
    await n.changed();
    assert.equal(notices().length, 1, 'the errors of the muted time are the new baseline, not news');
  });

  it('Show Problems opens the Problems panel', async () => {
    const { n, state } = notifier({ clusters: [cluster('prod')], findings: { prod: [] } });
    await n.changed();
    fake.answer('window.showErrorMessage', SHOW_PROBLEMS);
    state.findings.prod = [finding('shards/dangling:a')];
    await n.changed();
    await settle();
    assert.deepEqual(fake.callsOf('commands.executeCommand').at(-1), ['workbench.actions.view.problems']);
  });

  it('a burst of changes while reading: one more read, not one per change', async () => {
    const { n, state } = notifier({ clusters: [cluster('prod')], findings: { prod: [] } });
    await Promise.all([n.changed(), n.changed(), n.changed()]);
    assert.equal(state.reads, 2);
  });

  it('the tracker: an error that rises from a warning or comes back is new; provisional findings are not counted', () => {
    const t = new NewErrorTracker();
    assert.deepEqual(t.update('Prod', [finding('x:a', { severity: 'warning' })]), []);
    assert.deepEqual(
      t.update('prod', [finding('x:a')]).map((f) => f.id),
      ['x:a'],
    );
    assert.deepEqual(t.update('prod', []), []);
    assert.deepEqual(
      t.update('prod', [finding('x:a'), finding('x:b', { provisional: true })]).map((f) => f.id),
      ['x:a'],
    );
  });

  it('several new errors: how many, and their rules', () => {
    const fs = ['a', 'b', 'c', 'd', 'e'].map((g, i) =>
      finding(`r${i}:${g}`, {
        rule: (
          ['shards/dangling', 'wal/close-blocked', 'ddl/duplicate', 'regions/stale-prepared', 'partitions/online-out-of-space'] as const
        )[i],
      }),
    );
    assert.equal(
      newErrorsMessage('prod', fs),
      '5 new errors on prod: shards/dangling, wal/close-blocked, ddl/duplicate, and 2 more rules.',
    );
  });
});
