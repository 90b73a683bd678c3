/**
 * Conditional, idempotent repairs over the socket: a stale expectation is
 * refused and changes nothing; a retried request id applies once; each
 * repair restores its invariant.
 */
import * as assert from 'node:assert/strict';
import { incarnationOf, snapshot, useSimulator, violations } from './helpers';

describe('simulator repairs', () => {
  const sim = useSimulator();

  it('refuses a repair planned from a stale version and changes nothing', async () => {
    await sim.client.request('sim.reset', { scenario: 'fluvio-out-of-space-reverted', seed: 1 });
    const before = await snapshot(sim.client);
    const status = await sim.client.request('cluster.status', {});
    const [key] = violations(before, status)['partitions/online-out-of-space'];
    const partition = before['fluvio.partitions'].get(key)!;
    const result = await sim.client.request('repair', {
      requestId: 'stale-1',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'fluvio.restoreFromSpuReport', targets: [{ key, version: partition.version - 1 }] },
    });
    assert.equal(result.applied, 0);
    assert.equal(result.refused, 1);
    assert.match(result.items[0].message, /moved on \(expected version \d+, it is at \d+\)/);
    const after = await snapshot(sim.client);
    assert.deepEqual(after['fluvio.partitions'].get(key), partition);
    assert.equal((await sim.client.request('cluster.status', {})).seq, status.seq, 'no change event');
  });

  it('refuses a target that is gone, and deleting a shard that holds data', async () => {
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 });
    const s = await snapshot(sim.client);
    const live = [...s['quickwit.metastore.shards'].values()].find((m) => s['quickwit.controlPlane.shards'].has(m.key))!;
    const r = await sim.client.request('repair', {
      requestId: 'unsafe-1',
      incarnation: await incarnationOf(sim.client),
      repair: {
        command: 'quickwit.deleteShards',
        targets: [
          { key: live.key, version: live.version },
          { key: 'no-such/shard/x', version: 1 },
        ],
      },
    });
    assert.equal(r.refused, 2);
    assert.match(r.items[0].message, /initialised on ingester-\d and open/);
    assert.match(r.items[1].message, /no longer exists/);
    assert.ok((await snapshot(sim.client))['quickwit.metastore.shards'].has(live.key));
  });

  it('applies a retried request id once and says it replayed', async () => {
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 });
    const s = await snapshot(sim.client);
    const status = await sim.client.request('cluster.status', {});
    const dangling = violations(s, status)['shards/dangling'];
    const targets = dangling.map((k) => ({ key: k, version: s['quickwit.metastore.shards'].get(k)!.version }));
    const first = await sim.client.request('repair', { requestId: 'del-1', incarnation: await incarnationOf(sim.client), repair: { command: 'quickwit.deleteShards', targets } });
    assert.equal(first.applied, dangling.length);
    assert.equal(first.replayed, false);
    const seqAfterFirst = (await sim.client.request('cluster.status', {})).seq;
    const again = await sim.client.request('repair', { requestId: 'del-1', incarnation: await incarnationOf(sim.client), repair: { command: 'quickwit.deleteShards', targets } });
    assert.equal(again.replayed, true);
    assert.equal(again.applied, first.applied);
    assert.equal((await sim.client.request('cluster.status', {})).seq, seqAfterFirst, 'the replay changed nothing');
    const after = await sim.client.request('cluster.status', {});
    assert.deepEqual(violations(await snapshot(sim.client), after)['shards/dangling'], []);
  });

  it('each repair restores its invariant', async () => {
    const status0 = await sim.client.request('sim.reset', { scenario: 'incident-all', seed: 5 });
    let s = await snapshot(sim.client);
    let v = violations(s, status0);
    const expect = (key: string, c: keyof typeof s) => ({ key, version: s[c].get(key)!.version });

    const restart = await sim.client.request('repair', { requestId: 'r1', incarnation: await incarnationOf(sim.client), repair: { command: 'quickwit.restartControlPlane', expectedEpoch: status0.controlPlaneEpoch } });
    assert.equal(restart.applied, 1, restart.summary);
    const nodes = [...s['milvus.nodes'].values()].filter((n) => n.lifecycle === 'Terminating').map((n) => expect(n.key, 'milvus.nodes'));
    const close = await sim.client.request('repair', { requestId: 'r2', incarnation: await incarnationOf(sim.client), repair: { command: 'milvus.cancelAppendsAndClose', targets: nodes } });
    assert.equal(close.applied, 1, close.summary);
    const cancel = await sim.client.request('repair', {
      requestId: 'r3',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'greptime.cancelProcedures', targets: v['ddl/backlog'].map((k) => expect(k, 'greptime.procedures')) },
    });
    assert.equal(cancel.applied, v['ddl/backlog'].length, cancel.summary);
    const clear = await sim.client.request('repair', {
      requestId: 'r4',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'tikv.clearPreparedMark', targets: v['regions/stale-prepared'].map((k) => expect(k, 'tikv.regions')) },
    });
    assert.equal(clear.applied, 1, clear.summary);
    const restore = await sim.client.request('repair', {
      requestId: 'r5',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'fluvio.restoreFromSpuReport', targets: v['partitions/online-out-of-space'].map((k) => expect(k, 'fluvio.partitions')) },
    });
    assert.ok(restore.applied > 0, restore.summary);

    const status = await sim.client.request('cluster.status', {});
    assert.equal(status.controlPlaneEpoch, status0.controlPlaneEpoch + 1);
    s = await snapshot(sim.client);
    v = violations(s, status);
    for (const [rule, keys] of Object.entries(v)) assert.deepEqual(keys, [], rule);
    // Cancelled procedures are rolled back to Failed, never deleted.
    assert.equal(s['greptime.procedures'].size, status0.counts['greptime.procedures']);
    assert.ok([...s['milvus.nodes'].values()].some((n) => n.lifecycle === 'Stopped'));
    assert.equal(s['milvus.appends'].size, 0);
  });

  it('refuses to purge an unfinished procedure', async () => {
    await sim.client.request('sim.reset', { scenario: 'greptime-ddl-backlog', seed: 1 });
    const s = await snapshot(sim.client);
    const p = [...s['greptime.procedures'].values()].find((x) => x.status === 'Retrying')!;
    const r = await sim.client.request('repair', { requestId: 'purge-1', incarnation: await incarnationOf(sim.client), repair: { command: 'greptime.purgeProcedures', targets: [{ key: p.key, version: p.version }] } });
    assert.equal(r.refused, 1);
    assert.match(r.items[0].message, /cancelled, never purged/);
    assert.ok((await snapshot(sim.client))['greptime.procedures'].has(p.key));
  });
});
