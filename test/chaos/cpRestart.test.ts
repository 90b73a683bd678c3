/**
 * Chaos 4: the control-plane restart race, at scale.
 *
 * `cluster-check --repair shards/dangling --yes` (the same `applyAllSafe` as
 * the editor) deletes tens of thousands of dangling shards in batches of
 * 5,000, through a recording proxy. While its batches run, another client
 * restarts the Quickwit control plane, which then loads every metastore shard
 * into its model: from that moment none of them is dangling any more. In
 * even rounds the proxy holds a batch until the restart is done (the batch is
 * then sure to arrive after it); in odd rounds the restart is sent the moment
 * a batch is seen, racing it to the simulator.
 *
 * Asserted at the end of each round, from the simulator itself: every shard
 * the control plane knows still exists in the metastore, the metastore lost
 * nothing after the restart, and no batch that reached the simulator after
 * the restart deleted anything.
 */
import * as assert from 'node:assert/strict';
import { cli } from '../cli/cliProcess';
import type { RunningSim } from '../server/sim';
import type { ClusterClient } from '../../src/cluster/client';
import { COUNTS, report, Rng, SEED, within } from './counts';
import { RecordingProxy } from './proxy';
import { readShards, SHARDS_TOKEN, sizeOf, startShardSim } from './shards';

describe('chaos: control-plane restart while a bulk delete of dangling shards runs', function () {
  this.timeout(60 * 60_000);
  let sim: RunningSim;
  let proxy: RecordingProxy;
  let control: ClusterClient;

  before(async () => {
    sim = await startShardSim(COUNTS.raceShards);
    proxy = await RecordingProxy.start(sim.url);
    control = await sim.client();
  });
  after(async () => {
    await proxy?.close();
    await sim?.stop();
  });

  it(`${COUNTS.raceRounds} rounds at ${COUNTS.raceShards} dangling shards: no shard the control plane knows is deleted`, async () => {
    const rng = new Rng(SEED + 4);
    const size = sizeOf(COUNTS.raceShards);
    const batches = Math.ceil(size.danglingShards / 5000);
    const started = Date.now();
    let lost = 0;
    let crashes = 0;
    let refusedAfter = 0;
    let appliedBefore = 0;
    const failures: string[] = [];
    for (let round = 0; round < COUNTS.raceRounds; round++) {
      if (round > 0) await control.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 + round, size });
      const held = round % 2 === 0;
      const at = 1 + rng.int(Math.max(1, batches - 1));
      const from = proxy.repairs.length;
      let seen = 0;
      const hold: Promise<unknown> = held
        ? proxy.holdRepair(at)
        : proxy.waitForRequest(`batch ${at}`, (m) => m === 'repair' && ++seen === at, 120_000);
      const run = cli([proxy.url, '--token', SHARDS_TOKEN, '--repair', 'shards/dangling', '--yes', '--format', 'json'], {}, 30 * 60_000);
      await within(10 * 60_000, `batch ${at} of the bulk delete`, hold);
      const status = await control.request('cluster.status', {});
      const restart = await control.request('repair', {
        requestId: `chaos-cp-restart-${round}`,
        incarnation: status.incarnation!,
        repair: { command: 'quickwit.restartControlPlane', expectedEpoch: status.controlPlaneEpoch },
      });
      assert.equal(restart.applied, 1, restart.summary);
      const atRestart = (await control.request('cluster.status', {})).counts['quickwit.metastore.shards'];
      if (held) proxy.release();
      const out = await run;
      if (out.code !== 0 && out.code !== 1) {
        crashes++;
        failures.push(`cluster-check exited ${out.code}: ${out.stderr}`);
      }

      const view = await readShards(control);
      const missing = [...view.controlPlane].filter((k) => !view.metastore.has(k));
      const deletedAfterRestart = atRestart - view.metastore.size;
      lost += missing.length + Math.max(0, deletedAfterRestart);
      const ours = proxy.repairs.slice(from);
      // Held: the held batch and every later one reached the simulator after the restart.
      const after = held ? ours.slice(at - 1) : [];
      const appliedAfter = after.reduce((n, r) => n + (r.result?.applied ?? 0), 0);
      refusedAfter += ours.reduce((n, r) => n + (r.result?.refused ?? 0), 0);
      appliedBefore += ours.reduce((n, r) => n + (r.result?.applied ?? 0), 0);
      if (missing.length)
        failures.push(`round ${round}: ${missing.length} control-plane shards are gone from the metastore, e.g. ${missing[0]}`);
      if (deletedAfterRestart > 0)
        failures.push(`round ${round}: ${deletedAfterRestart} metastore shards deleted after the control plane learned them`);
      if (appliedAfter > 0) failures.push(`round ${round}: batches sent after the restart deleted ${appliedAfter} shards`);
      if (ours.length < at) failures.push(`round ${round}: only ${ours.length} batches were sent`);
    }
    report('control-plane restart race', {
      tries: COUNTS.raceRounds,
      crashes,
      hangs: 0,
      stateChanges: 0,
      entitiesLost: lost,
      refusedAsExpected: refusedAfter,
      notes: {
        shards: size.danglingShards,
        'deleted before the restart': appliedBefore,
        seconds: ((Date.now() - started) / 1000).toFixed(1),
      },
    });
    assert.deepEqual(failures, []);
    assert.ok(refusedAfter > 0, 'batches planned before the restart were refused after it');
  });
});
