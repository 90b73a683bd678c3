/**
 * The synced model the checks read: each component's view, keyed by entity key.
 * Filled by the language server's sync (live), by the snapshot parser
 * (offline) or by tests (by hand). Checks never mutate it.
 */
import { COLLECTION_NAMES, type ClusterStatus, type CollectionName, type EntityOf } from '../protocol';

export type CollectionMaps = { [C in CollectionName]: Map<string, EntityOf<C>> };

export interface ClusterModel {
  status: ClusterStatus;
  collections: CollectionMaps;
}

export function emptyCollections(): CollectionMaps {
  const maps = {} as Record<CollectionName, Map<string, unknown>>;
  for (const c of COLLECTION_NAMES) maps[c] = new Map();
  return maps as CollectionMaps;
}
