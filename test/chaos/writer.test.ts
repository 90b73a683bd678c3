/**
 * Chaos 5: a writer races a bulk repair; no live shard may be lost.
 *
 * The language server runs `applyAllSafe` on tens of thousands of dangling
 * shards (batches of 5,000, through a recording proxy). While it runs, an
 * outside writer makes some of those shards live, as Quickwit's control plane
 * does when a retried `init_shards` succeeds (`sim.initShards`: the leader
 * ingester opens the shard, the control plane adds it to its model), and
 * ticks the clock so that ingestion goes on. Half of the writer's shards are
 * taken from a batch the proxy holds until the writer is done (so that batch
 * is sure to carry shards that became live after it was planned); the rest
 * are written while the later batches run.
 *
 * "Live" as in the simulator's Quickwit model: the control plane knows the
 * shard, an ingester holds it, or it has a publish position. At the end of
 * each round every shard that was live before, or that the writer made live,
 * is still in the metastore, and every shard the writer initialised is still
 * held by its ingester.
 */
import * as assert from 'node:assert/strict';
import { clusterDocUri, LspCommands, LspMethods, type ApplyRepairResult, type ClusterInfo } from '../../src/protocol';
import type { ClusterClient } from '../../src/cluster/client';
import { LspHarness } from '../server/lsp';
import type { RunningSim } from '../server/sim';
import { COUNTS, report, Rng, SEED, within } from './counts';
import { RecordingProxy } from './proxy';
import { danglingKeys, liveKeys, readShards, SHARDS_TOKEN, sizeOf, startShardSim } from './shards';

const SLICE = 50;

describe('chaos: a writer makes shards live while a bulk delete runs (language server applyAllSafe)', function () {
  this.timeout(60 * 60_000);
  let sim: RunningSim;
  let proxy: RecordingProxy;
  let control: ClusterClient;
  let lsp: LspHarness;

  before(async () => {
    sim = await startShardSim(COUNTS.writerShards);
    proxy = await RecordingProxy.start(sim.url);
    control = await sim.client();
    lsp = await LspHarness.start();
  });
  after(async () => {
    await lsp?.stop();
    await proxy?.close();
    await sim?.stop();
  });

  it(`${COUNTS.writerRounds} rounds at ${COUNTS.writerShards} dangling shards, ${COUNTS.writerLive} made live per round: 0 live shards lost`, async () => {
    const rng = new Rng(SEED + 5);
    const size = sizeOf(COUNTS.writerShards);
    const batches = Math.ceil(size.danglingShards / 5000);
    const uri = clusterDocUri('sim', 'shards');
    const started = Date.now();
    let lost = 0;
    let madeLiveTotal = 0;
    let refused = 0;
    let deleted = 0;
    const failures: string[] = [];
    await lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: proxy.url, token: SHARDS_TOKEN });
    for (let round = 0; round < COUNTS.writerRounds; round++) {
      if (round > 0) {
        const { incarnation } = await control.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 + round, size });
        await lsp.waitFor(
          `the server to resync after the reset of round ${round}`,
          () =>
            lsp.didChanges.some(
              (c) => c.cluster === 'sim' && c.state === 'live' && c.clusters.some((x) => x.status?.incarnation === incarnation),
            ),
          5 * 60_000,
        );
      }
      await lsp.waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'shards/dangling' && !String(x.message).startsWith('[stale]')));
      const before = await readShards(control);
      const liveBefore = liveKeys(before);
      const dangling = danglingKeys(before);

      const at = 1 + rng.int(Math.max(1, Math.min(batches - 1, 4)));
      const from = proxy.repairs.length;
      const hold = proxy.holdRepair(at, 60_000);
      const command = lsp.request<ApplyRepairResult>('workspace/executeCommand', {
        command: LspCommands.applyAllSafe,
        arguments: [{ cluster: 'sim' }],
      });
      const held = await hold.catch(async (e: Error) => {
        const r = await within(60_000, 'applyAllSafe', command).catch((x: Error) => x.message);
        throw new Error(
          `${e.message}; ${proxy.repairs.length - from} batches were sent; applyAllSafe: ${JSON.stringify(r)}\n${lsp.logs.slice(-15).join('\n')}`,
        );
      });
      const heldKeys = (held.params.repair?.targets ?? []).map((t) => t.key);
      const half = Math.floor(COUNTS.writerLive / 2);
      const fromHeld = rng.sample(heldKeys, half);
      const chosen = new Set(fromHeld);
      const others = rng.sample(
        dangling.filter((k) => !chosen.has(k)),
        COUNTS.writerLive - fromHeld.length,
      );
      const madeLive = new Set<string>();
      const write = async (keys: string[]) => {
        for (let i = 0; i < keys.length; i += SLICE) {
          const r = await control.request('sim.initShards', { keys: keys.slice(i, i + SLICE) });
          for (const k of r.initialised) madeLive.add(k);
          if (rng.chance(0.2)) await control.request('sim.tick', { ticks: 1 });
        }
      };
      // The held batch was planned before these shards became live.
      await write(fromHeld);
      proxy.release();
      // The rest while the later batches run.
      await write(others);
      const result = await within(10 * 60_000, 'applyAllSafe', command);
      madeLiveTotal += madeLive.size;

      const after = await readShards(control);
      const gone = [...new Set([...liveBefore, ...madeLive])].filter((k) => !after.metastore.has(k));
      const dropped = [...madeLive].filter((k) => !after.held.has(k) || !after.controlPlane.has(k));
      lost += gone.length + dropped.length;
      const ours = proxy.repairs.slice(from);
      refused += ours.reduce((n, r) => n + (r.result?.refused ?? 0), 0);
      deleted += result.applied;
      if (gone.length) failures.push(`round ${round}: ${gone.length} live shards deleted from the metastore, e.g. ${gone[0]}`);
      if (dropped.length)
        failures.push(`round ${round}: ${dropped.length} shards the writer initialised are no longer held or known, e.g. ${dropped[0]}`);
      if (result.applied === 0) failures.push(`round ${round}: the bulk delete deleted nothing: ${result.summary}`);
      if (madeLive.size < Math.min(half, heldKeys.length))
        failures.push(`round ${round}: the writer made only ${madeLive.size} shards live`);
      const heldResult = held.result;
      const heldLive = heldResult?.items.filter((i) => madeLive.has(i.key)) ?? [];
      if (heldLive.some((i) => i.status === 'applied'))
        failures.push(`round ${round}: the held batch deleted a shard the writer had made live`);
    }
    report('writer races a bulk repair', {
      tries: COUNTS.writerRounds,
      crashes: lsp.process.exitCode === null ? 0 : 1,
      hangs: 0,
      stateChanges: 0,
      entitiesLost: lost,
      refusedAsExpected: refused,
      notes: {
        shards: size.danglingShards,
        'made live by the writer': madeLiveTotal,
        'dangling deleted': deleted,
        seconds: ((Date.now() - started) / 1000).toFixed(1),
      },
    });
    assert.deepEqual(failures, []);
    assert.equal(lost, 0);
    assert.ok(refused > 0, 'the delete batches met shards that had become live, and the cluster refused them');
  });
});
