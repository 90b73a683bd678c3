/**
 * Bench: Stuck Work at the incident's scale (incident-all, 763,471 shards). Printed, not asserted.
 *
 * 1. In process: `stuckWork` on the model (after `runChecks`, whose findings it links to), the
 *    pure function the language server runs; three runs.
 * 2. Through the language server process, as the Stuck Work view asks: `clusterDebugger/stuckWork`
 *    once the cluster is synced and checked (computed), and again (kept per model).
 */
import { join } from 'node:path';
import { ClusterClient } from '../../src/cluster/client';
import { chainText, COLLECTION_NAMES, LspMethods, type ClusterInfo, type StuckWorkResult } from '../../src/protocol';
import { modelFrom, runChecks, stuckWork } from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';
import { INCIDENT, ms, startLanguageServer, startSim } from '../processes';

export async function benchStuck(outDir = join(__dirname)): Promise<void> {
  const sim = new Simulator();
  sim.reset({ scenario: 'incident-all', seed: 1, size: INCIDENT });
  const model = modelFrom(sim.status(), (c) => sim.entities(c));
  const entities = COLLECTION_NAMES.reduce((n, c) => n + model.collections[c].size, 0);
  let t = performance.now();
  const findings = runChecks(model);
  console.log(`stuck: ${entities.toLocaleString('en-US')} entities; runChecks ${ms(t)} (${findings.length} findings, for comparison)`);
  const runs: number[] = [];
  let work = stuckWork(model, findings);
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    work = stuckWork(model, findings);
    runs.push(performance.now() - t);
  }
  const bytes = Buffer.byteLength(JSON.stringify(work));
  console.log(
    `stuck: stuckWork in process ${runs.map((r) => r.toFixed(0)).join(' / ')} ms (3 runs); ${work.items.length} items, ${bytes.toLocaleString('en-US')} bytes of JSON`,
  );
  for (const item of work.items.filter((i, n, all) => all.findIndex((x) => x.subsystem === i.subsystem) === n)) {
    console.log(`  ${item.subsystem}: ${chainText(item.chain)} (age ${item.age ?? 'unknown'})`);
  }

  const simProcess = await startSim(outDir);
  let server: Awaited<ReturnType<typeof startLanguageServer>> | undefined;
  try {
    const { url, token } = simProcess;
    const control = await ClusterClient.connect({ url, token, clientName: 'bench', requestTimeoutMs: 600_000 });
    await control.request('sim.reset', { scenario: 'incident-all', seed: 1, size: INCIDENT });
    control.close();
    server = await startLanguageServer(outDir, {}, () => undefined);
    const { conn } = server;
    t = performance.now();
    const info = (await conn.sendRequest(LspMethods.connect, { name: 'big', url, token })) as ClusterInfo;
    console.log(`stuck: language server connected, synced and checked ${info.errors + info.warnings} findings in ${ms(t)}`);
    for (const what of ['first request (computed)', 'second request (kept)']) {
      t = performance.now();
      const answer = (await conn.sendRequest(LspMethods.stuckWork, { cluster: 'big' })) as StuckWorkResult;
      console.log(`stuck: clusterDebugger/stuckWork, ${what}: ${ms(t)}, ${answer.clusters[0]?.work?.items.length ?? 0} items`);
    }
    await conn.sendRequest('shutdown');
    conn.dispose();
  } finally {
    server?.process.kill();
    simProcess.process.kill();
  }
}
