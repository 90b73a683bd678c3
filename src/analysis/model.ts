/**
 * The synced model the checks read: each component's view, keyed by entity key.
 * Filled by the language server's sync (live), by the snapshot parser
 * (offline) or by tests (by hand). Checks never mutate it.
 */
import { COLLECTION_NAMES, type ClusterStatus, type CollectionName, type EntityOf } from '../protocol';
import { EntityTable, StringInterner, type EntityMap } from './table';

export type { EntityMap } from './table';

/**
 * Each collection's entities by key. `emptyCollections` makes compact tables (`EntityTable`);
 * a `Map` does as well (tests build models by hand).
 */
export type CollectionMaps = { [C in CollectionName]: EntityMap<EntityOf<C>> };

export interface ClusterModel {
  status: ClusterStatus;
  collections: CollectionMaps;
}

/** A model's empty collections: one compact table each, sharing one copy of every repeated string. */
export function emptyCollections(): CollectionMaps {
  const interner = new StringInterner();
  const maps = {} as Record<CollectionName, EntityTable<{ key: string }>>;
  for (const c of COLLECTION_NAMES) maps[c] = new EntityTable(c, interner);
  return maps as unknown as CollectionMaps;
}

/** A model read from an in-process source of each collection's entities (a simulator, in benches and tests). */
export function modelFrom(status: ClusterStatus, entitiesOf: <C extends CollectionName>(c: C) => Iterable<EntityOf<C>>): ClusterModel {
  const collections = emptyCollections();
  for (const c of COLLECTION_NAMES) {
    const map = collections[c] as EntityMap<EntityOf<typeof c>>;
    for (const e of entitiesOf(c)) map.set(e.key, e);
  }
  return { status, collections };
}
