/**
 * Bench: the topology (`Cluster: Show Topology`) at the incident's scale. The
 * 763,471-shard cluster (incident-all) in process: the time `clusterTopology`
 * takes over the synced model and its findings (what `clusterDebugger/topology`
 * computes once per model and check generation), and the size of what crosses
 * to the webview. Printed, not asserted.
 */
import { clusterTopology, modelFrom, runChecks } from '../../src/analysis';
import { treeNodeId } from '../../src/engine/tree';
import { Simulator } from '../../src/simulator/simulator';
import { INCIDENT } from '../processes';

export async function benchTopology(): Promise<void> {
  const sim = new Simulator();
  sim.reset({ scenario: 'incident-all', seed: 1, size: INCIDENT });
  const model = modelFrom(sim.status(), (c) => sim.entities(c));
  const findings = runChecks(model);
  const options = {
    cluster: 'sim',
    treeId: (s: Parameters<typeof treeNodeId>[0], segments: readonly string[]) => treeNodeId(s, 'sim', segments),
  };
  const runs: number[] = [];
  let topology = clusterTopology(model, findings, options);
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    topology = clusterTopology(model, findings, options);
    runs.push(performance.now() - t);
  }
  runs.sort((a, b) => a - b);
  const nodes = topology.systems.reduce((n, s) => n + s.nodes.length, 0);
  const problems = topology.systems.reduce((n, s) => n + s.nodes.reduce((m, x) => m + x.problems.length, 0), 0);
  const bytes = JSON.stringify({ clusters: [topology] }).length;
  console.log(
    `topology: ${model.collections['quickwit.metastore.shards'].size.toLocaleString('en-US')} shards, ${findings.length} findings → ` +
      `${nodes} nodes, ${problems} problem marks, ${(bytes / 1024).toFixed(1)} KiB of JSON`,
  );
  console.log(
    `topology: clusterTopology median ${runs[2]!.toFixed(0)} ms (min ${runs[0]!.toFixed(0)}, max ${runs[4]!.toFixed(0)}; 5 runs)`,
  );
}
