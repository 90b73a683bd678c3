/**
 * Addresses of a cluster's virtual documents: `cluster://NAME/NAME.<subsystem>.clustersnap`.
 *
 * The cluster's name is in the file name too, not only in the authority: the
 * Problems panel, editor tabs and pickers show a document by its file name, and
 * prod's and staging's `shards` must not look the same there.
 *
 * VS Code's URI class lower-cases the authority when it prints a URI, so the
 * cluster name is published lower-case and matched by `clusterKey`; the
 * server refuses two clusters whose names differ only in case.
 */
import { SUBSYSTEMS, type Subsystem } from './collections';
import { clusterKey } from './config';

export const CLUSTER_SCHEME = 'cluster';
export const SNAPSHOT_LANGUAGE = 'clustersnap';
export const SNAPSHOT_EXTENSION = `.${SNAPSHOT_LANGUAGE}`;

export function clusterDocUri(cluster: string, subsystem: Subsystem): string {
  return `${CLUSTER_SCHEME}://${clusterKey(cluster)}${clusterDocPath(cluster, subsystem)}`;
}

/** The document path of a cluster's subsystem, as in a URI's `path`: `/prod.shards.clustersnap`. */
export function clusterDocPath(cluster: string, subsystem: Subsystem): string {
  return `/${clusterKey(cluster)}.${subsystem}${SNAPSHOT_EXTENSION}`;
}

/** The subsystem of a document path (`/prod.shards.clustersnap`), or null: the last dotted part before the extension. */
export function subsystemOfDocPath(path: string): Subsystem | null {
  if (!path.endsWith(SNAPSHOT_EXTENSION)) return null;
  const stem = path.slice(path.lastIndexOf('/') + 1, path.length - SNAPSHOT_EXTENSION.length);
  const name = stem.slice(stem.lastIndexOf('.') + 1).toLowerCase();
  return (SUBSYSTEMS as readonly string[]).includes(name) ? (name as Subsystem) : null;
}

/** The cluster (by `clusterKey`) and subsystem of a virtual document's URI, or null if it is not one. */
export function parseClusterDocUri(uri: string): { cluster: string; subsystem: Subsystem } | null {
  const prefix = `${CLUSTER_SCHEME}://`;
  if (uri.slice(0, prefix.length).toLowerCase() !== prefix) return null;
  const rest = uri.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const subsystem = subsystemOfDocPath(rest.slice(slash));
  if (!subsystem) return null;
  try {
    return { cluster: clusterKey(decodeURIComponent(rest.slice(0, slash))), subsystem };
  } catch {
    return null;
  }
}
