/**
 * Addresses of a cluster's virtual documents: `cluster://NAME/<subsystem>.clustersnap`.
 *
 * VS Code's URI class lower-cases the authority when it prints a URI, so the
 * cluster name is matched case-insensitively and published lower-case; the
 * server refuses two clusters whose names differ only in case.
 */
import { SUBSYSTEMS, type Subsystem } from '../protocol';

export const CLUSTER_SCHEME = 'cluster';
export const SNAPSHOT_LANGUAGE = 'clustersnap';

export function clusterDocUri(cluster: string, subsystem: Subsystem): string {
  return `${CLUSTER_SCHEME}://${cluster.toLowerCase()}/${subsystem}.${SNAPSHOT_LANGUAGE}`;
}

/** The cluster (lower-case) and subsystem of a virtual document's URI, or null if it is not one. */
export function parseClusterDocUri(uri: string): { cluster: string; subsystem: Subsystem } | null {
  const m = /^cluster:\/\/([^/]+)\/([a-z]+)\.clustersnap$/i.exec(uri);
  if (!m) return null;
  const subsystem = m[2].toLowerCase() as Subsystem;
  if (!SUBSYSTEMS.includes(subsystem)) return null;
  return { cluster: decodeURIComponent(m[1]).toLowerCase(), subsystem };
}
