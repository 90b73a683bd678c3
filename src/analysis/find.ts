/**
 * `Cluster: Find Entity…`: the entities of a model whose key holds a query,
 * a page at a time. A synced incident holds a million entities, so a page
 * reads keys in the model's own order (no copy, no sort), stops at `limit`
 * matches, and says where the next page starts.
 */
import { COLLECTION_NAMES, type CollectionName } from '../protocol';
import type { ClusterModel } from './model';

export interface EntityMatch {
  collection: CollectionName;
  key: string;
}

/** Where a scan stopped: the collection, and how many of its keys were read. */
export interface FindPosition {
  collection: CollectionName;
  offset: number;
}

export interface FindPage {
  matches: EntityMatch[];
  /** Where the next page starts; null when every collection was read to its end. */
  next: FindPosition | null;
  /** How many keys this page read (the bench's measure of early stopping). */
  scanned: number;
}

/**
 * Up to `limit` entities whose key contains `query` (ignoring case), in collection order
 * (`COLLECTION_NAMES`) then the model's order, from `from` on. On the first page (no `from`),
 * an entity whose key is exactly `query` comes first, found by key rather than by a scan.
 */
export function findEntities(model: ClusterModel, query: string, limit: number, from?: FindPosition): FindPage {
  const matches: EntityMatch[] = [];
  const exact = new Set<CollectionName>();
  if (!from) {
    for (const collection of COLLECTION_NAMES) {
      if (matches.length >= limit) break;
      if (model.collections[collection].has(query)) {
        matches.push({ collection, key: query });
        exact.add(collection);
      }
    }
  }
  // One regular expression, built once: `test` allocates nothing per key, where lower-casing each key would.
  const pattern = new RegExp(query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  const start = from ? COLLECTION_NAMES.indexOf(from.collection) : 0;
  let scanned = 0;
  for (let i = Math.max(0, start); i < COLLECTION_NAMES.length; i++) {
    const collection = COLLECTION_NAMES[i];
    const skip = from && i === start ? from.offset : 0;
    let offset = 0;
    for (const key of model.collections[collection].keys()) {
      if (offset++ < skip) continue;
      scanned++;
      if (matches.length >= limit) return { matches, next: { collection, offset: offset - 1 }, scanned: scanned - 1 };
      if (pattern.test(key) && !(exact.has(collection) && key === query)) matches.push({ collection, key });
    }
  }
  return { matches, next: null, scanned };
}
