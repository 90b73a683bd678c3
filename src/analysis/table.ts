/**
 * `EntityTable`: one collection of the model, stored by columns, read like a
 * `Map<key, entity>`.
 *
 * A synced incident holds 763,471 metastore shards. As plain objects in a
 * `Map`, each costs its object (~150 bytes: 12 fields), its key string (~80
 * characters, ~100 bytes), the Map's entry (~40 bytes) and its own copies of
 * strings that repeat in every shard (index UID, source, leader, state, doc
 * mapping). Here an entity is a row: one slot per field in a column array;
 * a string that repeats is stored once for the whole model (`StringInterner`);
 * a key that its fields spell out (`COLLECTION_KEYS`, e.g. a shard's
 * `index/source/shard`) is not stored at all; and the key → row index is an
 * open-addressing hash table in an `Int32Array`. What is left per shard is
 * its slots and its one unique string (the shard id). `bench/RESULTS.md`
 * has the figures.
 *
 * Reads give plain entity objects, made anew on each read, with the same
 * fields in the same order as the entity that was stored (deep-equal to it,
 * not the same object). Readers (checks, trees, rendering) never mutate an
 * entity, and nothing may rely on getting the same object twice. Iteration
 * is in insertion order, as a `Map`'s: replacing an entity keeps its place.
 */
import { COLLECTION_KEYS, type CollectionName } from '../protocol';

/** What the model's readers and writers use of a `Map<string, E>`: a `Map` also satisfies it (tests build models by hand). */
export interface EntityMap<E> {
  readonly size: number;
  get(key: string): E | undefined;
  has(key: string): boolean;
  /** Stores `entity` under `key`, which must be `entity.key`. */
  set(key: string, entity: E): this;
  delete(key: string): boolean;
  clear(): void;
  keys(): IterableIterator<string>;
  values(): IterableIterator<E>;
  entries(): IterableIterator<[string, E]>;
  forEach(fn: (value: E, key: string, map: EntityMap<E>) => void): void;
  [Symbol.iterator](): IterableIterator<[string, E]>;
}

/**
 * One copy of each repeated string for a whole model. Strings from the wire
 * (`JSON.parse`) are flat copies already, so the interner only shares them;
 * it never holds a view into a message.
 */
export class StringInterner {
  private readonly strings = new Map<string, string>();

  /** The model's copy of `s`: the first one it was given. */
  intern(s: string): string {
    const t = this.strings.get(s);
    if (t !== undefined) return t;
    this.strings.set(s, s);
    return s;
  }

  get size(): number {
    return this.strings.size;
  }
}

/** Values a column holds in a row that does not have its field (the row's shape says which fields it has). */
const NONE = undefined;
/** Strings looked at before a column decides whether its strings repeat. */
const WINDOW = 1024;

/** A column's strings: interned while they repeat, kept as they are while they do not. */
const enum StringMode {
  /** Looking at a window of strings to decide. */
  Probe,
  Intern,
  Keep,
}

class Column {
  readonly values: unknown[] = [];
  mode = StringMode.Probe;
  /** Strings seen in this window, and (Probe) the distinct ones among them, or (Intern) the new ones. */
  private seen = 0;
  private fresh = 0;
  private distinct: Set<string> | null = new Set();
  /** Windows left in Keep before probing again (a column's values may change character, e.g. states after ids). */
  private keepWindows = 0;

  constructor(readonly name: string) {}

  /** `s` as this column stores it. */
  string(s: string, interner: StringInterner): string {
    this.seen++;
    let out = s;
    if (this.mode === StringMode.Intern) {
      const before = interner.size;
      out = interner.intern(s);
      if (interner.size !== before) this.fresh++;
    } else if (this.mode === StringMode.Probe) this.distinct!.add(s);
    if (this.seen >= WINDOW) this.decide();
    return out;
  }

  private decide(): void {
    if (this.mode === StringMode.Probe) {
      // The page encoder's rule: a column whose values repeat at least twice on average.
      this.mode = this.distinct!.size * 2 <= this.seen ? StringMode.Intern : StringMode.Keep;
      this.distinct = null;
      this.keepWindows = 64;
    } else if (this.mode === StringMode.Intern) {
      // Mostly new strings: interning them only adds a table entry each.
      if (this.fresh * 2 > this.seen) {
        this.mode = StringMode.Keep;
        this.keepWindows = 64;
      }
    } else if (--this.keepWindows <= 0) {
      this.mode = StringMode.Probe;
      this.distinct = new Set();
    }
    this.seen = 0;
    this.fresh = 0;
  }
}

/** A row's fields, in order; `make` builds the row's entity. */
interface Shape {
  names: string[];
  /** `columns[names[i]]`'s index, per field; -1 for the key (never stored as a column). */
  cols: number[];
  /** The columns this shape does not have (see `othersOf`). */
  others: number[];
  make: (cols: unknown[][], row: number, key: string) => Record<string, unknown>;
}

type Format = { fields: readonly string[]; format: (...a: unknown[]) => string; matches: (key: string, e: Readonly<Record<string, unknown>>) => boolean };

/** Row slots in the index: 0 is empty, `TOMBSTONE` a deleted row, else row + 1. */
const TOMBSTONE = -1;
/** The deleted rows that make the table compact itself (and more deleted rows than live ones). */
const COMPACT_AFTER = 4096;

/** 32-bit FNV-1a of the key's UTF-16 code units. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * The function that builds a row's entity of this shape: an object literal
 * with the shape's fields, so every entity of a shape shares V8's hidden
 * class and is built in one allocation. (`new Function` runs in the language
 * server and the CLI, never in a webview with a strict CSP; zod's own
 * validators are made the same way.)
 */
function maker(names: string[], cols: number[], keyAt: number): Shape['make'] {
  if (names.includes('__proto__')) {
    // An object literal would set the prototype: build it field by field (as JSON.parse does).
    return (columns, row, key) => {
      const e: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) {
        Object.defineProperty(e, names[i]!, { value: i === keyAt ? key : columns[cols[i]!]![row], enumerable: true, writable: true, configurable: true });
      }
      return e;
    };
  }
  const fields = names.map((n, i) => `${JSON.stringify(n)}: ${i === keyAt ? 'key' : `c${i}[row]`}`);
  const locals = names.map((_, i) => (i === keyAt ? '' : `const c${i} = cols[${cols[i]}];`)).join('');
  return new Function('cols', 'row', 'key', `${locals} return { ${fields.join(', ')} };`) as Shape['make'];
}

/** An `Int32Array` at least `n` long, keeping `a`'s values. */
function atLeast(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (n <= a.length) return a;
  const grown = new Int32Array(Math.max(n, a.length * 2));
  grown.set(a);
  return grown;
}

/** Slots for `n` rows, a power of two at most half full (the index grows when it is more than 5/8 full). */
function slotsFor(n: number): number {
  return Math.max(16, 2 ** Math.ceil(Math.log2(n * 2 || 1)));
}

/**
 * `s` as one flat string. V8 builds a concatenation of 13 or more characters
 * as a rope, a node per `+` (a shard's key, `a/b/c`, is four: 128 bytes where
 * the flat string takes 96), and hashing a rope (a Map key, a Set entry) is
 * several times slower than hashing a flat string. Reading a character of a
 * rope flattens it in place, and the GC then drops the rope's nodes. Keys are made on every read, and whoever reads them (the
 * findings' repair targets, the views' indexes) keeps them.
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

export class EntityTable<E extends { key: string }> implements EntityMap<E> {
  private readonly columns: Column[] = [];
  /** `columns[i].values`, kept beside them for `Shape.make`. */
  private readonly columnValues: unknown[][] = [];
  private readonly columnOf = new Map<string, number>();
  private readonly shapes: Shape[] = [];
  private readonly shapeOf = new Map<string, number>();
  private lastShape = -1;
  /** Per row: its shape, or -1 once deleted. */
  private rowShape = new Int32Array(16);
  /** Per row: the key's hash (see `hashKey`). */
  private rowHash = new Int32Array(16);
  /** The keys that their entity's fields do not spell out, by row (none, as a cluster sends them). */
  private oddKeys = new Map<number, string>();
  private rows = 0;
  private live = 0;
  /** The key → row index: open addressing, linear probing. */
  private slots = new Int32Array(16);
  private tombstones = 0;
  private readonly format: Format;
  /** Reused by `rowMatches`: the row's key fields, read by `format.matches`. */
  private readonly view: Record<string, unknown> = {};

  constructor(
    collection: CollectionName,
    private readonly interner: StringInterner,
  ) {
    this.format = COLLECTION_KEYS[collection] as unknown as Format;
  }

  get size(): number {
    return this.live;
  }

  get(key: string): E | undefined {
    const row = this.find(key, hashKey(key));
    return row < 0 ? undefined : this.entity(row, key);
  }

  has(key: string): boolean {
    return this.find(key, hashKey(key)) >= 0;
  }

  set(key: string, entity: E): this {
    if (entity.key !== key) throw new Error(`an entity is stored under its own key (${JSON.stringify(entity.key)}, not ${JSON.stringify(key)})`);
    const e = entity as unknown as Record<string, unknown>;
    const shapeId = this.shapeFor(e);
    const shape = this.shapes[shapeId]!;
    const hash = hashKey(key);
    const found = this.find(key, hash);
    const row = found >= 0 ? found : this.rows;
    const { names, cols } = shape;
    for (let i = 0; i < names.length; i++) {
      const c = cols[i]!;
      if (c < 0) continue; // the key
      const column = this.columns[c]!;
      const v = e[names[i]!];
      column.values[row] = typeof v === 'string' ? column.string(v, this.interner) : v;
    }
    if (found < 0 || this.rowShape[row] !== shapeId) {
      // A row leaves the fields of other shapes empty (a new row writes every column: they stay dense).
      for (const c of this.othersOf(shape)) this.columnValues[c]![row] = NONE;
    }
    if (this.format.matches(key, e)) this.oddKeys.delete(row);
    else this.oddKeys.set(row, key);
    if (found < 0) {
      this.rowShape = atLeast(this.rowShape, row + 1);
      this.rowHash = atLeast(this.rowHash, row + 1);
      this.rowHash[row] = hash;
      if ((this.live + 1 + this.tombstones) * 8 > this.slots.length * 5) this.rehash(slotsFor(this.live + 1));
      this.rows++;
      this.live++;
      this.placeSlot(hash, row);
    }
    this.rowShape[row] = shapeId;
    return this;
  }

  delete(key: string): boolean {
    const slot = this.slotOf(key, hashKey(key));
    if (slot < 0) return false;
    const row = this.slots[slot]! - 1;
    this.slots[slot] = TOMBSTONE;
    this.tombstones++;
    this.rowShape[row] = -1;
    this.oddKeys.delete(row);
    for (const values of this.columnValues) values[row] = NONE;
    this.live--;
    const dead = this.rows - this.live;
    if (dead >= COMPACT_AFTER && dead > this.live && this.iterators === 0) this.compact();
    return true;
  }

  clear(): void {
    for (const values of this.columnValues) values.length = 0;
    this.rowShape = new Int32Array(16);
    this.rowHash = new Int32Array(16);
    this.oddKeys.clear();
    this.rows = 0;
    this.live = 0;
    this.slots = new Int32Array(16);
    this.tombstones = 0;
  }

  keys(): IterableIterator<string> {
    return this.walk((row) => this.keyOf(row));
  }

  values(): IterableIterator<E> {
    return this.walk((row) => this.entity(row, this.keyOf(row)));
  }

  entries(): IterableIterator<[string, E]> {
    return this.walk((row) => {
      const key = this.keyOf(row);
      return [key, this.entity(row, key)];
    });
  }

  [Symbol.iterator](): IterableIterator<[string, E]> {
    return this.entries();
  }

  forEach(fn: (value: E, key: string, map: EntityMap<E>) => void): void {
    for (const [key, e] of this.entries()) fn(e, key, this);
  }

  // ------------------------------------------------------------ internals --

  /**
   * The live rows in order, as `read` gives them. Rows added meanwhile are visited, deleted ones
   * skipped (as a `Map`'s iterators do); the table does not compact while an iterator is open.
   */
  private *walk<T>(read: (row: number) => T): IterableIterator<T> {
    this.iterators++;
    try {
      for (let row = 0; row < this.rows; row++) if (this.rowShape[row]! >= 0) yield read(row);
    } finally {
      this.iterators--;
    }
  }

  private iterators = 0;

  private entity(row: number, key: string): E {
    return this.shapes[this.rowShape[row]!]!.make(this.columnValues, row, key) as unknown as E;
  }

  private keyOf(row: number): string {
    const odd = this.oddKeys.get(row);
    if (odd !== undefined) return odd;
    const cols = this.keyColumns();
    const args: unknown[] = new Array(cols.length);
    for (let i = 0; i < cols.length; i++) args[i] = this.columnValues[cols[i]!]![row];
    return flat(this.format.format(...args));
  }

  /** The shape of `e`'s own fields, made on first sight. Most entities have the same shape as the last one. */
  private shapeFor(e: Record<string, unknown>): number {
    const last = this.shapes[this.lastShape];
    if (last) {
      const names = last.names;
      let i = 0;
      let same = true;
      for (const name in e) {
        if (names[i++] !== name) {
          same = false;
          break;
        }
      }
      if (same && i === names.length) return this.lastShape;
    }
    const names = Object.keys(e);
    const signature = names.join('\u0000');
    let id = this.shapeOf.get(signature);
    if (id === undefined) {
      const cols = names.map((n) => (n === 'key' ? -1 : this.columnFor(n)));
      id = this.shapes.length;
      this.shapes.push({ names, cols, others: [], make: maker(names, cols, names.indexOf('key')) });
      this.shapeOf.set(signature, id);
    }
    this.lastShape = id;
    return id;
  }

  private columnFor(name: string): number {
    let c = this.columnOf.get(name);
    if (c !== undefined) return c;
    c = this.columns.length;
    const column = new Column(name);
    // Earlier rows do not have this field.
    for (let row = 0; row < this.rows; row++) column.values.push(NONE);
    this.columns.push(column);
    this.columnValues.push(column.values);
    this.columnOf.set(name, c);
    return c;
  }

  /** The columns a row of `shape` does not have (columns made since by other shapes included). */
  private othersOf(shape: Shape): number[] {
    if (shape.others.length + shape.cols.length - (shape.names.includes('key') ? 1 : 0) !== this.columns.length) {
      shape.others = [];
      for (let c = 0; c < this.columns.length; c++) if (!shape.cols.includes(c)) shape.others.push(c);
    }
    return shape.others;
  }

  /** The live row under `key`, or -1. */
  private find(key: string, hash: number): number {
    const slot = this.slotOf(key, hash);
    return slot < 0 ? -1 : this.slots[slot]! - 1;
  }

  private slotOf(key: string, hash: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -1;
      if (s !== TOMBSTONE && this.rowHash[s - 1] === hash && this.rowMatches(s - 1, key)) return i;
    }
  }

  private rowMatches(row: number, key: string): boolean {
    const odd = this.oddKeys.get(row);
    if (odd !== undefined) return odd === key;
    const view = this.view;
    const names = this.format.fields;
    const cols = this.keyColumns();
    for (let i = 0; i < cols.length; i++) view[names[i]!] = this.columnValues[cols[i]!]![row];
    return this.format.matches(key, view);
  }

  /** The columns of the fields a key spells out (a row whose key is not odd has them all). */
  private keyColumns(): number[] {
    return (this.keyCols ??= this.format.fields.map((name) => this.columnFor(name)));
  }

  private keyCols: number[] | undefined;

  /** Puts `row` in the first free slot from its hash (the key is known not to be there). */
  private placeSlot(hash: number, row: number): void {
    const mask = this.slots.length - 1;
    let i = hash & mask;
    while (this.slots[i]! > 0) i = (i + 1) & mask;
    if (this.slots[i] === TOMBSTONE) this.tombstones--;
    this.slots[i] = row + 1;
  }

  /** A new index of `capacity` slots over the live rows. */
  private rehash(capacity: number): void {
    const slots = new Int32Array(capacity);
    const mask = capacity - 1;
    for (let row = 0; row < this.rows; row++) {
      if (this.rowShape[row]! < 0) continue;
      let i = this.rowHash[row]! & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = row + 1;
    }
    this.slots = slots;
    this.tombstones = 0;
  }

  /** Drops deleted rows, keeping the live ones in order, and rebuilds the index. */
  private compact(): void {
    const oddKeys = new Map<number, string>();
    let to = 0;
    for (let from = 0; from < this.rows; from++) {
      if (this.rowShape[from]! < 0) continue;
      if (to !== from) {
        for (const values of this.columnValues) values[to] = values[from];
        this.rowShape[to] = this.rowShape[from]!;
        this.rowHash[to] = this.rowHash[from]!;
      }
      const odd = this.oddKeys.get(from);
      if (odd !== undefined) oddKeys.set(to, odd);
      to++;
    }
    for (const values of this.columnValues) values.length = to;
    this.oddKeys = oddKeys;
    this.rows = to;
    this.rehash(slotsFor(to));
  }
}
