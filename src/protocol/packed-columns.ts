/**
 * Lists of objects as columns (#21), for the journal's packed batches (before-images.ts): a batch's
 * targets and their before-images are rows that share most of their values (one index, one source,
 * a few leaders), so each field's values are kept together, and a column whose values are all one,
 * or a few repeated, or each another column's value behind one prefix (a shard's key is its index,
 * its source and its id), is written once, not per row. At the incident's scale the text to gzip is
 * about a tenth of the rows' JSON: less to encode and to compress on the language server's thread.
 *
 * Exact: a field that is absent and one that is null stay apart, and so do a null object and an
 * empty one; fields keep their order. Pure (no I/O).
 */

/** Rows, in groups of `n` rows each (a batch's targets, and their before-images): one object (or null) per row and group. */
export interface Columns {
  n: number;
  groups: Group[];
}

interface Group {
  /** Every field name of the group; shapes and columns refer to them by index. */
  fields: string[];
  /** The field lists of the objects, in each object's own order. */
  shapes: number[][];
  /** Per row, its shape (-1: null), or the one shape of every row. */
  shape: number | number[];
  /** Per field, the values of the rows that have it, in row order. */
  cols: Col[];
}

/**
 * A column: every value the same (`c`); indexes into distinct values (`d`, `i`); strings after one
 * prefix (`p`, `s`); the prefix and, row by row, the value of another column of every row (`p`, `r`:
 * its group and field), itself not such a reference; or the values as they are (`v`).
 */
type Col =
  { c: unknown } | { d: unknown[]; i: number[] } | { p: string; s: string[] } | { p: string; r: [number, number] } | { v: unknown[] };

/** A column keeps a dictionary while it has at most one distinct value per this many rows. */
const DICTIONARY_RATIO = 8;
/** Values looked at before a dictionary is tried. */
const DICTIONARY_SAMPLE = 256;
/** A prefix shorter than this is not worth its own form. */
const MIN_PREFIX = 4;

/**
 * One list of objects, gathered: every field name, the objects' field lists (indexes into `fields`,
 * in each object's own order), each object's (`shape`, -1: null), and per field the values of the
 * objects that have it, in order. What `toColumns` makes of a list of objects, or a reader that holds
 * the values as columns gives (`EntityTable.rowsAsColumns`), not the objects.
 */
export interface Gathered {
  fields: string[];
  shapes: number[][];
  shape: number[];
  values: unknown[][];
}

/** The groups' objects (each list `n` long) as columns. */
export function toColumns(groups: ReadonlyArray<ReadonlyArray<Readonly<Record<string, unknown>> | null>>): Columns {
  const n = groups[0]?.length ?? 0;
  if (groups.some((g) => g.length !== n)) throw new Error('every group of a packed batch has one object per row');
  return gatheredToColumns(groups.map(gather));
}

/** `toColumns` of groups already gathered (each of `n` rows): the same columns as of their objects. */
export function gatheredToColumns(gathered: readonly Gathered[]): Columns {
  const n = gathered[0]?.shape.length ?? 0;
  if (gathered.some((g) => g.shape.length !== n)) throw new Error('every group of a packed batch has one object per row');
  // A reference is to a column that is not one itself (one pass decodes them all).
  const referred = new Set<string>();
  const refs = new Set<string>();
  const found: Array<{ values: readonly unknown[]; ref: { p: string; r: [number, number] } }> = [];
  const out: Group[] = gathered.map((g, gi) => ({
    fields: g.fields,
    shapes: g.shapes,
    shape: n > 0 && g.shape.every((s) => s === g.shape[0]) ? g.shape[0]! : g.shape,
    cols: g.values.map((values, fi) =>
      encode(values, () => {
        if (values.length !== n || referred.has(`${gi}:${fi}`)) return undefined;
        // The same values as a column that refers (a batch's target keys, and its before-images'):
        // the column it refers to, as `findRef` would find it again, without reading every row again.
        const same = found.find((f) => (f.ref.r[0] !== gi || f.ref.r[1] !== fi) && sameValues(f.values, values));
        const ref = same
          ? { p: same.ref.p, r: [same.ref.r[0], same.ref.r[1]] as [number, number] }
          : findRef(gathered, values, gi, fi, n, refs);
        if (ref) {
          found.push({ values, ref });
          refs.add(`${gi}:${fi}`);
          referred.add(`${ref.r[0]}:${ref.r[1]}`);
        }
        return ref;
      }),
    ),
  }));
  return { n, groups: out };
}

/** Whether two columns hold the very same values, row by row. */
function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The groups of objects `toColumns` was given (deep-equal to them). Throws on data that does not fit. */
export function fromColumns(data: Columns): Array<Array<Record<string, unknown> | null>> {
  const { n, groups } = data;
  if (!Number.isInteger(n) || n < 0 || !Array.isArray(groups)) throw new Error('not a packed table of columns');
  // Plain columns first: references read them.
  const decoded: unknown[][][] = groups.map((g) => {
    const counts = new Array<number>(g.fields.length).fill(0);
    const shapeCounts = new Map<number, number>();
    for (let row = 0; row < n; row++) {
      const s = typeof g.shape === 'number' ? g.shape : g.shape[row]!;
      shapeCounts.set(s, (shapeCounts.get(s) ?? 0) + 1);
    }
    for (const [s, count] of shapeCounts) for (const f of g.shapes[s] ?? []) counts[f] += count;
    return g.cols.map((c, f) => ('r' in c ? [] : decode(c, counts[f]!)));
  });
  groups.forEach((g, gi) =>
    g.cols.forEach((c, fi) => {
      if (!('r' in c)) return;
      const [rg, rf] = c.r;
      const source = decoded[rg]?.[rf];
      if (!source || source.length !== n || 'r' in (groups[rg]!.cols[rf] ?? {}))
        throw new Error(`column ${fi} refers to a column it cannot`);
      decoded[gi]![fi] = source.map((v) => c.p + String(v));
    }),
  );
  return groups.map((g, gi) => {
    const cursor = new Array<number>(g.fields.length).fill(0);
    const cols = decoded[gi]!;
    const rows: Array<Record<string, unknown> | null> = new Array(n);
    for (let row = 0; row < n; row++) {
      const s = typeof g.shape === 'number' ? g.shape : g.shape[row]!;
      if (s === -1) {
        rows[row] = null;
        continue;
      }
      const shape = g.shapes[s];
      if (!shape) throw new Error(`row ${row} names shape ${s}, of ${g.shapes.length}`);
      const o: Record<string, unknown> = {};
      for (const f of shape) {
        const values = cols[f];
        if (!values || cursor[f]! >= values.length) throw new Error(`column ${g.fields[f]} is shorter than its rows`);
        own(o, g.fields[f]!, values[cursor[f]!++]);
      }
      rows[row] = o;
    }
    return rows;
  });
}

/** Fields and shapes of one list of objects, and each field's values. */
export function gather(objects: ReadonlyArray<Readonly<Record<string, unknown>> | null>): Gathered {
  const fields: string[] = [];
  const fieldOf = new Map<string, number>();
  const shapes: number[][] = [];
  const shapeNames: string[][] = [];
  const shapeOf = new Map<string, number>();
  const values: unknown[][] = [];
  const shape: number[] = new Array(objects.length);
  let last = -1;
  const fieldIndex = (name: string) => {
    let f = fieldOf.get(name);
    if (f === undefined) {
      f = fields.push(name) - 1;
      fieldOf.set(name, f);
      values.push([]);
    }
    return f;
  };
  for (let row = 0; row < objects.length; row++) {
    const o = objects[row];
    if (o === null || o === undefined) {
      shape[row] = -1;
      continue;
    }
    // As JSON has it: a field whose value is undefined is not there.
    let names = Object.keys(o);
    if (names.some((k) => o[k] === undefined)) names = names.filter((k) => o[k] !== undefined);
    let s = last >= 0 && sameNames(shapeNames[last]!, names) ? last : -1;
    if (s < 0) {
      const signature = names.join('\u0000');
      s = shapeOf.get(signature) ?? -1;
      if (s < 0) {
        s = shapes.push(names.map(fieldIndex)) - 1;
        shapeNames.push(names);
        shapeOf.set(signature, s);
      }
    }
    last = s;
    shape[row] = s;
    const ids = shapes[s]!;
    for (let i = 0; i < ids.length; i++) values[ids[i]!]!.push(o[names[i]!]);
  }
  return { fields, shapes, shape, values };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const primitive = (v: unknown) => v === null || (typeof v !== 'object' && typeof v !== 'function');

/** A column's most compact form; `ref` finds the column a column of strings refers to, if any. */
function encode(values: unknown[], ref: () => Col | undefined): Col {
  if (values.length === 0) return { v: [] };
  const first = values[0];
  if (primitive(first) && values.every((v) => v === first)) return { c: first };
  const max = Math.floor(values.length / DICTIONARY_RATIO);
  if (max > 1 && fewDistinct(values)) {
    const index = new Map<unknown, number>();
    const d: unknown[] = [];
    const i: number[] = new Array(values.length);
    let k = 0;
    for (; k < values.length; k++) {
      const v = values[k];
      if (!primitive(v)) break;
      let id = index.get(v);
      if (id === undefined) {
        if (d.length === max) break;
        id = d.push(v) - 1;
        index.set(v, id);
      }
      i[k] = id;
    }
    if (k === values.length) return { d, i };
  }
  if (typeof first === 'string' && values.every((v) => typeof v === 'string')) {
    const referring = ref();
    if (referring) return referring;
    const strings = values as string[];
    let p = first;
    for (const s of strings) {
      if (s.startsWith(p)) continue;
      let j = 0;
      while (j < p.length && j < s.length && p.charCodeAt(j) === s.charCodeAt(j)) j++;
      p = p.slice(0, j);
      if (p.length < MIN_PREFIX) break;
    }
    if (p.length >= MIN_PREFIX) return { p, s: strings.map((s) => s.slice(p.length)) };
  }
  return { v: values };
}

/** Whether the column's first values repeat enough for a dictionary (a column of ids is not tried through). */
function fewDistinct(values: readonly unknown[]): boolean {
  const sample = Math.min(values.length, DICTIONARY_SAMPLE);
  const seen = new Set<unknown>();
  for (let k = 0; k < sample; k++) {
    seen.add(values[k]);
    if (seen.size * DICTIONARY_RATIO > sample) return false;
  }
  return true;
}

function decode(c: Col, count: number): unknown[] {
  if ('c' in c) return new Array<unknown>(count).fill(c.c);
  if ('d' in c) return c.i.map((i) => c.d[i]);
  if ('s' in c) return c.s.map((s) => c.p + s);
  if ('v' in c && Array.isArray(c.v)) return c.v;
  throw new Error('a column of an unknown form');
}

/**
 * The column (not `gi`'s `fi`, not a reference itself) that `values` are, each behind one prefix: of
 * those that are, the one with the longest prefix (a key refers to the id at its end, not to another
 * key that holds the id too). Every row has both (`values` is `n` long, and so is the other).
 */
function findRef(
  gathered: readonly Gathered[],
  values: readonly unknown[],
  gi: number,
  fi: number,
  n: number,
  refs: ReadonlySet<string>,
): { p: string; r: [number, number] } | undefined {
  const first = values[0] as string;
  // Those whose first row fits, the longest prefix first; the first that fits every row.
  const candidates: Array<{ p: string; r: [number, number]; other: unknown[] }> = [];
  gathered.forEach(({ values: columns }, g) =>
    columns.forEach((other, f) => {
      const head = other[0];
      if ((g === gi && f === fi) || other.length !== n || typeof head !== 'string' || refs.has(`${g}:${f}`)) return;
      if (first.endsWith(head)) candidates.push({ p: first.slice(0, first.length - head.length), r: [g, f], other });
    }),
  );
  candidates.sort((a, b) => b.p.length - a.p.length);
  for (const { p, r, other } of candidates) {
    let k = 1;
    for (; k < n; k++) {
      const v = values[k];
      const o = other[k];
      if (typeof v !== 'string' || typeof o !== 'string' || v.length !== p.length + o.length || !v.endsWith(o) || !v.startsWith(p)) break;
    }
    if (k === n) return { p, r };
  }
  return undefined;
}

/** `o[name] = value` as `JSON.parse` does it: an own field even when it is named `__proto__`. */
function own(o: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(o, name, { value, enumerable: true, writable: true, configurable: true });
  else o[name] = value;
}
