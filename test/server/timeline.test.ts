/**
 * The timeline through the real language server and the real simulator: the incidents are played
 * with `sim.inject` and `sim.tick` after the server connected, so it sees every transition as a
 * change event. The forbidden transition becomes a diagnostic and a finding with its time; the
 * fixed systems make none; `clusterDebugger/timeline` filters; a saved snapshot keeps the timeline.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COLLECTIONS,
  LspMethods,
  keys,
  type ClusterInfo,
  type ClusterStatus,
  type FindingSummary,
  type SaveSnapshotResult,
  type Subsystem,
  type TimelineParams,
  type TimelineResult,
} from '../../src/protocol';
import { analyseSnapshotFile } from '../../src/engine/offline';
import { LspHarness, useLanguageServer } from './lsp';
import { startSim, type RunningSim } from './sim';
import { clusterDocUri } from '../../src/protocol/uri';

const RULE = 'timeline/forbidden-transition';
const doc = clusterDocUri;

/** Re-asks `probe` (each answer a round trip to the server) until it holds; fails at the deadline. */
async function until(what: string, probe: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await probe())) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
}

describe('timeline (real language server, real simulator)', function () {
  this.timeout(60_000);
  const t = useLanguageServer();

  async function connect(bugs: 'buggy' | 'fixed'): Promise<RunningSim> {
    const sim = await startSim(['--scenario', 'healthy', '--seed', '1', '--bugs', bugs]);
    t.sims.push(sim);
    const info = await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: sim.url, token: sim.token });
    assert.equal(info.state, 'live');
    return sim;
  }

  /** Fluvio #4528 as it happens: spu-5001's disk fills, its link to the SC flaps, it comes back. Returns the time it came back. */
  async function playFluvio(sim: RunningSim): Promise<number> {
    const client = await sim.client();
    await client.request('sim.inject', { fault: 'fluvio.diskFull', target: 'spu-5001' });
    await client.request('sim.tick', { ticks: 1 });
    await client.request('sim.inject', { fault: 'fluvio.scSpuLinkFlap', target: 'spu-5001' });
    let status: ClusterStatus | undefined;
    // One tick at a time, so that each tick's events carry its own time; the link is back on the third.
    for (let i = 0; i < 3; i++) status = (await client.request('sim.tick', { ticks: 1 })) as ClusterStatus;
    return status!.time;
  }

  const timeline = (params: Omit<TimelineParams, 'cluster'>) =>
    t.lsp.request<TimelineResult>(LspMethods.timeline, { cluster: 'sim', ...params });
  const findingsOf = async (subsystem: Subsystem) =>
    (await t.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'sim', subsystem })).findings.filter(
      (f) => f.rule === RULE,
    );

  it('an incident already there when the cluster was connected: the timeline says when it began, from its facts', async () => {
    const sim = await startSim(['--scenario', 'milvus-wal-close-blocked', '--seed', '1']);
    t.sims.push(sim);
    await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: sim.url, token: sim.token });
    await t.lsp.waitForDiagnostics(doc('sim', 'wal'), (d) => d.some((x) => x.code === 'wal/close-blocked'), 'the WAL close finding');
    const { text, recorded } = await timeline({ limit: 100 });
    assert.equal(recorded, 0, 'no transition since connecting');
    assert.match(
      text,
      /# Already so before the timeline began[^\n]*\nt=\d+ s {2}Kubernetes asked StreamingNode \d+ to stop at t=\d+ s[^\n]*\[wal\] \(wal\/close-blocked\)/,
    );
  });

  it('Fluvio: OutOfStorage → Online with no SPU report of space freed is a diagnostic and a finding with its time', async () => {
    const sim = await connect('buggy');
    const back = await playFluvio(sim);
    const diagnostics = await t.lsp.waitForDiagnostics(
      doc('sim', 'partitions'),
      (d) => d.some((x) => x.code === RULE),
      'the forbidden-transition diagnostic',
    );
    assert.deepEqual([...new Set(diagnostics.map((d) => d.code))].sort(), ['partitions/online-out-of-space', RULE]);
    const [finding, ...others] = await findingsOf('partitions');
    assert.deepEqual(others, []);
    assert.equal(finding.id, `${RULE}:out-of-storage-cleared:orders`);
    assert.equal(finding.count, 4, 'spu-5001 leads the four orders partitions');
    const moved = finding.transitions ?? [];
    assert.equal(moved.length, 4);
    for (const tr of moved) {
      assert.equal(tr.time, back, 'the time of the tick the link came back on');
      assert.deepEqual([tr.collection, tr.from, tr.to], ['fluvio.partitions', 'LeaderOffline', 'Online']);
    }
    assert.match(
      finding.message,
      new RegExp(`went LeaderOffline → Online at t=${back} s.*OutOfStorage since t=\\d+ s, and no report of spu-5001 said space was freed`),
    );
    // Nothing else in the cluster made a forbidden transition meanwhile.
    for (const s of ['shards', 'wal', 'ddl', 'regions'] as Subsystem[]) assert.deepEqual(await findingsOf(s), [], s);
  });

  it('TiKV: a region left prepared at a commit boundary is a finding with its time', async () => {
    const sim = await connect('buggy');
    const client = await sim.client();
    await client.request('sim.inject', { fault: 'tikv.commitOnlyMessage', target: 'store-1' });
    const { time } = (await client.request('sim.tick', { ticks: 1 })) as ClusterStatus;
    await t.lsp.waitForDiagnostics(doc('sim', 'regions'), (d) => d.some((x) => x.code === RULE), 'the forbidden-transition diagnostic');
    const [finding] = await findingsOf('regions');
    assert.equal(finding.id, `${RULE}:prepared-not-current:store-1`);
    assert.equal(finding.transitions?.[0]?.time, time);
    assert.match(finding.message, /the batch is at a commit boundary/);
  });

  it('the fixed systems make no forbidden transition in the same runs', async () => {
    const sim = await connect('fixed');
    const client = await sim.client();
    await playFluvio(sim);
    await client.request('sim.inject', { fault: 'tikv.commitOnlyMessage', target: 'store-1' });
    await client.request('sim.tick', { ticks: 5 });
    // The tikv round's events are the last: once the timeline holds them, it holds everything before.
    await until(
      'the timeline to hold the tikv round',
      async () => (await timeline({ limit: 1, subsystems: ['regions'], states: ['prepared'] })).matched > 0,
    );
    const all = await timeline({ limit: 10_000 });
    assert.ok(all.facets.subsystems.partitions! >= 8 && all.facets.subsystems.regions! >= 2, JSON.stringify(all.facets.subsystems));
    assert.deepEqual(
      all.transitions.filter((x) => x.forbidden),
      [],
    );
    const synced = (await t.lsp.request<{ clusters: ClusterInfo[] }>(LspMethods.clusters, {})).clusters[0].syncedAt;
    assert.ok(synced, 'a connected cluster says when it last synced');
    // `refresh` runs the pending checks before it answers, and resyncs: it says when.
    const { clusters } = await t.lsp.request<{ clusters: ClusterInfo[] }>(LspMethods.refresh, { cluster: 'sim' });
    assert.deepEqual([clusters[0].errors, clusters[0].warnings], [0, 0]);
    assert.ok(clusters[0].syncedAt! > synced, `synced again after ${synced}: ${clusters[0].syncedAt}`);
  });

  it('keeps at most clusterDebugger.timeline.maxTransitions, from the initialization options and then the settings', async () => {
    await t.lsp.stop();
    t.lsp = await LspHarness.start({ timeline: { maxTransitions: 5 } });
    const sim = await connect('buggy');
    await playFluvio(sim);
    await until('the timeline to fill', async () => (await timeline({ limit: 0 })).dropped > 0);
    const bounded = await timeline({ limit: 100 });
    assert.equal(bounded.capacity, 5);
    assert.equal(bounded.recorded, 5);
    assert.equal(bounded.transitions.length, 5);
    await t.lsp.notify('workspace/didChangeConfiguration', { settings: { clusterDebugger: { timeline: { maxTransitions: 2 } } } });
    await until('the new bound', async () => (await timeline({ limit: 0 })).capacity === 2);
    const shrunk = await timeline({ limit: 100 });
    assert.deepEqual(shrunk.transitions, bounded.transitions.slice(0, 2), 'the newest are kept');
  });

  it('clusterDebugger/timeline filters by subsystem, state and entity, newest first; a saved snapshot keeps the timeline', async () => {
    const sim = await connect('buggy');
    const back = await playFluvio(sim);
    await t.lsp.waitForDiagnostics(doc('sim', 'partitions'), (d) => d.some((x) => x.code === RULE));

    const all = await timeline({ limit: 10_000 });
    assert.ok(all.facets.subsystems.partitions! > 0);
    const seqs = all.transitions.map((x) => x.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
      'newest first',
    );

    const oos = await timeline({ limit: 10_000, subsystems: ['partitions'], states: ['OutOfStorage'] });
    assert.ok(oos.matched >= 8, 'four partitions went OutOfStorage and left it');
    for (const x of oos.transitions) {
      assert.equal(COLLECTIONS[x.collection].subsystem, 'partitions');
      assert.ok(x.from === 'OutOfStorage' || x.to === 'OutOfStorage', `${x.from} → ${x.to}`);
    }
    assert.deepEqual(await timeline({ limit: 10, subsystems: ['ddl'], states: ['OutOfStorage'] }).then((r) => r.matched), 0);

    const key = keys.partition('orders', 0);
    const one = await timeline({ limit: 10, collection: 'fluvio.partitions', key });
    assert.deepEqual(
      one.transitions.map((x) => [x.from, x.to]),
      [
        ['LeaderOffline', 'Online'],
        ['OutOfStorage', 'LeaderOffline'],
        ['Online', 'OutOfStorage'],
      ],
    );
    assert.equal(one.transitions[0].time, back);
    assert.match(one.transitions[0].forbidden ?? '', /OutOfStorage since t=\d+/);
    assert.match(
      one.text,
      new RegExp(`t=${back} s seq \\d+  fluvio\\.partitions orders-0: LeaderOffline → Online  \\[partitions\\]  FORBIDDEN`),
    );

    const path = join(mkdtempSync(join(tmpdir(), 'timeline-')), 'sim.clustersnap');
    await t.lsp.request<SaveSnapshotResult>(LspMethods.saveSnapshot, { cluster: 'sim', path });
    const saved = await analyseSnapshotFile(path);
    assert.deepEqual(saved.errors, []);
    assert.deepEqual(
      saved.timeline.map((x) => x.seq),
      [...seqs].reverse(),
      'the file holds the recorded timeline, oldest first',
    );
    assert.ok(
      saved.findings.some((f) => f.id === `${RULE}:out-of-storage-cleared:orders`),
      'the file checks with its timeline offline',
    );
  });
});
