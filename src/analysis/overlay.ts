/**
 * A copy-on-write view of a Map: reads fall through to the base, writes stay
 * in the overlay, and the base is never touched. A repair preview deletes
 * 760,471 of 763,471 shards without copying the 763,471: it holds only what
 * it changed.
 *
 * Iteration is in the base's order (a replaced entry keeps its place, as
 * `Map.set` on an existing key does), then the entries the overlay added.
 */
export class OverlayMap<V> implements Map<string, V> {
  /** Entries whose key the base does not hold (or held, and the overlay deleted first). */
  private readonly added = new Map<string, V>();
  /** New values of base keys. */
  private readonly replaced = new Map<string, V>();
  /** Base keys deleted (a key deleted and set again is also in `added`). */
  private readonly deleted = new Set<string>();

  constructor(private readonly base: ReadonlyMap<string, V>) {}

  get size(): number {
    return this.base.size - this.deleted.size + this.added.size;
  }

  get(key: string): V | undefined {
    const a = this.added.get(key);
    if (a !== undefined || this.deleted.has(key)) return a;
    return this.replaced.get(key) ?? this.base.get(key);
  }

  has(key: string): boolean {
    return this.added.has(key) || (!this.deleted.has(key) && this.base.has(key));
  }

  set(key: string, value: V): this {
    if (!this.added.has(key) && this.base.has(key) && !this.deleted.has(key)) this.replaced.set(key, value);
    else this.added.set(key, value);
    return this;
  }

  delete(key: string): boolean {
    if (this.added.delete(key)) return true;
    if (!this.base.has(key) || this.deleted.has(key)) return false;
    this.deleted.add(key);
    this.replaced.delete(key);
    return true;
  }

  clear(): void {
    this.added.clear();
    this.replaced.clear();
    for (const k of this.base.keys()) this.deleted.add(k);
  }

  /** What the overlay did to the base, counted: a key deleted and set again is a change, not a delete and a create. */
  changes(): { created: number; changed: number; deleted: number } {
    let recreated = 0;
    for (const k of this.added.keys()) if (this.deleted.has(k)) recreated++;
    return { created: this.added.size - recreated, changed: this.replaced.size + recreated, deleted: this.deleted.size - recreated };
  }

  *entries(): MapIterator<[string, V]> {
    for (const [k, v] of this.base) {
      if (this.deleted.has(k)) continue;
      yield [k, this.replaced.get(k) ?? v];
    }
    yield* this.added;
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  forEach(fn: (value: V, key: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'OverlayMap';
  }
}
