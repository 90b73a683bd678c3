/**
 * `sim.initShards`: an outside writer makes dangling shards live (their
 * leader ingester holds them, the control plane knows them), as a retried
 * `init_shards` would. A delete planned while they were dangling is refused.
 */
import * as assert from 'node:assert/strict';
import { checkDanglingShards } from '../../src/analysis';
import { incarnationOf, snapshot, useSimulator } from './helpers';

describe('sim.initShards (a writer that makes shards live)', () => {
  const sim = useSimulator();

  it('makes dangling shards live, skips what it cannot, and a delete planned before is refused for them', async () => {
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 });
    const status = await sim.client.request('cluster.status', {});
    const model = { status, collections: await snapshot(sim.client) };
    const [finding] = checkDanglingShards(model);
    const del = finding!.repairs.find((r) => r.id === 'delete-uninitialised')!;
    const planned = del.operations.flatMap((op) => ('targets' in op ? op.targets.map((t) => t.key) : []));
    const live = planned.slice(0, 7);

    const r = await sim.client.request('sim.initShards', { keys: [...live, live[0]!, 'no-such-shard'] });
    assert.deepEqual(r.initialised, live);
    assert.deepEqual(
      r.skipped.map((s) => s.key),
      ['no-such-shard'],
    );
    const again = await sim.client.request('sim.initShards', { keys: [live[0]!] });
    assert.match(again.skipped[0]!.reason, /already held/);
    const after = await snapshot(sim.client);
    for (const key of live) assert.ok(after['quickwit.controlPlane.shards'].has(key), `the control plane knows ${key}`);
    assert.equal(after['quickwit.ingester.shards'].size, model.collections['quickwit.ingester.shards'].size + live.length);

    const incarnation = await incarnationOf(sim.client);
    let applied = 0;
    for (const [i, op] of del.operations.entries()) {
      const res = await sim.client.request('repair', { requestId: `late-${i}`, incarnation, repair: op });
      applied += res.applied;
      for (const item of res.items) if (live.includes(item.key)) assert.equal(item.status, 'refused', item.message);
    }
    assert.equal(applied, planned.length - live.length);
    const end = await snapshot(sim.client);
    for (const key of live) assert.ok(end['quickwit.metastore.shards'].has(key), `${key} is still in the metastore`);
  });
});
