/**
 * The topology of each connected cluster (`clusterDebugger/topology`), from
 * its synced model and current findings. Computed once per model and check
 * generation: the webview asks again after every change burst, and most
 * bursts change neither.
 */
import type { ClusterTopology } from '../protocol';
import { clusterTopology, type ClusterModel } from '../analysis';
import type { WorkspaceCluster } from './cluster';
import { syncedText, treeNodeId } from './tree';

const cache = new WeakMap<ClusterModel, { key: string; topology: ClusterTopology }>();

export function topologyOf(c: WorkspaceCluster): ClusterTopology {
  const model = c.session.model;
  if (!model) {
    const progress = c.session.syncProgress;
    const message =
      c.session.error ??
      (progress ? `Syncing: ${syncedText(progress)}; the picture comes when the sync ends` : `The cluster is ${c.session.state}…`);
    return { cluster: c.name, message, systems: [], maxCount: 0 };
  }
  const key = `${c.session.generation}:${c.checker.generation}:${c.name}`;
  const cached = cache.get(model);
  if (cached?.key === key) return cached.topology;
  const topology = clusterTopology(model, c.checker.findings(), {
    cluster: c.name,
    treeId: (subsystem, segments) => treeNodeId(subsystem, c.name, segments),
  });
  cache.set(model, { key, topology });
  return topology;
}
