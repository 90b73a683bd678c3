/**
 * Conditional, idempotent repairs over the socket: a stale expectation is
 * refused and changes nothing; a retried request id applies once; each
 * repair restores its invariant.
 */
import * as assert from 'node:assert/strict';
import type { EventsNotification } from '../../src/protocol';
import { incarnationOf, rawSocket, snapshot, useSimulator, violations, waitFor } from './helpers';

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
    const first = await sim.client.request('repair', {
      requestId: 'del-1',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'quickwit.deleteShards', targets },
    });
    assert.equal(first.applied, dangling.length);
    assert.equal(first.replayed, false);
    const seqAfterFirst = (await sim.client.request('cluster.status', {})).seq;
    const again = await sim.client.request('repair', {
      requestId: 'del-1',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'quickwit.deleteShards', targets },
    });
    assert.equal(again.replayed, true);
    assert.equal(again.applied, first.applied);
    assert.equal((await sim.client.request('cluster.status', {})).seq, seqAfterFirst, 'the replay changed nothing');
    const after = await sim.client.request('cluster.status', {});
    assert.deepEqual(violations(await snapshot(sim.client), after)['shards/dangling'], []);
  });

  it('itemResults: exceptions answers with counts and only the items not applied, refusals with their reasons; without it, every item', async () => {
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 });
    const s = await snapshot(sim.client);
    const status = await sim.client.request('cluster.status', {});
    const shard = (k: string) => ({ key: k, version: s['quickwit.metastore.shards'].get(k)!.version });
    const dangling = violations(s, status)['shards/dangling'].map(shard);
    assert.ok(dangling.length >= 4, `dangling shards: ${dangling.length}`);
    const live = [...s['quickwit.metastore.shards'].values()].find((m) => s['quickwit.controlPlane.shards'].has(m.key))!;
    const half = Math.floor(dangling.length / 2);
    const incarnation = await incarnationOf(sim.client);
    const refusedTargets = [
      { key: live.key, version: live.version },
      { key: 'no-such/shard/x', version: 1 },
    ];
    const compactParams = {
      requestId: 'compact-1',
      incarnation,
      itemResults: 'exceptions' as const,
      repair: { command: 'quickwit.deleteShards' as const, targets: [...dangling.slice(0, half), ...refusedTargets] },
    };

    const compact = await sim.client.request('repair', compactParams);

    assert.equal(compact.itemResults, 'exceptions');
    assert.equal(compact.applied, half, compact.summary);
    assert.equal(compact.refused, 2);
    assert.deepEqual(
      compact.items.map((i) => [i.key, i.status]),
      refusedTargets.map((t) => [t.key, 'refused']),
    );
    assert.match(compact.items[0].message, /initialised on ingester-\d and open/);
    assert.match(compact.items[1].message, /no longer exists/);
    assert.match(compact.summary, new RegExp(`${half} applied, 2 refused`));
    const replay = await sim.client.request('repair', compactParams);
    assert.deepEqual({ ...replay, replayed: false }, compact, 'a replay answers the same, in the same form');
    assert.equal(replay.replayed, true);

    // What a client that predates the option sends and gets: every item.
    const full = await sim.client.request('repair', {
      requestId: 'full-1',
      incarnation,
      repair: { command: 'quickwit.deleteShards', targets: [...dangling.slice(half), ...refusedTargets] },
    });
    assert.equal(full.itemResults, undefined);
    assert.equal(full.applied, dangling.length - half);
    assert.deepEqual(
      full.items.map((i) => [i.key, i.status]),
      [...dangling.slice(half).map((t) => [t.key, 'applied']), ...refusedTargets.map((t) => [t.key, 'refused'])],
    );
    const after = await snapshot(sim.client);
    assert.equal(after['quickwit.metastore.shards'].size, s['quickwit.metastore.shards'].size - dangling.length, 'both halves deleted');
    assert.ok(after['quickwit.metastore.shards'].has(live.key), 'the live shard kept');
  });

  it("answers a subscriber's repair before sending the events it caused, which then follow in order", async () => {
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 });
    const s = await snapshot(sim.client);
    const status = await sim.client.request('cluster.status', {});
    const targets = violations(s, status)['shards/dangling'].map((k) => ({
      key: k,
      version: s['quickwit.metastore.shards'].get(k)!.version,
    }));
    const ws = await rawSocket(sim.server);
    const wire: Array<{ id?: number; method?: string; result?: { seq: number; applied: number }; params?: EventsNotification }> = [];
    ws.on('message', (d) => wire.push(JSON.parse(d.toString())));
    const send = (id: number, method: string, params: unknown) => ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    send(1, 'initialize', { protocolVersion: 1, clientName: 'raw' });
    send(2, 'cluster.subscribe', {});
    send(3, 'repair', {
      requestId: 'order-1',
      incarnation: await incarnationOf(sim.client),
      itemResults: 'exceptions',
      repair: { command: 'quickwit.deleteShards', targets },
    });
    const reply = await waitFor('the repair reply', () => wire.find((m) => m.id === 3)?.result);
    assert.equal(reply.applied, targets.length);
    await waitFor('the events up to its seq', () =>
      wire.some((m) => m.params?.events.some((e) => e.seq === reply.seq)) ? true : undefined,
    );
    ws.close();

    const at = wire.findIndex((m) => m.id === 3);
    const events = wire.flatMap((m, i) => (m.method === 'cluster.events' ? m.params!.events.map((e) => ({ ...e, i })) : []));
    const caused = events.filter((e) => e.seq > status.seq && e.seq <= reply.seq);
    assert.ok(caused.length >= targets.length, `${caused.length} events`);
    assert.ok(
      caused.every((e) => e.i > at),
      'every event of the repair came after its reply',
    );
    assert.deepEqual(
      caused.map((e) => e.seq),
      Array.from({ length: caused.length }, (_, i) => status.seq + 1 + i),
      'in order, none missing',
    );
    assert.deepEqual(
      new Set(caused.filter((e) => e.collection === 'quickwit.metastore.shards').map((e) => e.key)),
      new Set(targets.map((t) => t.key)),
    );
  });

  it('each repair restores its invariant', async () => {
    const status0 = await sim.client.request('sim.reset', { scenario: 'incident-all', seed: 5 });
    let s = await snapshot(sim.client);
    let v = violations(s, status0);
    const expect = (key: string, c: keyof typeof s) => ({ key, version: s[c].get(key)!.version });

    const restart = await sim.client.request('repair', {
      requestId: 'r1',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'quickwit.restartControlPlane', expectedEpoch: status0.controlPlaneEpoch },
    });
    assert.equal(restart.applied, 1, restart.summary);
    const nodes = [...s['milvus.nodes'].values()].filter((n) => n.lifecycle === 'Terminating').map((n) => expect(n.key, 'milvus.nodes'));
    const close = await sim.client.request('repair', {
      requestId: 'r2',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'milvus.cancelAppendsAndClose', targets: nodes },
    });
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
      repair: {
        command: 'fluvio.restoreFromSpuReport',
        targets: v['partitions/online-out-of-space'].map((k) => expect(k, 'fluvio.partitions')),
      },
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
    const r = await sim.client.request('repair', {
      requestId: 'purge-1',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'greptime.purgeProcedures', targets: [{ key: p.key, version: p.version }] },
    });
    assert.equal(r.refused, 1);
    assert.match(r.items[0].message, /cancelled, never purged/);
    assert.ok((await snapshot(sim.client))['greptime.procedures'].has(p.key));
  });
});
