/** Cursor paging over the socket: complete, ordered, and stable when entities are deleted mid-walk. */
import * as assert from 'node:assert/strict';
import { incarnationOf, useSimulator } from './helpers';

describe('simulator paging', () => {
  const sim = useSimulator();

  it('walks every entity once, in key order, with total = collection size', async () => {
    const status = await sim.client.request('sim.reset', { scenario: 'incident-all', seed: 2 });
    const keys: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof sim.client.listPage<'quickwit.metastore.shards'>>> = await sim.client.listPage(
        'quickwit.metastore.shards',
        cursor,
        37,
      );
      assert.equal(page.total, status.counts['quickwit.metastore.shards']);
      keys.push(...page.items.map((i) => i.key));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.equal(keys.length, status.counts['quickwit.metastore.shards']);
    assert.deepEqual(keys, [...keys].sort());
    assert.equal(new Set(keys).size, keys.length);
  });

  it('a cursor stays valid when entities before and after it are deleted', async () => {
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 2 });
    const all: { key: string; version: number }[] = [];
    for await (const page of sim.client.listAll('quickwit.metastore.shards', { limit: 5000 })) all.push(...page);
    const first = await sim.client.listPage('quickwit.metastore.shards', null, 100);
    const firstKeys = first.items.map((i) => i.key);
    // Delete dangling shards on both sides of the cursor.
    const deletable = (await sim.client.listPage('quickwit.controlPlane.shards', null, 5000)).items.map((i) => i.key);
    const live = new Set(deletable);
    const victims = all.filter((e, i) => !live.has(e.key) && i % 3 === 0);
    const r = await sim.client.request('repair', {
      requestId: 'page-del',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'quickwit.deleteShards', targets: victims },
    });
    assert.equal(r.applied, victims.length, r.summary);
    const rest: string[] = [];
    let cursor = first.nextCursor;
    while (cursor !== null) {
      const page = await sim.client.listPage('quickwit.metastore.shards', cursor, 100);
      rest.push(...page.items.map((i) => i.key));
      cursor = page.nextCursor;
    }
    const gone = new Set(victims.map((v) => v.key));
    const expectedRest = all.map((e) => e.key).filter((k) => !gone.has(k) && k > firstKeys[firstKeys.length - 1]);
    assert.deepEqual(rest, expectedRest);
  });

  it('tells subscribers to resync after sim.reset', async () => {
    const got: { reset?: boolean; fromSeq: number }[] = [];
    const sub = sim.client.onEvents((n) => got.push(n));
    await sim.client.request('cluster.subscribe', {});
    const status = await sim.client.request('sim.reset', { scenario: 'healthy', seed: 4 });
    const deadline = Date.now() + 5000;
    while (!got.some((n) => n.reset) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    const reset = got.find((n) => n.reset);
    assert.ok(reset, 'a reset notification');
    assert.equal(reset.fromSeq, status.seq + 1, 'the next event follows the status seq');
    sub.dispose();
    await sim.client.request('cluster.unsubscribe', {});
  });
});
