/**
 * A repair rests on every fact its finding used, and on the cluster it was
 * planned on. These drive the real checks' plans against the real simulator
 * and change the facts underneath them, as another operator or a restart
 * would.
 */
import * as assert from 'node:assert/strict';
import { ErrorCodes, RpcException, type RepairCommand, type RepairOption } from '../../src/protocol';
import { checkDanglingShards, checkOrphanedShards, type ClusterModel } from '../../src/analysis';
import type { ClusterClient } from '../../src/cluster/client';
import { incarnationOf, snapshot, useSimulator } from './helpers';

async function modelOf(client: ClusterClient): Promise<ClusterModel> {
  return { status: await client.request('cluster.status', {}), collections: await snapshot(client) };
}

function option(options: RepairOption[], id: string): RepairOption {
  const o = options.find((r) => r.id === id);
  assert.ok(o, `a repair ${id}`);
  return o;
}

describe('repair preconditions and incarnations (real simulator)', () => {
  const sim = useSimulator();

  async function send(ops: RepairCommand[], incarnation: string, id: string) {
    const results = [];
    for (const [i, repair] of ops.entries())
      results.push(await sim.client.request('repair', { requestId: `${id}-${i}`, incarnation, repair }));
    return results;
  }

  it('the control-plane restart race: a delete planned while the control plane did not know the shards is refused once it does', async () => {
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 });
    const model = await modelOf(sim.client);
    const [finding] = checkDanglingShards(model);
    assert.ok(finding, 'dangling shards to plan a delete for');
    const del = option(finding.repairs, 'delete-uninitialised');
    assert.ok(
      del.operations.every((op) => op.preconditions?.some((p) => 'epoch' in p)),
      'every batch rests on the control plane epoch',
    );

    // Meanwhile the control plane restarts and loads every metastore shard: the finding's premise is false now.
    const restart = await sim.client.request('repair', {
      requestId: 'someone-restarts-the-control-plane',
      incarnation: await incarnationOf(sim.client),
      repair: { command: 'quickwit.restartControlPlane', expectedEpoch: model.status.controlPlaneEpoch },
    });
    assert.equal(restart.applied, 1);
    const known = (await snapshot(sim.client))['quickwit.controlPlane.shards'];
    assert.ok(
      finding.samples.every((s) => known.has(s.key)),
      'the control plane knows the planned shards now',
    );

    const results = await send(del.operations, model.status.incarnation!, 'late-delete');
    assert.equal(
      results.reduce((n, r) => n + r.applied, 0),
      0,
      'no shard the control plane knows is deleted',
    );
    assert.equal(
      results.reduce((n, r) => n + r.refused, 0),
      del.targetCount,
    );
    assert.match(results[0].items[0].message, /control plane reloaded its view \(epoch \d+ when planned, now \d+\)/);
    const after = await snapshot(sim.client);
    assert.equal(
      after['quickwit.metastore.shards'].size,
      model.collections['quickwit.metastore.shards'].size,
      'the metastore kept every shard',
    );
  });

  it('refuses an ingester reset when the metastore has the shard again (an absence the plan relied on)', async () => {
    await sim.client.request('sim.reset', { scenario: 'healthy', seed: 1 });
    await sim.client.request('sim.inject', { fault: 'quickwit.ingesterRollingRestart' });
    await sim.client.request('sim.tick', { ticks: 50 });
    const model = await modelOf(sim.client);
    const [finding] = checkOrphanedShards(model);
    assert.ok(finding, 'orphaned shards after the rolling restart');
    const reset = finding.repairs.find((r) => r.operations.some((op) => op.command === 'quickwit.adviseResetShards'));
    assert.ok(reset, 'a reset of the orphaned ingester shards');
    const op = reset.operations[0]!;
    const absent = op.preconditions?.find((p) => 'absent' in p);
    assert.ok(absent && 'absent' in absent, 'each reset rests on the metastore not having the shard');
    // A precondition names a fact; refusing needs the fact to change. Send it with that absence
    // contradicted (a key the metastore does have), as if the shard had come back.
    const present = [...model.collections['quickwit.metastore.shards'].values()][0]!;
    const contradicted = {
      ...op,
      preconditions: [{ collection: 'quickwit.metastore.shards' as const, key: present.key, absent: true as const }],
    };
    const [r] = await send([contradicted], model.status.incarnation!, 'reset-after-return');
    assert.equal(r.applied, 0);
    assert.match(r.items[0].message, /exists now .*relied on its absence/);
    assert.deepEqual(
      (await snapshot(sim.client))['quickwit.ingester.shards'],
      model.collections['quickwit.ingester.shards'],
      'nothing changed',
    );
  });

  it('refuses a repair planned on another incarnation, even where keys and versions repeat', async () => {
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 });
    const before = await modelOf(sim.client);
    const del = option(checkDanglingShards(before)[0]!.repairs, 'delete-uninitialised');
    // The same scenario and seed again: a new incarnation with the very same keys and versions.
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 });
    const now = await modelOf(sim.client);
    assert.notEqual(now.status.incarnation, before.status.incarnation);
    assert.deepEqual(now.collections['quickwit.metastore.shards'], before.collections['quickwit.metastore.shards'], 'versions repeat');
    await assert.rejects(send(del.operations, before.status.incarnation!, 'old-plan'), (e: unknown) => {
      assert.ok(e instanceof RpcException);
      assert.equal(e.code, ErrorCodes.WrongIncarnation);
      assert.match(e.message, /restarted or was reset since.*nothing was applied/);
      return true;
    });
    assert.equal((await snapshot(sim.client))['quickwit.metastore.shards'].size, now.collections['quickwit.metastore.shards'].size);
  });
});
