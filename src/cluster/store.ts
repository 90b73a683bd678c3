/**
 * A cluster's entity store (the simulator's model, a gateway's mirror of the real stores): per collection a Map key → entity, a global
 * sequence number, and the change events that go out as `cluster.events`.
 *
 * Entities are replaced, never mutated in place, so a page that was already
 * handed out never changes under the reader.
 *
 * Paging is by cursor = the last key returned, over a sorted key index that is
 * maintained lazily: appends in key order keep it sorted for free, other
 * inserts and deletes only mark it dirty and the next `page` repairs it
 * (TimSort merges the sorted runs in near-linear time). A page is therefore
 * O(log n + limit), and a cursor stays valid when entities before or after it
 * are deleted.
 */
import { COLLECTION_NAMES, sameFieldValue, type ChangeEvent, type CollectionName, type EntityOf } from '../protocol';
/** Where a store records every change it makes (the simulator hashes them; a gateway needs none). */
export interface ChangeTrace {
  record(line: string): void;
}

export type Draft<C extends CollectionName> = Omit<EntityOf<C>, 'version'>;
type AnyEntity = { key: string; version: number };

/** Above this many events in one flush, subscribers get a `reset` and resync instead of a flood. */
export const MAX_EVENTS_PER_FLUSH = 50_000;
/** Events per `cluster.events` notification, so no message grows past a few MB. */
export const EVENTS_PER_NOTIFICATION = 2_000;

export interface EventBatch {
  fromSeq: number;
  events: ChangeEvent[];
  /** Subscribers must resync (bulk build or too many changes to send). */
  reset: boolean;
}

class KeyIndex {
  private sorted: string[] = [];
  private needsSort = false;
  private hasDeletes = false;

  added(key: string): void {
    const last = this.sorted.length ? this.sorted[this.sorted.length - 1] : undefined;
    if (last !== undefined && key <= last) this.needsSort = true;
    this.sorted.push(key);
  }

  deleted(): void {
    this.hasDeletes = true;
  }

  /** The keys in order, repaired if dirty. `live` tells which keys still exist. */
  keys(live: Map<string, unknown>): string[] {
    if (this.hasDeletes) {
      this.sorted = this.sorted.filter((k) => live.has(k));
      this.hasDeletes = false;
    }
    if (this.needsSort) {
      this.sorted.sort();
      // A key deleted and re-added appears twice; drop the duplicates once sorted.
      this.sorted = this.sorted.filter((k, i, a) => i === 0 || a[i - 1] !== k);
      this.needsSort = false;
    }
    return this.sorted;
  }
}

/** Index of the first key strictly greater than `key`. */
function upperBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) return undefined;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  return key.length ? key : undefined;
}

export class Store {
  private readonly maps = new Map<CollectionName, Map<string, AnyEntity>>();
  private readonly indexes = new Map<CollectionName, KeyIndex>();
  /** Per collection, the highest version of an entity deleted from it (see `put`). */
  private readonly deletedVersions = new Map<CollectionName, number>();
  private pending: ChangeEvent[] = [];
  private pendingReset = false;
  private lastSeq: number;
  /** While true, mutations emit no events (the bulk build of a scenario). They are still traced. */
  bulk = false;

  constructor(
    private readonly trace: ChangeTrace,
    startSeq = 0,
  ) {
    this.lastSeq = startSeq;
    for (const c of COLLECTION_NAMES) {
      this.maps.set(c, new Map());
      this.indexes.set(c, new KeyIndex());
    }
  }

  get seq(): number {
    return this.lastSeq;
  }

  private map<C extends CollectionName>(c: C): Map<string, EntityOf<C>> {
    return this.maps.get(c) as unknown as Map<string, EntityOf<C>>;
  }

  get<C extends CollectionName>(c: C, key: string): EntityOf<C> | undefined {
    return this.map(c).get(key);
  }

  has(c: CollectionName, key: string): boolean {
    return this.maps.get(c)!.has(key);
  }

  size(c: CollectionName): number {
    return this.maps.get(c)!.size;
  }

  /** Iterates in insertion order (deterministic). Do not mutate the collection while iterating. */
  values<C extends CollectionName>(c: C): IterableIterator<EntityOf<C>> {
    return this.map(c).values();
  }

  /** The collection itself, read-only, for the checks of `/metrics` (src/cluster/metrics.ts): no copy. */
  view<C extends CollectionName>(c: C): ReadonlyMap<string, EntityOf<C>> {
    return this.map(c);
  }

  /** A snapshot array, safe to mutate the store while walking it. */
  all<C extends CollectionName>(c: C): EntityOf<C>[] {
    return [...this.map(c).values()];
  }

  /**
   * Inserts or replaces an entity; its version is the previous one + 1. A new
   * entity starts above every version ever deleted from its collection, so a
   * key deleted and created again never repeats a version: a repair planned
   * against the old entity is refused, not applied to the new one. Takes
   * ownership of `draft` (it becomes the entity): copying every entity tripled
   * the time of a 763k-shard build.
   */
  put<C extends CollectionName>(c: C, draft: Draft<C>): EntityOf<C> {
    const map = this.map(c);
    const prev = map.get(draft.key);
    const entity = draft as EntityOf<C>;
    entity.version = (prev?.version ?? this.deletedVersions.get(c) ?? 0) + 1;
    map.set(draft.key, entity);
    if (!prev) this.indexes.get(c)!.added(draft.key);
    this.emit({ seq: 0, op: 'upsert', collection: c, key: draft.key, item: entity });
    return entity;
  }

  /**
   * Mirrors a record of a real store (a gateway): the entity keeps the store's
   * own version (an etcd `mod_revision`, a row's version), so a repair's
   * expectation is checked by that store. Returns false, and emits nothing,
   * when the mirror already holds exactly this entity.
   */
  mirror<C extends CollectionName>(c: C, entity: EntityOf<C>): boolean {
    const map = this.map(c);
    const prev = map.get(entity.key);
    if (prev && prev.version === entity.version && sameFieldValue(prev, entity)) return false;
    map.set(entity.key, entity);
    if (!prev) this.indexes.get(c)!.added(entity.key);
    this.emit({ seq: 0, op: 'upsert', collection: c, key: entity.key, item: entity });
    return true;
  }

  /**
   * Applies a patch to an existing entity. No-op (no version bump, no event)
   * when nothing actually changes, so a tick that ends where it started is silent.
   */
  patch<C extends CollectionName>(c: C, key: string, patch: Partial<Draft<C>>): EntityOf<C> | undefined {
    const prev = this.map(c).get(key);
    if (!prev) return undefined;
    let changed = false;
    for (const [k, v] of Object.entries(patch)) {
      if (!sameFieldValue((prev as Record<string, unknown>)[k], v)) {
        changed = true;
        break;
      }
    }
    if (!changed) return prev;
    return this.put(c, { ...prev, ...patch } as Draft<C>);
  }

  delete(c: CollectionName, key: string): boolean {
    const map = this.maps.get(c)!;
    const prev = map.get(key);
    if (!prev) return false;
    map.delete(key);
    if (prev.version > (this.deletedVersions.get(c) ?? 0)) this.deletedVersions.set(c, prev.version);
    this.indexes.get(c)!.deleted();
    this.emit({ seq: 0, op: 'delete', collection: c, key, version: prev.version });
    return true;
  }

  /** One page in key order after `afterKey`. */
  page<C extends CollectionName>(
    c: C,
    afterKey: string | undefined,
    limit: number,
  ): { items: EntityOf<C>[]; lastKey: string | undefined; more: boolean } {
    const map = this.map(c);
    const sorted = this.indexes.get(c)!.keys(map);
    const start = afterKey === undefined ? 0 : upperBound(sorted, afterKey);
    const end = Math.min(sorted.length, start + limit);
    const items: EntityOf<C>[] = new Array(end - start);
    for (let i = start; i < end; i++) items[i - start] = map.get(sorted[i])!;
    return { items, lastKey: end > start ? sorted[end - 1] : undefined, more: end < sorted.length };
  }

  /** Takes the events since the last flush, with their sequence numbers assigned. */
  flush(): EventBatch | undefined {
    if (this.pendingReset) {
      this.pendingReset = false;
      this.pending = [];
      return { fromSeq: this.lastSeq + 1, events: [], reset: true };
    }
    if (this.pending.length === 0) return undefined;
    const events = this.pending;
    this.pending = [];
    const fromSeq = this.lastSeq + 1;
    for (let i = 0; i < events.length; i++) events[i].seq = fromSeq + i;
    this.lastSeq += events.length;
    return { fromSeq, events, reset: false };
  }

  /** Marks that subscribers must resync; the next flush says so. Advances `seq` so pages read before differ. */
  markReset(): void {
    this.pending = [];
    this.pendingReset = true;
    this.lastSeq += 1;
  }

  private emit(event: ChangeEvent): void {
    const version = event.op === 'upsert' ? (event.item as AnyEntity).version : event.version;
    this.trace.record(`${event.op} ${event.collection} ${event.key} ${version}`);
    if (this.bulk || this.pendingReset) return;
    if (this.pending.length >= MAX_EVENTS_PER_FLUSH) {
      // Too many to send; number them away and ask subscribers to resync.
      this.lastSeq += this.pending.length + 1;
      this.pending = [];
      this.pendingReset = true;
      return;
    }
    this.pending.push(event);
  }
}
