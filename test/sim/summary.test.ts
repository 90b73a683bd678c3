/**
 * `cluster.summary` against a full read of the same cluster: for every scenario, each collection's
 * total, its counts per state and per group equal what the pages hold, counted here entity by
 * entity (with the protocol's `groupOf` and `stateOf`, the grouping the trees use).
 */
import * as assert from 'node:assert/strict';
import { COLLECTION_NAMES, groupOf, SCENARIOS, stateOf, type CollectionName, type SummaryResult } from '../../src/protocol';
import { snapshot, useSimulator, type Snapshot } from './helpers';

/** `{ total, states, groups }` of one collection, counted from its entities; groups sorted by name. */
function counted(snap: Snapshot, c: CollectionName) {
  const states: Record<string, number> = {};
  const groups = new Map<string, { count: number; states: Record<string, number> }>();
  for (const e of snap[c].values()) {
    const state = stateOf(c, e);
    if (state !== undefined) states[state] = (states[state] ?? 0) + 1;
    const g = groupOf(c, e);
    if (g === undefined) continue;
    let slot = groups.get(g);
    if (!slot) groups.set(g, (slot = { count: 0, states: {} }));
    slot.count++;
    if (state !== undefined) slot.states[state] = (slot.states[state] ?? 0) + 1;
  }
  return {
    total: snap[c].size,
    states,
    groups: [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([group, v]) => ({ group, count: v.count, states: v.states })),
  };
}

/** The same shape from the cluster's answer. */
function answered(summary: SummaryResult, c: CollectionName) {
  const s = summary.collections[c];
  assert.ok(s, `the summary has ${c}`);
  return {
    total: s.total,
    states: s.states ?? {},
    groups: (s.groups ?? [])
      .map((g) => ({ group: g.group, count: g.count, states: g.states ?? {} }))
      .sort((a, b) => (a.group < b.group ? -1 : 1)),
  };
}

describe('cluster.summary (real simulator)', () => {
  const sim = useSimulator();

  it('is listed in initialize', () => {
    assert.deepEqual(sim.client.init.methods, ['cluster.summary']);
  });

  for (const scenario of SCENARIOS) {
    it(`equals the counts of a full read: ${scenario}`, async () => {
      await sim.client.request('sim.reset', { scenario, seed: 3, size: { danglingShards: 7_000, liveShards: 40, ddlRetries: 300 } });
      await sim.client.request('sim.tick', { ticks: 5 });
      const summary = await sim.client.request('cluster.summary', {});
      const snap = await snapshot(sim.client, 5000);
      const status = await sim.client.request('cluster.status', {});
      assert.equal(summary.seq, status.seq, 'read at the seq the pages were read at (nothing moved in between)');
      let grouped = 0;
      for (const c of COLLECTION_NAMES) {
        assert.deepEqual(answered(summary, c), counted(snap, c), `${scenario}: ${c}`);
        grouped += summary.collections[c]!.groups?.length ?? 0;
      }
      assert.ok(grouped > 0, 'some collection has groups (the comparison is not vacuous)');
    });
  }
});
