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

/** A model read from an in-process source of each collection's entities (a simulator, in benches and tests). */
export function modelFrom(status: ClusterStatus, entitiesOf: <C extends CollectionName>(c: C) => Iterable<EntityOf<C>>): ClusterModel {
  const collections = emptyCollections();
  for (const c of COLLECTION_NAMES) {
    const map = collections[c] as Map<string, EntityOf<typeof c>>;
    for (const e of entitiesOf(c)) map.set(e.key, e);
  }
  return { status, collections };
}
