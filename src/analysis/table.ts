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
import { decodedValue, type DecodedColumn, type DecodedColumns } from '../protocol/column-decoders';
import type { Gathered } from '../protocol/packed-columns';

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
 * One copy of each repeated string for a whole model, numbered: a column of
 * repeated strings holds their numbers (4 bytes a row). Strings from the wire
 * (`JSON.parse`) are flat copies already, so the interner only shares them;
 * it never holds a view into a message.
 */
export class StringInterner {
  private readonly ids = new Map<string, number>();
  /** By number. */
  readonly strings: string[] = [];

  /** The number of `s`, given on first sight. */
  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, id);
    }
    return id;
  }

  get size(): number {
    return this.strings.length;
  }
}

/** Values a column holds in a row that does not have its field (the row's shape says which fields it has). */
const NONE = undefined;
/** In a column of numbers (string numbers, or integers): null, and a row without the field. */
const NULL_ID = -1;
const NONE_ID = -2;
const NULL_INT = -(2 ** 31) + 1;
const NONE_INT = -(2 ** 31);
/** Values looked at before a column decides its form. */
const WINDOW = 1024;
/** Windows a column of values stays so before it looks again (a column's values may change character). */
const KEEP_WINDOWS = 64;

/** How a column holds its values. */
const enum Form {
  /** The values themselves, in an array (and a column looking at its values to decide). */
  Values,
  /** Strings that repeat, or null: their interned numbers (`StringInterner`), in an `Int32Array`. */
  Strings,
  /** Integers that fit 32 bits, or null, in an `Int32Array`. */
  Ints,
}

/**
 * Whether a window's strings (`strings` of its `seen` values) hold few enough new ones (`fresh`) to
 * be numbered: they repeat at least twice on average (the page encoder's rule), or the new ones are
 * at most an eighth of the values, the rest null (which numbers hold for free: then 4 bytes a row
 * and an interner entry per new string cost less than a slot of values). A column of nulls with a
 * new string now and then (a shard's `publishToken`) is thus numbers and stays so, not copied whole
 * to values and back every `KEEP_WINDOWS` windows.
 */
const fewNew = (fresh: number, strings: number, seen: number): boolean => fresh * 2 <= strings || fresh * 8 <= seen;

const isInt32 = (v: unknown): v is number => typeof v === 'number' && (v | 0) === v && v > NULL_INT && !Object.is(v, -0);

/**
 * One field's values, a slot per row: as they are, in an array; or, while
 * its values are strings that repeat or small integers (or null), as 32-bit
 * numbers. It changes form as its values do (rarely: a column's values keep
 * their character).
 */
class Column {
  /** The values, or null while the column holds numbers (`numbers`). */
  values: unknown[] | null = [];
  numbers: Int32Array<ArrayBuffer> | null = null;
  form = Form.Values;
  /** Rows the column has a slot for (the table's rows). */
  private rows = 0;
  /** Rows the table expects (`EntityTable.reserve`): numbers grow straight to it once 1/RESERVE_AT of the way there. */
  reserved = 0;
  /** In this window: values seen, strings among them and (Values) the distinct ones, or (Strings) the new ones. */
  private seen = 0;
  private strings = 0;
  private fresh = 0;
  private distinct: Set<string> | null = new Set();
  /** (Values) whether every value seen in this window was a string or null, an integer or null. */
  private allStrings = true;
  private allInts = true;
  /** (Values) windows left before looking at the values again; 0 while looking. */
  private keep = 0;
  /** (Strings) the last string stored, and its number. */
  private lastString: string | undefined;
  private lastId = 0;

  constructor(
    readonly name: string,
    private readonly interner: StringInterner,
    /** Called when `storage` is another object (the table's entity builders read it directly). */
    private readonly reshaped: () => void,
  ) {}

  /** What the entity builders read: the values, or the numbers. */
  get storage(): unknown[] | Int32Array {
    return this.numbers ?? this.values!;
  }

  get(row: number): unknown {
    if (this.form === Form.Values) return this.values![row];
    const n = this.numbers![row]!;
    if (this.form === Form.Strings) return n >= 0 ? this.interner.strings[n] : n === NULL_ID ? null : NONE;
    return n > NULL_INT ? n : n === NULL_INT ? null : NONE;
  }

  set(row: number, v: unknown): void {
    if (row >= this.rows) this.rows = row + 1;
    if (v === NONE) {
      if (this.form === Form.Values) this.values![row] = v;
      else this.put(row, this.form === Form.Strings ? NONE_ID : NONE_INT);
      return;
    }
    this.seen++;
    switch (this.form) {
      case Form.Strings:
        if (typeof v === 'string') {
          this.strings++;
          // The last string again (values repeat row after row, often the same string): its number, not a Map lookup.
          if (v === this.lastString) {
            this.put(row, this.lastId);
            break;
          }
          const before = this.interner.size;
          const id = this.interner.id(v);
          this.put(row, id);
          if (this.interner.size !== before) this.fresh++;
          this.lastString = v;
          this.lastId = id;
        } else if (v === null) this.put(row, NULL_ID);
        else {
          this.toValues();
          this.values![row] = v;
        }
        break;
      case Form.Ints:
        if (isInt32(v)) this.put(row, v);
        else if (v === null) this.put(row, NULL_INT);
        else {
          this.toValues();
          this.values![row] = v;
        }
        break;
      default:
        if (this.keep === 0) {
          if (typeof v === 'string') {
            this.strings++;
            this.distinct!.add(v);
            this.allInts = false;
          } else if (v !== null) {
            this.allStrings = false;
            if (!isInt32(v)) this.allInts = false;
          }
        }
        if (row >= this.values!.length && this.reserved > row) this.reserveValues(row);
        this.values![row] = v;
    }
    if (this.seen >= WINDOW) this.decide();
  }

  /**
   * (Values) Once a quarter of the reservation is filled, the values array takes its whole length
   * at once (a holey array, which V8 keeps fast), not a copy at each step of its own growth. Later
   * than the typed arrays (`RESERVE_AT`): the copies a values array leaves are garbage of the V8
   * heap, freed whole by the next full GC, while a column that turns to numbers after taking the
   * reservation (a column of tokens that start unique and then repeat) would leave all of it.
   */
  private reserveValues(row: number): void {
    const values = this.values!;
    if (row * 4 < this.reserved || this.reserved <= values.length) return;
    const grown = new Array<unknown>(this.reserved);
    for (let r = 0; r < values.length; r++) grown[r] = values[r];
    this.values = grown;
    this.reshaped();
  }

  /** Row `to` takes row `from`'s value (compaction). */
  move(to: number, from: number): void {
    if (this.numbers) this.numbers[to] = this.numbers[from]!;
    else this.values![to] = this.values![from];
  }

  /** Keeps the first `rows` rows. */
  truncate(rows: number): void {
    this.rows = rows;
    if (this.values) this.values.length = rows;
    else if (rows === 0) {
      this.numbers = new Int32Array(16);
      this.reshaped();
    }
  }

  /**
   * `set(rows[i], value i of `from`)` for each `i < n`, in order (`EntityTable.setColumns`): the
   * same values stored and the same windows looked at, a window at a time. While the column holds
   * interned strings, a dictionary column's strings are interned once each (`ids`, shared by the
   * page's columns), not looked up row by row.
   */
  setMany(rows: Int32Array, n: number, from: DecodedColumn, strings: readonly string[], ids: Int32Array): void {
    let i = 0;
    while (i < n) {
      const end = Math.min(n, i + WINDOW - this.seen);
      if (from.from === 'strings' && this.form === Form.Strings) {
        const indices = from.indices;
        for (; i < end; i++) {
          const row = rows[i]!;
          if (row >= this.rows) this.rows = row + 1;
          const ix = indices[i]!;
          if (ix < 0) this.put(row, NULL_ID);
          else {
            this.strings++;
            let id = ids[ix]!;
            if (id < 0) {
              const before = this.interner.size;
              ids[ix] = id = this.interner.id(strings[ix]!);
              if (this.interner.size !== before) this.fresh++;
            }
            this.put(row, id);
          }
          this.seen++;
        }
      } else if (from.from === 'values' && this.form === Form.Values && this.keep > 0) {
        // Not looking at the values this window: stored as they are.
        const values = from.values;
        for (; i < end; i++) {
          const v = values[i];
          if (v === NONE) break;
          const row = rows[i]!;
          if (row >= this.rows) this.rows = row + 1;
          if (row >= this.values!.length && this.reserved > row) this.reserveValues(row);
          this.values![row] = v;
          this.seen++;
        }
        if (i < end) this.set(rows[i]!, values[i++]);
      } else if (from.from === 'values' && this.form === Form.Ints) {
        const values = from.values;
        for (; i < end; i++) {
          const v = values[i];
          if (!isInt32(v) && v !== null) break;
          const row = rows[i]!;
          if (row >= this.rows) this.rows = row + 1;
          this.put(row, v === null ? NULL_INT : v);
          this.seen++;
        }
        if (i < end) this.set(rows[i]!, values[i++]);
      } else {
        // Any other: value by value (a column that changes form mid-window does so here).
        for (; i < end; i++) {
          this.set(rows[i]!, decodedValue(from, i, strings));
          if (this.seen === 0) {
            i++;
            break;
          }
        }
        continue;
      }
      if (this.seen >= WINDOW) this.decide();
    }
  }

  private put(row: number, n: number): void {
    let numbers = this.numbers!;
    if (row >= numbers.length) {
      // Grows by half (the slack stays small at a million rows), or to the reservation.
      const grown = new Int32Array(grownTo(row + 1, Math.max(16, Math.ceil(row * 1.5)), this.reserved));
      grown.set(numbers);
      this.numbers = numbers = grown;
      this.reshaped();
    }
    numbers[row] = n;
  }

  private decide(): void {
    if (this.form === Form.Values) {
      if (this.keep > 0) this.keep--;
      // Strings (few new ones: `fewNew`), else integers.
      else if (this.allStrings && fewNew(this.distinct!.size, this.strings, this.seen)) this.toNumbers(Form.Strings);
      else if (this.allInts) this.toNumbers(Form.Ints);
      else this.keep = KEEP_WINDOWS;
      // Mostly new strings: numbering them would only add an interner entry each.
    } else if (this.form === Form.Strings && !fewNew(this.fresh, this.strings, this.seen)) this.toValues();
    this.seen = this.strings = this.fresh = 0;
    this.distinct = this.form === Form.Values && this.keep === 0 ? new Set() : null;
    this.allStrings = this.allInts = true;
  }

  /** To numbers of `form`, if every value fits it. */
  private toNumbers(form: Form.Strings | Form.Ints): void {
    const values = this.values!;
    const numbers = new Int32Array(grownTo(this.rows, Math.max(16, Math.ceil(this.rows * 1.5)), this.reserved));
    for (let row = 0; row < this.rows; row++) {
      const v = values[row];
      if (v === NONE) numbers[row] = form === Form.Strings ? NONE_ID : NONE_INT;
      else if (v === null) numbers[row] = form === Form.Strings ? NULL_ID : NULL_INT;
      else if (form === Form.Strings && typeof v === 'string') numbers[row] = this.interner.id(v);
      else if (form === Form.Ints && isInt32(v)) numbers[row] = v;
      else {
        this.keep = KEEP_WINDOWS;
        return;
      }
    }
    this.numbers = numbers;
    this.values = null;
    this.form = form;
    this.reshaped();
  }

  private toValues(): void {
    const values: unknown[] = [];
    for (let row = 0; row < this.rows; row++) values.push(this.get(row));
    this.values = values;
    this.numbers = null;
    this.form = Form.Values;
    this.keep = KEEP_WINDOWS;
    this.reshaped();
  }
}

/** A row's fields, in order; `make` builds the row's entity. */
interface Shape {
  names: string[];
  /** `columns[names[i]]`'s index, per field; -1 for the key (never stored as a column). */
  cols: number[];
  /** The columns this shape does not have (see `othersOf`). */
  others: number[];
  make: Make;
  /** The table's `layout` `make` was made for. */
  layout: number;
  /** (`appendRow`) Per key field (`format.fields`), its index in `names`, or -1; made on first use. */
  keyAt?: number[];
}

type Make = (
  storage: ReadonlyArray<unknown[] | Int32Array>,
  strings: readonly string[],
  row: number,
  key: string,
) => Record<string, unknown>;

type Format = {
  fields: readonly string[];
  format: (...a: unknown[]) => string;
  matches: (key: string, e: Readonly<Record<string, unknown>>) => boolean;
  matchesParts: (key: string, parts: readonly unknown[]) => boolean;
  spells: (key: string, parts: readonly unknown[]) => boolean;
  slashJoined?: true;
};

/** A `valuesAsOfNow` reader: rows `next`…`end` are left to read; `kept` holds those changed since it began. */
interface FrozenView<E> {
  end: number;
  next: number;
  kept: Map<number, E>;
  /** The table was cleared: only `kept` rows are left. */
  cleared: boolean;
}

/** Row slots in the index: 0 is empty, `TOMBSTONE` a deleted row, else row + 1. */
const TOMBSTONE = -1;
/** The deleted rows that make the table compact itself (and more deleted rows than live ones). */
const COMPACT_AFTER = 4096;
/** The most rows `reserve` takes (a file's `counts` is not trusted with the memory). */
const MAX_RESERVED = 1 << 23;

/** The start of `hashKey`'s hash, and the factor of each step (a reader that scans a key's text anyway hashes it as it goes). */
export const KEY_HASH_START = 0x811c9dc5;
export const KEY_HASH_FACTOR = 0x01000193;

/** 32-bit FNV-1a of the key's UTF-16 code units. */
export function hashKey(key: string): number {
  let h = KEY_HASH_START;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), KEY_HASH_FACTOR);
  return h | 0;
}

/** `hashKey` of `parts` joined by `/` (which `key` is), read from the parts; `hashKey(key)` if one is not a string. */
function hashJoined(parts: readonly unknown[], key: string): number {
  let h = KEY_HASH_START;
  for (let p = 0; p < parts.length; p++) {
    const s = parts[p];
    if (typeof s !== 'string') return hashKey(key);
    if (p > 0) h = Math.imul(h ^ 47, KEY_HASH_FACTOR);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), KEY_HASH_FACTOR);
  }
  return h | 0;
}

/** Whether `parts` are strings without `/` (so that joined by `/` they parse back into themselves). */
function slashFreeStrings(parts: readonly unknown[]): boolean {
  for (let p = 0; p < parts.length; p++) {
    const s = parts[p];
    if (typeof s !== 'string' || s.indexOf('/') >= 0) return false;
  }
  return true;
}

/**
 * The function that builds a row's entity of this shape: an object literal
 * with the shape's fields, so every entity of a shape shares V8's hidden
 * class and is built in one allocation. `forms[c]` says how column `c` holds
 * its values. (`new Function` runs in the language server and the
 * CLI, never in a webview with a strict CSP; zod's own validators are made
 * the same way.)
 */
function maker(names: string[], cols: number[], keyAt: number, forms: readonly Form[]): Make {
  if (names.includes('__proto__')) {
    // An object literal would set the prototype: build it field by field (as JSON.parse does).
    return (storage, strings, row, key) => {
      const e: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) {
        let v: unknown = key;
        if (i !== keyAt) {
          const c = cols[i]!;
          v = storage[c]![row];
          if (forms[c] === Form.Strings) v = (v as number) >= 0 ? strings[v as number] : v === NULL_ID ? null : NONE;
          else if (forms[c] === Form.Ints) v = (v as number) > NULL_INT ? v : v === NULL_INT ? null : NONE;
        }
        Object.defineProperty(e, names[i]!, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return e;
    };
  }
  const locals: string[] = [];
  const fields = names.map((n, i) => {
    if (i === keyAt) return `${JSON.stringify(n)}: key`;
    const c = cols[i]!;
    locals.push(`const c${i} = storage[${c}];`);
    const read =
      forms[c] === Form.Strings
        ? `((x = c${i}[row]) >= 0 ? strings[x] : x === ${NULL_ID} ? null : undefined)`
        : forms[c] === Form.Ints
          ? `((x = c${i}[row]) > ${NULL_INT} ? x : x === ${NULL_INT} ? null : undefined)`
          : `c${i}[row]`;
    return `${JSON.stringify(n)}: ${read}`;
  });
  return new Function('storage', 'strings', 'row', 'key', `${locals.join(' ')} let x = 0; return { ${fields.join(', ')} };`) as Make;
}

/**
 * A reservation (`EntityTable.reserve`) is taken once this fraction of it is filled (1/RESERVE_AT):
 * early, so that the arrays are copied while small only (each copy left behind is memory the
 * allocator keeps, fragmented, for the rest of the process: at 760k rows, growing by steps to a
 * quarter left about 20 MiB of it); not at once, so that a reservation that overstates (a file's
 * `counts` over a summarised document) costs nothing until the rows come. The typed arrays'
 * pages are touched only as rows are written.
 */
const RESERVE_AT = 32;

/**
 * The length to grow to for `n` rows: `grown`, or `reserved` (the rows expected, `EntityTable.reserve`)
 * once `n` is 1/RESERVE_AT of the way there.
 */
function grownTo(n: number, grown: number, reserved: number): number {
  return reserved > grown && n * RESERVE_AT >= reserved ? reserved : grown;
}

/** An `Int32Array` at least `n` long, keeping `a`'s values (grown to `reserved` once 1/RESERVE_AT of the way there, see `grownTo`). */
function atLeast(a: Int32Array<ArrayBuffer>, n: number, reserved = 0): Int32Array<ArrayBuffer> {
  if (n <= a.length) return a;
  const grown = new Int32Array(grownTo(n, Math.max(n, a.length * 2), reserved));
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
  /** `columns[i].storage`, kept beside them for `Shape.make`. */
  private readonly storage: (unknown[] | Int32Array)[] = [];
  /** Bumps when a column changes form (the shapes' `make` then are made again). */
  private layout = 0;
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
  /** Rows expected (`reserve`). */
  private reserved = 0;

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

  /**
   * The entities under `keys` (one row each, in their order; an absent key is a null row) as
   * columns, without building them (the journal's before-images, #21): what `get` would give,
   * each field's values together. `fields` are the field names in order of first sight; `shapes`
   * each row's field list (indexes into `fields`, in the entity's own order), `shape` each row's
   * (-1: absent); `values[f]` the values of field `f` of the rows that have it, in row order. A
   * field whose value is undefined is left out of its row, as JSON leaves it.
   */
  rowsAsColumns(keys: readonly string[]): Gathered {
    const out: Gathered = { fields: [], shapes: [], shape: new Array<number>(keys.length), values: [] };
    const fieldOf = new Map<string, number>();
    const fieldIndex = (name: string): number => {
      let f = fieldOf.get(name);
      if (f === undefined) {
        f = out.fields.push(name) - 1;
        fieldOf.set(name, f);
        out.values.push([]);
      }
      return f;
    };
    // Per table shape: its rows' shape out (when every field has a value); others by their names.
    const whole = new Map<number, number>();
    const bySignature = new Map<string, number>();
    const shapeOut = (names: readonly string[]): number => {
      const signature = names.join('\u0000');
      let s = bySignature.get(signature);
      if (s === undefined) {
        s = out.shapes.push(names.map(fieldIndex)) - 1;
        bySignature.set(signature, s);
      }
      return s;
    };
    const rowOf = new Int32Array(keys.length);
    let one = -2; // the one shape of every present row; -1: several
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      const r = (rowOf[k] = this.find(key, hashKey(key)));
      if (r < 0) continue;
      const s = this.rowShape[r]!;
      one = one === -2 || one === s ? s : -1;
    }
    if (one >= 0) {
      const columns = this.columnsOfShape(one, keys, rowOf);
      if (columns) {
        const s = shapeOut(this.shapes[one]!.names);
        for (let k = 0; k < keys.length; k++) out.shape[k] = rowOf[k]! < 0 ? -1 : s;
        out.values = columns;
        return out;
      }
    }
    const row: unknown[] = [];
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      const r = rowOf[k]!;
      if (r < 0) {
        out.shape[k] = -1;
        continue;
      }
      const tableShape = this.rowShape[r]!;
      const { names, cols } = this.shapes[tableShape]!;
      let missing = false;
      for (let i = 0; i < names.length; i++) {
        const c = cols[i]!;
        const v = c < 0 ? key : this.columns[c]!.get(r);
        row[i] = v;
        if (v === undefined) missing = true;
      }
      let s: number;
      if (!missing) {
        s = whole.get(tableShape) ?? -1;
        if (s < 0) whole.set(tableShape, (s = shapeOut(names)));
      } else s = shapeOut(names.filter((_, i) => row[i] !== undefined));
      out.shape[k] = s;
      const values = out.values;
      const ids = out.shapes[s]!;
      for (let i = 0, j = 0; i < names.length; i++) if (row[i] !== undefined) values[ids[j++]!]!.push(row[i]);
    }
    return out;
  }

  set(key: string, entity: E): this {
    if (entity.key !== key)
      throw new Error(`an entity is stored under its own key (${JSON.stringify(entity.key)}, not ${JSON.stringify(key)})`);
    const e = entity as unknown as Record<string, unknown>;
    const shapeId = this.shapeOfEntity(e);
    const shape = this.shapes[shapeId]!;
    const hash = hashKey(key);
    const found = this.find(key, hash);
    if (found >= 0 && this.views.size) this.keepForViews(found);
    const row = found >= 0 ? found : this.rows;
    const { names, cols } = shape;
    for (let i = 0; i < names.length; i++) {
      const c = cols[i]!;
      if (c >= 0) this.columns[c]!.set(row, e[names[i]!]); // not the key (-1)
    }
    if (found < 0 || this.rowShape[row] !== shapeId) {
      // A row leaves the fields of other shapes empty (a new row writes every column: they stay dense).
      for (const c of this.othersOf(shape)) this.columns[c]!.set(row, NONE);
    }
    if (this.format.matches(key, e)) this.oddKeys.delete(row);
    else this.oddKeys.set(row, key);
    if (found < 0) this.addRow(hash, row);
    this.rowShape[row] = shapeId;
    return this;
  }

  /**
   * (`rowsAsColumns`) The values of each field of shape `shape`, in its order, of rows `rowOf` (-1:
   * none), read column by column from the storage; undefined if a row leaves one undefined.
   */
  private columnsOfShape(shape: number, keys: readonly string[], rowOf: Int32Array): unknown[][] | undefined {
    const { cols } = this.shapes[shape]!;
    const out: unknown[][] = [];
    for (const c of cols) {
      const values: unknown[] = [];
      out.push(values);
      const column = c < 0 ? undefined : this.columns[c]!;
      for (let k = 0; k < rowOf.length; k++) {
        const r = rowOf[k]!;
        if (r < 0) continue;
        const v = column ? column.get(r) : keys[k];
        if (v === undefined) return undefined;
        values.push(v);
      }
    }
    return out;
  }

  /**
   * Room for `rows` rows in all (entities expected, e.g. a snapshot file's `counts`): the row
   * arrays and the index grow straight to it once 1/RESERVE_AT of it is filled, not by steps each
   * copied. Only a hint: more rows still fit, and fewer waste nothing before that.
   */
  reserve(rows: number): void {
    if (!(rows > this.reserved)) return;
    this.reserved = Math.min(Math.floor(rows), MAX_RESERVED);
    for (const column of this.columns) column.reserved = this.reserved;
  }

  /**
   * The shape of rows with the fields `names`, in this order (an entity's own order, which reads
   * give back), for `appendRow`. `key` is one of them, as in an entity.
   */
  shapeFor(names: readonly string[]): number {
    const signature = names.join('\u0000');
    const id = this.shapeOf.get(signature);
    if (id !== undefined) return id;
    return this.newShape([...names], signature);
  }

  /**
   * Adds a row under `key`, as `set(key, entity)` would for an entity whose fields are `shape`'s
   * (`shapeFor`) with `values[i]` the value of field `i` (the slot of `key` is not read): for a
   * reader that has the values, not an entity. False, and nothing changes, if `key` is present.
   * `own` gives the string to keep when the key is kept (one its fields do not spell out): a
   * reader that passes a slice of its text copies it there, and only there. `spelledOut` says
   * that the caller took the key's fields from the key format's `parse(key)` (then they spell the
   * key out, by the format's contract), so the key is not checked against them again. `hash` is
   * `hashKey(key)`, if the caller has it.
   */
  appendRow(
    shape: number,
    key: string,
    values: readonly unknown[],
    own: (key: string) => string = (k) => k,
    spelledOut = false,
    hash = hashKey(key),
  ): boolean {
    const s = this.shapes[shape];
    if (!s) throw new Error(`no shape ${shape} in this table`);
    if (this.find(key, hash) >= 0) return false;
    const row = this.rows;
    const { names, cols } = s;
    const columns = this.columns;
    for (let i = 0; i < names.length; i++) {
      const c = cols[i]!;
      if (c >= 0) columns[c]!.set(row, values[i]);
    }
    const others = this.othersOf(s);
    for (let i = 0; i < others.length; i++) columns[others[i]!]!.set(row, NONE);
    // The key that its fields spell out is not stored; any other is.
    if (!spelledOut && !this.spellsOut(s, key, values)) this.oddKeys.set(row, own(key));
    this.addRow(hash, row);
    this.rowShape[row] = shape;
    this.lastShape = shape;
    return true;
  }

  /** Whether `values` (a row of `shape`) spell `key` out. */
  private spellsOut(shape: Shape, key: string, values: readonly unknown[]): boolean {
    const keyAt = (shape.keyAt ??= this.format.fields.map((f) => shape.names.indexOf(f)));
    const parts = this.keyParts;
    for (let i = 0; i < keyAt.length; i++) parts[i] = keyAt[i]! >= 0 ? values[keyAt[i]!] : undefined;
    return this.format.matchesParts(key, parts);
  }

  delete(key: string): boolean {
    const slot = this.slotOf(key, hashKey(key));
    if (slot < 0) return false;
    const row = this.slots[slot]! - 1;
    if (this.views.size) this.keepForViews(row);
    this.forgetFound();
    this.slots[slot] = TOMBSTONE;
    this.tombstones++;
    this.rowShape[row] = -1;
    this.oddKeys.delete(row);
    for (const column of this.columns) column.set(row, NONE);
    this.live--;
    const dead = this.rows - this.live;
    if (dead >= COMPACT_AFTER && dead > this.live && this.iterators === 0) this.compact();
    return true;
  }

  clear(): void {
    for (const view of this.views) {
      for (let row = view.next; row < view.end; row++) this.keepForViews(row);
      view.cleared = true;
    }
    for (const column of this.columns) column.truncate(0);
    this.rowShape = new Int32Array(16);
    this.rowHash = new Int32Array(16);
    this.oddKeys.clear();
    this.rows = 0;
    this.live = 0;
    this.slots = new Int32Array(16);
    this.tombstones = 0;
    this.forgetFound();
  }

  /**
   * Stores a page's entities from their decoded columns (`decodeColumns`), as
   * `set(e.key, e)` would for each entity `e` of `entitiesOf(page)`, in order: a key already
   * present is replaced in place, open `valuesAsOfNow` readers keep what they had, and reads give
   * the same entities. No object is made per entity: the page's shape is found once, its keys
   * are indexed row by row, then each column is stored as a whole (`Column.setMany`).
   */
  setColumns(page: DecodedColumns): void {
    const { n, columns, strings } = page;
    if (n === 0) return;
    const names = columns.map((c) => c.name);
    const keyAt = names.indexOf('key');
    if (keyAt < 0) throw new Error('an entity is stored under its own key (the page has no key column)');
    const shapeId = this.shapeFor(names);
    const shape = this.shapes[shapeId]!;
    const { cols } = shape;

    // The index first, row by row (a key may come twice in a page): each row's key fields are stored
    // with it, which the index reads to tell keys apart.
    const keyColumn = columns[keyAt]!;
    const fieldAt = this.format.fields.map((f) => names.indexOf(f));
    const parts = this.rowParts;
    // Keys the page left to be derived, in a format that joins string fields by `/`: each is hashed
    // and checked from its fields, and its own text is never read (nor flattened).
    const joined =
      this.format.slashJoined === true && keyColumn.from === 'values' && keyColumn.derived === true && fieldAt.every((j) => j >= 0);
    const rows = new Int32Array(n);
    /** Rows that leave the other shapes' columns empty (see `set`): every column, the key's made first. */
    this.keyColumns();
    const otherColumns = this.othersOf(shape);
    const others: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = decodedValue(keyColumn, i, strings) as string;
      for (let f = 0; f < fieldAt.length; f++) {
        const j = fieldAt[f]!;
        parts[f] = j >= 0 ? decodedValue(columns[j]!, i, strings) : undefined;
      }
      const hash = joined ? hashJoined(parts, key) : hashKey(key);
      const found = this.find(key, hash);
      if (found >= 0 && this.views.size) this.keepForViews(found);
      const row = found >= 0 ? found : this.rows;
      for (let f = 0; f < fieldAt.length; f++) {
        const j = fieldAt[f]!;
        if (j >= 0 && cols[j]! >= 0) this.columns[cols[j]!]!.set(row, parts[f]);
      }
      if (otherColumns.length && (found < 0 || this.rowShape[row] !== shapeId)) others.push(row);
      if (joined ? slashFreeStrings(parts) : this.format.matchesParts(key, parts)) this.oddKeys.delete(row);
      else this.oddKeys.set(row, key);
      if (found < 0) this.addRow(hash, row);
      this.rowShape[row] = shapeId;
      rows[i] = row;
    }

    // Then the other fields, a column at a time.
    const ids = new Int32Array(strings.length).fill(-1);
    for (let j = 0; j < columns.length; j++) {
      const c = cols[j]!;
      if (c >= 0 && !fieldAt.includes(j)) this.columns[c]!.setMany(rows, n, columns[j]!, strings, ids);
    }
    for (const c of otherColumns) for (const row of others) this.columns[c]!.set(row, NONE);
    this.lastShape = shapeId;
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

  /**
   * The entities as they are now, in order, read as they are pulled: the table
   * as it was when this was called, whatever changes it afterwards (a
   * snapshot being written while the sync goes on). A row replaced or deleted
   * before the reader got to it is kept, as it was, for the reader: memory
   * grows with the rows changed meanwhile, never with the table. Open until
   * it ends or its `return` is called (a `for…of` that stops early does).
   */
  valuesAsOfNow(): IterableIterator<E> {
    const view: FrozenView<E> = { end: this.rows, next: 0, kept: new Map(), cleared: false };
    this.views.add(view);
    this.iterators++;
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      this.views.delete(view);
      this.iterators--;
    };
    const it: IterableIterator<E> = {
      next: (): IteratorResult<E> => {
        while (open && view.next < view.end) {
          const row = view.next++;
          const kept = view.kept.get(row);
          if (kept !== undefined) {
            view.kept.delete(row);
            return { value: kept, done: false };
          }
          if (!view.cleared && this.rowShape[row]! >= 0) return { value: this.entity(row, this.keyOf(row)), done: false };
        }
        close();
        return { value: undefined, done: true };
      },
      return: (): IteratorResult<E> => {
        close();
        return { value: undefined, done: true };
      },
      [Symbol.iterator]: () => it,
    };
    return it;
  }

  // ------------------------------------------------------------ internals --

  /** The open `valuesAsOfNow` readers. */
  private readonly views = new Set<FrozenView<E>>();

  /** Before `row` changes: its entity, for each open reader that has yet to read it. */
  private keepForViews(row: number): void {
    if (this.rowShape[row]! < 0) return;
    let entity: E | undefined;
    for (const view of this.views) {
      if (row < view.next || row >= view.end || view.cleared || view.kept.has(row)) continue;
      view.kept.set(row, (entity ??= this.entity(row, this.keyOf(row))));
    }
  }

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

  /** Row `row` (the next) is live under a key of hash `hash`, in the index. */
  private addRow(hash: number, row: number): void {
    this.rowShape = atLeast(this.rowShape, row + 1, this.reserved);
    this.rowHash = atLeast(this.rowHash, row + 1, this.reserved);
    this.rowHash[row] = hash;
    if ((this.live + 1 + this.tombstones) * 8 > this.slots.length * 5) {
      const live = this.live + 1;
      this.rehash(slotsFor(live * RESERVE_AT >= this.reserved ? Math.max(live, this.reserved) : live));
    }
    this.rows++;
    this.live++;
    this.placeSlot(hash, row);
  }

  private entity(row: number, key: string): E {
    const shape = this.shapes[this.rowShape[row]!]!;
    if (shape.layout !== this.layout) {
      shape.make = maker(
        shape.names,
        shape.cols,
        shape.names.indexOf('key'),
        this.columns.map((c) => c.form),
      );
      shape.layout = this.layout;
    }
    return shape.make(this.storage, this.interner.strings, row, key) as unknown as E;
  }

  /**
   * The key its fields spell out. Most keys end with their last field, a string (a shard's id, a
   * WAL's channel, an identity key's only field): such a key is made as the rest (the same for
   * every row of a group, made once per run of such rows) joined to that field's stored string, so
   * a key costs whoever keeps it one rope node (32 bytes), not its characters again; an identity
   * key is the stored string itself. Other keys are made whole, and flat.
   */
  private keyOf(row: number): string {
    const odd = this.oddKeys.get(row);
    if (odd !== undefined) return odd;
    const cols = this.keyColumns();
    const n = cols.length;
    const last = this.columns[cols[n - 1]!]!.get(row);
    const parts = this.prefixParts;
    if (typeof last === 'string' && parts) {
      let same = true;
      for (let i = 0; i < n - 1 && same; i++) same = this.columns[cols[i]!]!.get(row) === parts[i];
      if (same) return this.prefix + last;
    }
    const args: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) args[i] = this.columns[cols[i]!]!.get(row);
    const key = this.format.format(...args);
    if (typeof last === 'string' && key.endsWith(last)) {
      // A copy: a slice of 13 characters or more would keep the whole key alive.
      this.prefix = flat(key.slice(0, key.length - last.length).concat('\u0000')).slice(0, -1);
      this.prefixParts = args.slice(0, n - 1);
      return this.prefix + last;
    }
    return flat(key);
  }

  /** The start of the last key made by `keyOf` before its last field, and the fields it was made from. */
  private prefix = '';
  private prefixParts: unknown[] | undefined;

  /** The shape of `e`'s own fields, made on first sight. Most entities have the same shape as the last one. */
  private shapeOfEntity(e: Record<string, unknown>): number {
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
    const id = this.shapeOf.get(signature) ?? this.newShape(names, signature);
    this.lastShape = id;
    return id;
  }

  private newShape(names: string[], signature: string): number {
    const cols = names.map((n) => (n === 'key' ? -1 : this.columnFor(n)));
    const id = this.shapes.length;
    // `make` is made on first read (`entity`).
    this.shapes.push({ names, cols, others: [], make: () => ({}), layout: -1 });
    this.shapeOf.set(signature, id);
    return id;
  }

  private columnFor(name: string): number {
    const c = this.columnOf.get(name);
    if (c !== undefined) return c;
    const index = this.columns.length;
    const column = new Column(name, this.interner, () => {
      this.storage[index] = column.storage;
      this.layout++;
    });
    column.reserved = this.reserved;
    // Earlier rows do not have this field.
    for (let row = 0; row < this.rows; row++) column.set(row, NONE);
    this.columns.push(column);
    this.storage.push(column.storage);
    this.columnOf.set(name, index);
    this.layout++;
    return index;
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
    // The key just found, again (an event's entity is read, then deleted; a target's before-image, then its entity).
    if (key === this.lastFound) return this.lastSlot;
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -1;
      if (s !== TOMBSTONE && this.rowHash[s - 1] === hash && this.rowMatches(s - 1, key)) {
        this.lastFound = key;
        this.lastSlot = i;
        return i;
      }
    }
  }

  /** The last key `slotOf` found, and its slot; forgotten whenever a slot may change (`forgetFound`). */
  private lastFound: string | undefined;
  private lastSlot = -1;

  private forgetFound(): void {
    this.lastFound = undefined;
  }

  /**
   * Whether `row` is under `key`. A row's key is odd (kept whole) unless its fields spelled it when
   * stored (`matches`): then `key` is its key if the fields spell exactly `key`.
   */
  private rowMatches(row: number, key: string): boolean {
    if (this.oddKeys.size) {
      const odd = this.oddKeys.get(row);
      if (odd !== undefined) return odd === key;
    }
    const parts = this.keyParts;
    const cols = this.keyColumns();
    for (let i = 0; i < cols.length; i++) parts[i] = this.columns[cols[i]!]!.get(row);
    return this.format.spells(key, parts);
  }

  /** Reused by `rowMatches` and `spellsOut`: a row's key fields, in the format's order. */
  private readonly keyParts: unknown[] = [];
  /** Reused by `setColumns`: the key fields of the row it stores (`rowMatches` may run meanwhile). */
  private readonly rowParts: unknown[] = [];

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
    this.forgetFound();
  }

  /** Drops deleted rows, keeping the live ones in order, and rebuilds the index. */
  private compact(): void {
    const oddKeys = new Map<number, string>();
    let to = 0;
    for (let from = 0; from < this.rows; from++) {
      if (this.rowShape[from]! < 0) continue;
      if (to !== from) {
        for (const column of this.columns) column.move(to, from);
        this.rowShape[to] = this.rowShape[from]!;
        this.rowHash[to] = this.rowHash[from]!;
      }
      const odd = this.oddKeys.get(from);
      if (odd !== undefined) oddKeys.set(to, odd);
      to++;
    }
    for (const column of this.columns) column.truncate(to);
    this.oddKeys = oddKeys;
    this.rows = to;
    this.rehash(slotsFor(to));
  }
}
