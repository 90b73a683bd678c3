/**
 * Page encodings of `cluster.list`: how a page's entities travel.
 *
 * - No encoding (protocol v1, what a client that offers none gets): `items`,
 *   one JSON object per entity, field names repeated in every one (about 400
 *   bytes per Quickwit shard).
 * - `columns-v1`: `page`, one column per field. Field names are written once
 *   per page; a string column whose values repeat (index UIDs, leader ids,
 *   states) holds indices into the page's string dictionary; a key that its
 *   entity's own fields spell out (`COLLECTION_KEYS`, e.g. a shard's
 *   `index/source/shard`) is not sent at all and is rebuilt from them.
 *
 * Negotiated in `initialize`: the client offers `encodings`, the server
 * answers with the one it picked (`InitializeResult.encoding`) or none.
 * A page of either form may come on a `columns-v1` connection (the server
 * falls back to objects for a page whose entities do not share one shape).
 *
 * `checkColumnsPage` checks a page's own structure and reports what is wrong
 * in words, never throws. The client then validates and decodes the entities
 * column by column, with decoders derived from the collection's zod schema
 * (`decodeColumnsEntities`, column-decoders.ts); `decodeColumnsPage` gives
 * the plain objects v1 would have sent, for the schema to validate (what the
 * derived decoders are tested against).
 */
import { z } from 'zod';
import { COLLECTION_KEYS, type CollectionName } from './collections';

export const PAGE_ENCODINGS = ['columns-v1'] as const;
export const PageEncoding = z.enum(PAGE_ENCODINGS);
export type PageEncoding = z.infer<typeof PageEncoding>;

/** Most distinct strings one page's dictionary may hold, and most fields per entity. */
export const MAX_PAGE_STRINGS = 1_000_000;
export const MAX_PAGE_FIELDS = 256;

/**
 * One field's values, one per entity of the page, in page order:
 * - `{ d }`: indices into the page's `strings` (`-1` is null);
 * - `{ v }`: the JSON values themselves (numbers, booleans, null, unique strings, lists, objects);
 * - `{ k: 1 }`: only for `key`: rebuilt from the entity's fields with the collection's key format.
 *
 * The elements are checked by `decodeColumnsPage` (one pass, no per-element schema).
 */
export type PageColumn = { d: unknown[] } | { v: unknown[] } | { k: 1 };

/** The column, or undefined when it is none of the three forms. */
function asColumn(c: unknown): PageColumn | undefined {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return undefined;
  const names = Object.keys(c);
  if (names.length !== 1) return undefined;
  const v = (c as Record<string, unknown>)[names[0]!];
  if (names[0] === 'k') return v === 1 ? { k: 1 } : undefined;
  if (names[0] === 'd' || names[0] === 'v') return Array.isArray(v) ? (c as PageColumn) : undefined;
  return undefined;
}

export const ColumnsPage = z.strictObject({
  /** Entities in the page. */
  n: z.number().int().nonnegative(),
  /** Field names, once per page; `columns[i]` holds `fields[i]`. */
  fields: z.array(z.string().max(1024)).max(MAX_PAGE_FIELDS),
  /** One `PageColumn` per field (checked by `decodeColumnsPage`). */
  columns: z.array(z.unknown()).max(MAX_PAGE_FIELDS),
  /** The page's string dictionary (`{ d }` columns index it). */
  strings: z.array(z.string()).max(MAX_PAGE_STRINGS),
});
export type ColumnsPage = Omit<z.infer<typeof ColumnsPage>, 'columns'> & { columns: PageColumn[] };

// ---------------------------------------------------------------- encode --

type Row = Readonly<Record<string, unknown>>;

/** A key column that can be left out: every key is exactly its format of the entity's own fields. */
function keysDerivable(collection: CollectionName, items: readonly Row[]): boolean {
  const format = keyFormatOf(collection);
  const names = format.fields;
  const args: unknown[] = new Array(names.length);
  for (const e of items) {
    for (let j = 0; j < names.length; j++) {
      const v = e[names[j]!];
      // A key format takes strings and integers; anything else is sent as is.
      if (typeof v !== 'string' && !Number.isSafeInteger(v)) return false;
      args[j] = v;
    }
    if (e.key !== format.format(...args)) return false;
  }
  return true;
}

/**
 * The page's entities as columns, or undefined when they do not all have
 * the same fields (the caller then sends objects). Never changes `items`.
 */
export function encodeColumnsPage(collection: CollectionName, items: readonly object[]): ColumnsPage | undefined {
  const rows = items as readonly Row[];
  const n = rows.length;
  if (n === 0) return { n: 0, fields: [], columns: [], strings: [] };
  const fields = Object.keys(rows[0]!);
  if (fields.length > MAX_PAGE_FIELDS) return undefined;
  for (const e of rows) {
    // Same own fields as the first, none undefined (JSON would drop it): one shape for the page.
    const own = Object.keys(e);
    if (own.length !== fields.length) return undefined;
    for (const f of fields) if (!Object.prototype.hasOwnProperty.call(e, f) || e[f] === undefined) return undefined;
  }
  const strings: string[] = [];
  const dictionary = new Map<string, number>();
  const columns: PageColumn[] = [];
  const derivedKey = fields.includes('key') && keysDerivable(collection, rows);
  for (const f of fields) {
    if (f === 'key' && derivedKey) {
      columns.push({ k: 1 });
      continue;
    }
    // A string column (nulls allowed) whose values repeat goes through the dictionary.
    let allStrings = true;
    const distinct = new Set<string>();
    for (const e of rows) {
      const v = e[f];
      if (v === null) continue;
      if (typeof v !== 'string') {
        allStrings = false;
        break;
      }
      distinct.add(v);
    }
    const values: unknown[] = new Array(n);
    if (allStrings && distinct.size * 2 <= n) {
      for (let i = 0; i < n; i++) {
        const v = rows[i]![f] as string | null;
        if (v === null) {
          values[i] = -1;
          continue;
        }
        let ix = dictionary.get(v);
        if (ix === undefined) {
          ix = strings.length;
          strings.push(v);
          dictionary.set(v, ix);
        }
        values[i] = ix;
      }
      columns.push({ d: values });
    } else {
      for (let i = 0; i < n; i++) values[i] = rows[i]![f];
      columns.push({ v: values });
    }
  }
  return { n, fields, columns, strings };
}

// ---------------------------------------------------------------- decode --

export type DecodedPage = { ok: true; items: Record<string, unknown>[] } | { ok: false; error: string };

/** A page whose structure is sound: `columns[j]` holds `fields[j]`, with `n` values each (but the key's `{ k: 1 }`). */
export interface CheckedPage {
  ok: true;
  n: number;
  fields: string[];
  columns: PageColumn[];
  strings: string[];
  /** The index of the derived key's column (`{ k: 1 }`), or -1. */
  keyColumn: number;
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}

/**
 * The page's structure checked, not its entities: its members, each column's form and length,
 * every dictionary index in range, a derived column only for the key and only with the key's
 * fields in the page. What is wrong is said in words; never throws.
 */
export function checkColumnsPage(
  collection: CollectionName,
  raw: unknown,
  maxEntities = Infinity,
): CheckedPage | { ok: false; error: string } {
  const parsed = ColumnsPage.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail(`columns page: ${issue.path.length ? issue.path.join('.') + ': ' : ''}${issue.message}`);
  }
  const { n, fields, strings } = parsed.data;
  const columns: PageColumn[] = [];
  for (let j = 0; j < parsed.data.columns.length; j++) {
    const c = asColumn(parsed.data.columns[j]);
    if (!c)
      return fail(
        `columns page: column ${j}${j < fields.length ? ` (${JSON.stringify(fields[j])})` : ''} is not {"d": [indices]}, {"v": [values]} or {"k": 1}`,
      );
    columns.push(c);
  }
  if (n > maxEntities) return fail(`columns page: ${n} entities; at most ${maxEntities}`);
  if (columns.length !== fields.length) return fail(`columns page: ${fields.length} fields but ${columns.length} columns`);
  const seen = new Set<string>();
  let keyColumn = -1;
  for (let j = 0; j < fields.length; j++) {
    const f = fields[j]!;
    if (seen.has(f)) return fail(`columns page: field ${JSON.stringify(f)} given twice`);
    seen.add(f);
    const c = columns[j]!;
    if ('k' in c) {
      if (f !== 'key') return fail(`columns page: field ${JSON.stringify(f)}: only the key can be derived`);
      keyColumn = j;
      continue;
    }
    const values = 'd' in c ? c.d : c.v;
    if (values.length !== n) return fail(`columns page: field ${JSON.stringify(f)} has ${values.length} values for ${n} entities`);
    if ('d' in c) {
      const max = strings.length;
      for (let i = 0; i < n; i++) {
        const ix = values[i];
        if (typeof ix !== 'number' || !Number.isInteger(ix) || ix < -1 || ix >= max) {
          return fail(
            `columns page: field ${JSON.stringify(f)}, entity ${i}: ${JSON.stringify(ix) ?? 'nothing'} is not a string index (0..${max - 1}, or -1 for null)`,
          );
        }
      }
    }
  }
  if (keyColumn >= 0) {
    for (const name of keyFormatOf(collection).fields) {
      if (!seen.has(name)) return fail(`columns page: the key is derived, but the key's field ${JSON.stringify(name)} is not in the page`);
    }
  }
  return { ok: true, n, fields, columns, strings, keyColumn };
}

/** The collection's key format, callable with the raw values of its fields. */
export function keyFormatOf(collection: CollectionName): { fields: readonly string[]; format: (...a: unknown[]) => string } {
  return COLLECTION_KEYS[collection] as unknown as { fields: readonly string[]; format: (...a: unknown[]) => string };
}

/** Why the derived key of entity `i` cannot be made from `value` (its field `name`), or undefined if it can. */
export function keyPartProblem(i: number, name: string, value: unknown): string | undefined {
  if (typeof value === 'string' || Number.isSafeInteger(value)) return undefined;
  return `columns page: entity ${i}: the key is derived from ${name}, which is ${JSON.stringify(value) ?? 'nothing'}, not a string or an integer`;
}

/**
 * The page's entities as plain objects (what v1 would have sent), or what
 * is wrong with the page. The objects still need the collection's schema:
 * this checks the page's structure, not the entities. (The client reads pages
 * with `decodeColumnsEntities`, column-decoders.ts, which validates them too.)
 */
export function decodeColumnsPage(collection: CollectionName, raw: unknown, maxEntities = Infinity): DecodedPage {
  const page = checkColumnsPage(collection, raw, maxEntities);
  if (!page.ok) return page;
  const { n, fields, columns, strings, keyColumn } = page;
  const items: Record<string, unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const e: Record<string, unknown> = {};
    for (let j = 0; j < fields.length; j++) {
      const c = columns[j]!;
      if ('k' in c) continue;
      let v: unknown;
      if ('d' in c) {
        const ix = c.d[i] as number;
        v = ix < 0 ? null : strings[ix];
      } else v = c.v[i];
      const f = fields[j]!;
      // A field named `__proto__` stays a field (as JSON.parse leaves it), never the object's prototype.
      if (f === '__proto__') Object.defineProperty(e, f, { value: v, enumerable: true, writable: true, configurable: true });
      else e[f] = v;
    }
    items[i] = e;
  }
  if (keyColumn >= 0) {
    const format = keyFormatOf(collection);
    const names = format.fields;
    const args: unknown[] = new Array(names.length);
    for (let i = 0; i < n; i++) {
      const e = items[i]!;
      for (let j = 0; j < names.length; j++) {
        const v = e[names[j]!];
        const problem = keyPartProblem(i, names[j]!, v);
        if (problem) return fail(problem);
        args[j] = v;
      }
      e.key = format.format(...args);
    }
  }
  return { ok: true, items };
}
