/**
 * Chaos 3: kill -9 of the simulator with the language server connected.
 *
 * The real language server (out/server.js, over LSP) is connected to the real
 * simulator through a recording proxy. Again and again the simulator is killed
 * with SIGKILL at a moment the proxy sees, alternately:
 *  - during a sync: at the k-th `cluster.list` page of a resync;
 *  - during a repair: `applyAllSafe` is running and its batch has reached the
 *    simulator (killed before or after the simulator answered it);
 * and started again on the same port with the same seed: the same keys and
 * versions, a new incarnation.
 *
 * Every time, the server must recover: it reports the cluster live on the new
 * incarnation, and its diagnostics are back (not stale) and agree with what
 * the new simulator holds. Across the run, no repair crosses an incarnation,
 * checked from outside: every `repair` that a simulator answered with a result
 * carried that simulator's own incarnation (from the simulator's `initialize`
 * reply, and one of the processes this test started); a simulator's -32011
 * refusal of another incarnation's repair is what should happen, and is
 * counted as refused as expected.
 */
import * as assert from 'node:assert/strict';
import type { Diagnostic } from 'vscode-languageserver/node';
import { clusterDocUri, LspCommands, LspMethods, type ApplyRepairResult, type ClusterInfo, type ClustersResult } from '../../src/protocol';
import { LspHarness } from '../server/lsp';
import { startSim, type RunningSim } from '../server/sim';
import { snapshot, violations } from '../sim/helpers';
import { COUNTS, report, Rng, SEED, within } from './counts';
import { RecordingProxy } from './proxy';
import { testSecret } from '../secrets';

const TOKEN = testSecret('sim');
const STALE = '[stale] ';

describe('chaos: kill -9 of the simulator during sync and repair, language server connected', function () {
  this.timeout(60 * 60_000);
  let lsp: LspHarness;
  let proxy: RecordingProxy;
  const sims: RunningSim[] = [];

  after(async () => {
    await lsp?.stop();
    await proxy?.close();
    for (const s of sims.splice(0)) await s.stop();
  });

  async function start(port: number): Promise<{ sim: RunningSim; incarnation: string }> {
    const sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1', '--port', String(port), '--token', TOKEN]);
    sims.push(sim);
    const control = await sim.client();
    const { incarnation } = await control.request('cluster.status', {});
    return { sim, incarnation: incarnation! };
  }

  async function kill(sim: RunningSim): Promise<void> {
    const exited = new Promise((r) => sim.process.once('exit', r));
    sim.process.kill('SIGKILL');
    await within(10_000, 'the killed simulator to exit', exited);
    // Its control client is gone with it.
    sims.splice(sims.indexOf(sim), 1);
    await sim.stop();
  }

  it(`${COUNTS.kills} kills: the server recovers every time, and no repair crosses an incarnation`, async () => {
    const rng = new Rng(SEED + 3);
    let { sim, incarnation } = await start(0);
    const port = Number(new URL(sim.url).port);
    const incarnations = new Set([incarnation]);
    proxy = await RecordingProxy.start(sim.url);
    lsp = await LspHarness.start();
    await lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: proxy.url, token: TOKEN });
    const uri = clusterDocUri('sim', 'shards');
    await lsp.waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'shards/dangling'));

    const started = Date.now();
    let recovered = 0;
    let repairsRun = 0;
    let killedAfterAnswer = 0;
    let replanned = 0;
    let maxRecoveryMs = 0;
    for (let i = 0; i < COUNTS.kills; i++) {
      const mode = i % 2 === 0 ? 'sync' : 'repair';
      let command: Promise<ApplyRepairResult> | undefined;
      if (mode === 'sync') {
        // The server's resync reads the collections page by page: kill at the k-th page.
        const k = 1 + rng.int(12);
        let pages = 0;
        const at = proxy.waitForRequest(`page ${k} of a resync`, (m) => m === 'cluster.list' && ++pages === k);
        const refresh = lsp.request(LspMethods.refresh, { cluster: 'sim' }).catch(() => undefined);
        await at;
        await kill(sim);
        await within(30_000, 'the interrupted refresh', refresh);
      } else {
        const before = proxy.repairs.length;
        const sent = proxy.waitForRequest('a repair batch', (m) => m === 'repair');
        command = lsp.request<ApplyRepairResult>('workspace/executeCommand', {
          command: LspCommands.applyAllSafe,
          arguments: [{ cluster: 'sim' }],
        });
        await sent;
        repairsRun++;
        if (rng.chance(0.5)) {
          // After the simulator answered: the kill lands while the server catches up.
          const record = proxy.repairs[before]!;
          await lsp.waitFor('the batch to be answered', () => record.outcome !== 'pending', 20_000);
          killedAfterAnswer++;
        }
        await kill(sim);
      }
      const downAt = Date.now();
      ({ sim, incarnation } = await start(port));
      incarnations.add(incarnation);

      // Recovered: live on the new incarnation, ...
      await lsp.waitFor(
        `the server to be live on incarnation ${incarnation} (kill ${i + 1}, ${mode})`,
        () =>
          lsp.didChanges.some(
            (c) =>
              c.cluster === 'sim' &&
              c.state === 'live' &&
              c.clusters.some((x) => x.name === 'sim' && x.status?.incarnation === incarnation),
          ),
        30_000,
      );
      if (command) {
        const result = await within(60_000, `applyAllSafe interrupted by kill ${i + 1}`, command);
        if (/Re-planned on the restarted cluster/.test(result.details.join('\n') + result.summary)) replanned++;
      }
      const { clusters } = await lsp.request<ClustersResult>(LspMethods.clusters, {});
      const info = clusters.find((c) => c.name === 'sim');
      assert.equal(info?.state, 'live', `live after kill ${i + 1}`);
      assert.equal(info?.status?.incarnation, incarnation, `on the new incarnation after kill ${i + 1}`);
      // ... and diagnostics back, not stale, agreeing with the new simulator.
      const control = await sim.client();
      const expectDangling = violations(await snapshot(control), await control.request('cluster.status', {}))['shards/dangling'].length > 0;
      await lsp.waitForDiagnostics(
        uri,
        (d: Diagnostic[]) =>
          d.every((x) => !String(x.message).startsWith(STALE)) && d.some((x) => x.code === 'shards/dangling') === expectDangling,
        `fresh diagnostics after kill ${i + 1} (${mode}; dangling shards: ${expectDangling})`,
      );
      maxRecoveryMs = Math.max(maxRecoveryMs, Date.now() - downAt);
      recovered++;
    }
    const seconds = (Date.now() - started) / 1000;

    // From outside: which simulator answered which repair, and on which incarnation it was planned.
    const answered = proxy.repairs.filter((r) => r.outcome === 'result');
    const crossed = answered.filter((r) => r.plannedOn !== r.reached || !incarnations.has(r.reached!));
    const refusedAsExpected = proxy.repairs.filter((r) => r.outcome === 'error' && r.errorCode === -32011).length;
    const otherErrors = proxy.repairs.filter((r) => r.outcome === 'error' && r.errorCode !== -32011);
    const serverAlive = lsp.process.exitCode === null && lsp.process.signalCode === null;
    report('kill -9 during sync and repair', {
      tries: COUNTS.kills,
      crashes: serverAlive ? 0 : 1,
      hangs: COUNTS.kills - recovered,
      stateChanges: crossed.length,
      entitiesLost: 0,
      refusedAsExpected,
      notes: {
        recovered,
        'repairs interrupted': repairsRun,
        'killed after the answer': killedAfterAnswer,
        're-planned': replanned,
        'batches answered': answered.length,
        'batches lost with the process': proxy.repairs.filter((r) => r.outcome === 'lost').length,
        'crossed incarnations': crossed.length,
        'max recovery ms': maxRecoveryMs,
        seconds: seconds.toFixed(1),
      },
    });
    assert.ok(serverAlive, 'the language server is still running');
    assert.equal(recovered, COUNTS.kills);
    assert.ok(answered.length > 0, 'repairs did reach simulators');
    assert.deepEqual(
      crossed.map((r) => `${r.requestId}: planned on ${r.plannedOn}, applied by ${r.reached}`),
      [],
      'no repair applied across an incarnation',
    );
    assert.deepEqual(
      otherErrors.map((r) => `${r.requestId}: ${r.errorCode}`),
      [],
      'no repair failed but for a foreign incarnation',
    );
  });
});
