/**
 * Stuck Work of the connected clusters (`clusterDebugger/stuckWork`): `stuckWork` of each
 * cluster's synced model, linked to its checker's current findings. Kept per model until the
 * model or the findings move on, so a view refreshed twice costs one pass.
 */
import { clusterKey, type ClusterStuckWork, type StuckWork } from '../protocol';
import { stuckWork, type ClusterModel } from '../analysis';
import type { WorkspaceCluster } from './cluster';

interface Cached {
  seq: number;
  time: number;
  generation: number;
  work: StuckWork;
}

const cache = new WeakMap<ClusterModel, Cached>();

/** One cluster's stuck work (null until its first sync is done). */
export function clusterStuckWork(c: WorkspaceCluster): ClusterStuckWork {
  const model = c.session.model;
  if (!model) return { cluster: c.name, state: c.session.state, work: null };
  const { seq, time } = model.status;
  const generation = c.checker.generation;
  let hit = cache.get(model);
  if (!hit || hit.seq !== seq || hit.time !== time || hit.generation !== generation) {
    hit = { seq, time, generation, work: stuckWork(model, c.checker.findings()) };
    cache.set(model, hit);
  }
  return { cluster: c.name, state: c.session.state, work: hit.work };
}

/** Every cluster's stuck work, or only the one named `cluster` (none when it is not connected). */
export function stuckWorkOf(clusters: readonly WorkspaceCluster[], cluster?: string): ClusterStuckWork[] {
  const wanted = cluster === undefined ? clusters : clusters.filter((c) => clusterKey(c.name) === clusterKey(cluster));
  return wanted.map(clusterStuckWork);
}
