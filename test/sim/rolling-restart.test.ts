/**
 * The `quickwit.ingesterRollingRestart` fault (quickwit #6531), observed over
 * the socket: buggy leaves closed shards on the ingesters that the metastore
 * deleted while they were away; fixed drops them once the ingester's reset
 * gets an answer.
 */
import * as assert from 'node:assert/strict';
import { keys, type ChangeEvent, type ClusterStatus, type EventsNotification } from '../../src/protocol';
import { RESTART_DOWN_TICKS } from '../../src/simulator/quickwit';
import { INVARIANTS, incarnationOf, snapshot, useSimulator, violations, waitFor, type Snapshot } from './helpers';

const INGESTERS = ['ingester-0', 'ingester-1', 'ingester-2', 'ingester-3'];
/** Every ingester's turn, and one tick more for the last one's reset. */
const WHOLE_ROLLOUT = INGESTERS.length * RESTART_DOWN_TICKS + 1;

describe('simulator: ingester rolling restart (quickwit #6531)', () => {
  const sim = useSimulator();
  let events: ChangeEvent[] = [];

  beforeEach(() => {
    events = [];
  });

  /** Resets to healthy, subscribes, injects the fault and ticks; returns the cluster and every change event since the reset. */
  async function restart(
    bugs: 'buggy' | 'fixed',
    ticks: number,
    target?: string,
  ): Promise<{ s: Snapshot; status: ClusterStatus; initial: ClusterStatus }> {
    const initial = await sim.client.request('sim.reset', { scenario: 'healthy', seed: 7, bugs });
    const got: EventsNotification[] = [];
    const sub = sim.client.onEvents((n) => got.push(n));
    await sim.client.request('cluster.subscribe', {});
    await sim.client.request('sim.inject', { fault: 'quickwit.ingesterRollingRestart', target });
    const status = await sim.client.request('sim.tick', { ticks });
    await waitFor('the events up to the last tick', () => (got.at(-1)?.events.at(-1)?.seq === status.seq ? true : undefined));
    sub.dispose();
    await sim.client.request('cluster.unsubscribe', {});
    events = got.flatMap((n) => n.events);
    return { s: await snapshot(sim.client), status, initial };
  }

  const deleted = (collection: string) => new Set(events.filter((e) => e.op === 'delete' && e.collection === collection).map((e) => e.key));
  /** The last upsert of `key` before it was deleted. */
  function lastUpsertOf(collection: string, key: string): Record<string, unknown> | undefined {
    let last: Record<string, unknown> | undefined;
    for (const e of events) if (e.op === 'upsert' && e.collection === collection && e.key === key) last = e.item as Record<string, unknown>;
    return last;
  }

  function assertOnlyOrphaned(s: Snapshot, status: ClusterStatus): string[] {
    const v = violations(s, status);
    for (const inv of INVARIANTS) if (inv !== 'shards/orphaned') assert.deepEqual(v[inv], [], `${inv} should hold`);
    return v['shards/orphaned'];
  }

  it('buggy: each restarted ingester holds closed shards the metastore deleted while it was away, and they stay', async () => {
    const { s, status, initial } = await restart('buggy', WHOLE_ROLLOUT);
    const orphans = assertOnlyOrphaned(s, status);
    assert.ok(orphans.length > 0, 'orphaned shards after the rollout');
    const byIngester = new Set<string>();
    for (const key of orphans) {
      const shard = s['quickwit.ingester.shards'].get(key);
      assert.ok(shard, `${key} is an ingester shard, not a control-plane one`);
      byIngester.add(shard.ingesterId);
      // Reloaded from the WAL: read-only, with records.
      assert.equal(shard.shardState, 'closed', key);
      assert.notEqual(shard.replicationPositionInclusive, '', key);
      // The metastore deleted it only once it was closed and published to its end, and the model let it go too.
      const metaKey = keys.shard(shard.indexUid, shard.sourceId, shard.shardId);
      const row = lastUpsertOf('quickwit.metastore.shards', metaKey);
      assert.ok(row && deleted('quickwit.metastore.shards').has(metaKey), `${metaKey} was deleted from the metastore`);
      assert.equal(row.shardState, 'closed', metaKey);
      assert.equal(row.publishPositionInclusive, '~eof', metaKey);
      assert.ok(deleted('quickwit.controlPlane.shards').has(metaKey), `${metaKey} was dropped from the model`);
    }
    assert.deepEqual([...byIngester].sort(), INGESTERS, 'every ingester restarted in turn');
    assert.deepEqual([...deleted('quickwit.ingesters')].sort(), INGESTERS, 'every ingester left the cluster');
    assert.deepEqual(
      [...s['quickwit.ingesters'].values()].map((i) => [i.key, i.status]).sort(),
      INGESTERS.map((i) => [i, 'ready']),
    );
    // The sources kept as many shards: the control plane opened replacements.
    assert.equal(s['quickwit.controlPlane.shards'].size, initial.counts['quickwit.controlPlane.shards']);
    assert.ok([...s['quickwit.controlPlane.shards'].values()].every((c) => c.shardState === 'open'));

    // Nothing retries the failed reset.
    const later = await sim.client.request('sim.tick', { ticks: 200 });
    assert.deepEqual(violations(await snapshot(sim.client), later)['shards/orphaned'].sort(), [...orphans].sort());
  });

  it('buggy: the ingester is out of the cluster while it restarts, with its shards only in its WAL', async () => {
    const { s } = await restart('buggy', 1, 'ingester-1');
    assert.ok(!s['quickwit.ingesters'].has('ingester-1'));
    assert.ok(![...s['quickwit.ingester.shards'].values()].some((i) => i.ingesterId === 'ingester-1'));
    const led = [...s['quickwit.controlPlane.shards'].values()].filter((c) => c.leaderId === 'ingester-1');
    assert.ok(led.length > 0);
    for (const c of led) assert.equal(c.shardState, 'closed', `the control plane closed ${c.key}`);
  });

  it('with a target, restarts only that ingester', async () => {
    const { s, status } = await restart('buggy', 3 * RESTART_DOWN_TICKS, 'ingester-2');
    const orphans = assertOnlyOrphaned(s, status);
    assert.ok(orphans.length > 0);
    for (const key of orphans) assert.equal(s['quickwit.ingester.shards'].get(key)?.ingesterId, 'ingester-2', key);
    assert.deepEqual([...deleted('quickwit.ingesters')], ['ingester-2']);
  });

  it('fixed: the restarted ingesters retry their reset and drop the shards the metastore deleted', async () => {
    const { s, status } = await restart('fixed', WHOLE_ROLLOUT);
    for (const inv of INVARIANTS) assert.deepEqual(violations(s, status)[inv], [], `${inv} should hold`);
    // Not vacuous: the ingesters did reload shards the metastore had deleted, and then dropped them.
    const reloadedThenDropped = events.filter(
      (e) =>
        e.op === 'upsert' &&
        e.collection === 'quickwit.ingester.shards' &&
        (e.item as { shardState: string }).shardState === 'closed' &&
        !s['quickwit.ingester.shards'].has(e.key),
    );
    assert.ok(reloadedThenDropped.length > 0, 'shards were reloaded closed and then reset');
    assert.deepEqual([...deleted('quickwit.ingesters')].sort(), INGESTERS);
  });

  it('a buggy cluster is cleaned up once the fix is deployed', async () => {
    const { s, status } = await restart('buggy', WHOLE_ROLLOUT);
    assert.ok(violations(s, status)['shards/orphaned'].length > 0);
    await sim.client.request('sim.setBugs', { bugs: { ...status.bugs, shards: 'fixed' } });
    const after = await sim.client.request('sim.tick', { ticks: 1 });
    assert.deepEqual(violations(await snapshot(sim.client), after)['shards/orphaned'], []);
  });

  it('the metastore refuses to delete a closed shard whose restarting leader still holds unpublished records', async () => {
    await sim.client.request('sim.reset', { scenario: 'healthy', seed: 7, bugs: 'buggy' });
    const before = await snapshot(sim.client);
    // A shard of ingester-0 with records its indexer has not published yet.
    const held = [...before['quickwit.ingester.shards'].values()].find((i) => {
      const meta = before['quickwit.metastore.shards'].get(keys.shard(i.indexUid, i.sourceId, i.shardId));
      return i.ingesterId === 'ingester-0' && meta && meta.publishPositionInclusive < i.replicationPositionInclusive;
    });
    assert.ok(held, 'ingester-0 has a shard with unpublished records');
    const metaKey = keys.shard(held.indexUid, held.sourceId, held.shardId);
    await sim.client.request('sim.inject', { fault: 'quickwit.ingesterRollingRestart', target: 'ingester-0' });
    await sim.client.request('sim.tick', { ticks: 1 });
    const row = (await snapshot(sim.client))['quickwit.metastore.shards'].get(metaKey)!;
    assert.equal(row.shardState, 'closed', 'the control plane closed it');
    const r = await sim.client.request('repair', {
      requestId: 'delete-while-leader-away',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'quickwit.deleteShards', targets: [{ key: metaKey, version: row.version }] },
    });
    assert.equal(r.refused, 1, r.summary);
    assert.match(r.items[0].message, /not fully published .* in the WAL of ingester-0 \(restarting\)/);
    assert.ok((await snapshot(sim.client))['quickwit.metastore.shards'].has(metaKey));
  });

  it('refuses an unknown ingester and changes nothing', async () => {
    await sim.client.request('sim.reset', { scenario: 'healthy', seed: 7 });
    const { seq } = await sim.client.request('cluster.status', {});
    await assert.rejects(
      sim.client.request('sim.inject', { fault: 'quickwit.ingesterRollingRestart', target: 'indexer-0' }),
      /no ingester indexer-0/,
    );
    assert.equal((await sim.client.request('cluster.status', {})).seq, seq);
  });

  it('a shard reloaded on return never repeats a version it had before: a repair planned before the restart is refused', async () => {
    await sim.client.request('sim.reset', { scenario: 'healthy', seed: 7, bugs: 'buggy' });
    const before = await snapshot(sim.client);
    const planned = [...before['quickwit.ingester.shards'].values()].filter((i) => i.ingesterId === 'ingester-0');
    assert.ok(planned.length > 0, 'ingester-0 leads shards');
    await sim.client.request('sim.inject', { fault: 'quickwit.ingesterRollingRestart', target: 'ingester-0' });
    await sim.client.request('sim.tick', { ticks: RESTART_DOWN_TICKS + 1 });
    const after = await snapshot(sim.client);
    const reloaded = planned.filter((p) => after['quickwit.ingester.shards'].has(p.key));
    assert.ok(reloaded.length > 0, 'some shards of ingester-0 were reloaded from its WAL');
    for (const p of reloaded) {
      const now = after['quickwit.ingester.shards'].get(p.key)!;
      assert.ok(now.version > p.version, `${p.key}: deleted at version ${p.version} or later, reloaded at ${now.version}`);
    }
    const r = await sim.client.request('repair', {
      requestId: 'reset-planned-before-restart',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'quickwit.adviseResetShards', targets: reloaded.map((p) => ({ key: p.key, version: p.version })) },
    });
    assert.equal(r.refused, reloaded.length, r.summary);
    const still = (await snapshot(sim.client))['quickwit.ingester.shards'];
    for (const p of reloaded) assert.deepEqual(still.get(p.key), after['quickwit.ingester.shards'].get(p.key), `${p.key} is untouched`);
  });
});
