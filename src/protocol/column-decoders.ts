/**
 * `columns-v1` pages validated and decoded column by column, with decoders derived from the
 * entity schemas (entities.ts, through `COLLECTIONS`): the zod schemas stay the one definition
 * of what an entity is, and no entity goes through zod on the way in.
 *
 * Each collection's schema is walked once, on first use: a field of a type this file reads
 * (string, number, integer, boolean, enum, literal, nullable, optional, array, plain object,
 * with the length and bound checks zod's own methods add) gets a plain function that accepts
 * exactly what zod accepts and gives what zod gives; any other field (a refinement, a transform,
 * a default, a format) is checked by zod, value by value, for that field only. A column then
 * costs one typed loop, and a dictionary column one check per distinct string, not per entity.
 *
 * What zod would say about a rejected value is what the error says, with the collection, the
 * row (the entity's index in the page) and the column (the field). test/unit/column-decoders.test.ts
 * checks the derived decoders against zod on random pages, valid and invalid.
 */
import { z } from 'zod';
import { COLLECTIONS, type CollectionName, type EntityOf } from './collections';
import { checkColumnsPage, keyFormatOf, keyPartProblem, type CheckedPage } from './pages';

/** `decode`'s answer for a value the schema rejects. */
const INVALID: unique symbol = Symbol('invalid');

/** One value's decoder, derived from its zod schema. */
interface ValueDecoder {
  /** The value the entity gets (the same value for a primitive), or `INVALID`. */
  readonly decode: (v: unknown) => unknown;
  /** `decode` gives back its input whenever the input is valid: a column's values are then kept as they are. */
  readonly identity: boolean;
  /** What the derivation read; `zod` when it left the value to zod. */
  readonly kind: string;
}

/** What an object gets for a field its input does not have (decided once per field, by zod). */
type Absent = { kind: 'skip' } | { kind: 'invalid' } | { kind: 'value'; value: unknown };

interface FieldPlan {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly decoder: ValueDecoder;
  readonly absent: Absent;
}

type ZodDef = { type: string; checks?: { _zod: { def: Record<string, unknown> } }[] } & Record<string, unknown>;

function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

function zodDecoder(schema: z.ZodType): ValueDecoder {
  return {
    kind: 'zod',
    identity: false,
    decode: (v) => {
      const r = schema.safeParse(v);
      return r.success ? r.data : INVALID;
    },
  };
}

/** The length checks (`min`, `max`, `length`) as one test, or undefined if `checks` holds another kind. */
function lengthTest(checks: ZodDef['checks']): ((n: number) => boolean) | undefined {
  let min = 0;
  let max = Infinity;
  for (const c of checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'min_length' && typeof d.minimum === 'number') min = Math.max(min, d.minimum);
    else if (d.check === 'max_length' && typeof d.maximum === 'number') max = Math.min(max, d.maximum);
    else if (d.check === 'length_equals' && typeof d.length === 'number') {
      min = Math.max(min, d.length);
      max = Math.min(max, d.length);
    } else return undefined;
  }
  return min === 0 && max === Infinity ? () => true : (n) => n >= min && n <= max;
}

/** A number's checks (integer, bounds), or undefined if the schema holds another kind. */
function numberTest(def: ZodDef): ((v: number) => boolean) | undefined {
  let int = false;
  const formats = [def.format, ...(def.checks ?? []).map((c) => (c._zod.def.check === 'number_format' ? c._zod.def.format : null))];
  for (const f of formats) {
    if (f === 'safeint') int = true;
    else if (f !== undefined && f !== null) return undefined;
  }
  const lows: { value: number; inclusive: boolean }[] = [];
  const highs: { value: number; inclusive: boolean }[] = [];
  for (const c of def.checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'number_format') continue;
    const bound = { value: d.value as number, inclusive: d.inclusive === true };
    if (typeof d.value !== 'number') return undefined;
    if (d.check === 'greater_than') lows.push(bound);
    else if (d.check === 'less_than') highs.push(bound);
    else return undefined;
  }
  return (v) => {
    if (int ? !Number.isSafeInteger(v) : !Number.isFinite(v)) return false;
    for (const b of lows) if (b.inclusive ? v < b.value : v <= b.value) return false;
    for (const b of highs) if (b.inclusive ? v > b.value : v >= b.value) return false;
    return true;
  };
}

const isPrimitive = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The decoder of values of `schema`: derived where this file reads the schema's type, else zod's. */
function derive(schema: z.ZodType): ValueDecoder {
  const def = defOf(schema);
  if (def.coerce) return zodDecoder(schema);
  switch (def.type) {
    case 'string': {
      const length = lengthTest(def.checks);
      if (!length) break;
      if (!def.checks?.length) return { kind: 'string', identity: true, decode: (v) => (typeof v === 'string' ? v : INVALID) };
      return { kind: 'string', identity: true, decode: (v) => (typeof v === 'string' && length(v.length) ? v : INVALID) };
    }
    case 'number': {
      const test = numberTest(def);
      if (!test) break;
      return { kind: 'number', identity: true, decode: (v) => (typeof v === 'number' && test(v) ? v : INVALID) };
    }
    case 'boolean':
      if (def.checks?.length) break;
      return { kind: 'boolean', identity: true, decode: (v) => (typeof v === 'boolean' ? v : INVALID) };
    case 'enum': {
      if (def.checks?.length) break;
      const values = Object.values(def.entries as Record<string, unknown>);
      // zod leaves out a numeric enum's reverse mappings: only string enums here.
      if (!values.every((v) => typeof v === 'string')) break;
      const allowed = new Set<unknown>(values);
      return { kind: 'enum', identity: true, decode: (v) => (allowed.has(v) ? v : INVALID) };
    }
    case 'literal': {
      const values = def.values as unknown[];
      if (def.checks?.length || !values.every(isPrimitive)) break;
      const allowed = new Set<unknown>(values);
      return { kind: 'literal', identity: true, decode: (v) => (allowed.has(v) ? v : INVALID) };
    }
    case 'nullable': {
      if (def.checks?.length) break;
      const inner = derive(def.innerType as z.ZodType);
      if (inner.kind === 'zod') break;
      const decode = inner.decode;
      return { kind: `${inner.kind} | null`, identity: inner.identity, decode: (v) => (v === null ? null : decode(v)) };
    }
    case 'optional': {
      if (def.checks?.length) break;
      const innerSchema = def.innerType as z.ZodType;
      // zod hands `undefined` to an inner schema that is itself optional-in (e.g. one with a default).
      if ((innerSchema as unknown as { _zod: { optin?: string } })._zod.optin !== undefined) break;
      const inner = derive(innerSchema);
      if (inner.kind === 'zod') break;
      const decode = inner.decode;
      return { kind: `${inner.kind}?`, identity: inner.identity, decode: (v) => (v === undefined ? undefined : decode(v)) };
    }
    case 'array': {
      const length = lengthTest(def.checks);
      const element = derive(def.element as z.ZodType);
      if (!length || element.kind === 'zod') break;
      const decode = element.decode;
      // A fresh array, as zod gives.
      return {
        kind: `${element.kind}[]`,
        identity: false,
        decode: (v) => {
          if (!Array.isArray(v) || !length(v.length)) return INVALID;
          const out = new Array<unknown>(v.length);
          for (let i = 0; i < v.length; i++) if ((out[i] = decode(v[i])) === INVALID) return INVALID;
          return out;
        },
      };
    }
    case 'object': {
      const fields = planObject(schema);
      if (!fields) break;
      return {
        kind: 'object',
        identity: false,
        decode: (v) => {
          if (typeof v !== 'object' || v === null || Array.isArray(v)) return INVALID;
          const input = v as Record<string, unknown>;
          // Only the shape's fields, in the shape's order (unknown ones are stripped, as zod does).
          const out: Record<string, unknown> = {};
          for (const f of fields) {
            if (!(f.name in input)) {
              if (f.absent.kind === 'invalid') return INVALID;
              if (f.absent.kind === 'value') out[f.name] = f.absent.value;
              continue;
            }
            const x = f.decoder.decode(input[f.name]);
            if (x === INVALID) return INVALID;
            out[f.name] = x;
          }
          return out;
        },
      };
    }
  }
  return zodDecoder(schema);
}

/**
 * The fields of a plain (stripping) object schema, each with its decoder, or undefined for an
 * object this file does not read (strict, catchall, checked as a whole, or with a field name
 * that every object has, which zod reads from the prototype).
 */
function planObject(schema: z.ZodType): FieldPlan[] | undefined {
  const def = defOf(schema);
  if (def.type !== 'object' || def.catchall !== undefined || def.checks?.length) return undefined;
  const shape = def.shape as Record<string, z.ZodType>;
  if (Object.getOwnPropertySymbols(shape).length) return undefined;
  const fields: FieldPlan[] = [];
  for (const name of Object.keys(shape)) {
    if (name in Object.prototype) return undefined;
    const field = shape[name]!;
    // An absent field: what zod makes of it, decided once. Without zod's compiled fast path (the same answer):
    // compiling one for each field's object took ~30 ms of the first pages of a sync.
    const r = z.object({ [name]: field }).safeParse({}, { jitless: true });
    let absent: Absent;
    if (!r.success) absent = { kind: 'invalid' };
    else if (!(name in r.data)) absent = { kind: 'skip' };
    else {
      const value = (r.data as Record<string, unknown>)[name];
      if (!isPrimitive(value) && value !== undefined) return undefined; // a default object: one per entity, as zod makes it
      absent = { kind: 'value', value };
    }
    fields.push({ name, schema: field, decoder: derive(field), absent });
  }
  return fields;
}

interface CollectionDecoder {
  readonly schema: z.ZodType;
  /** The entity's fields, in the schema's order; undefined when the entity schema is not a plain object (zod then reads whole entities). */
  readonly fields: FieldPlan[] | undefined;
}

const decoders = new Map<CollectionName, CollectionDecoder>();

function decoderOf(collection: CollectionName): CollectionDecoder {
  let d = decoders.get(collection);
  if (!d) {
    const schema = COLLECTIONS[collection].schema as z.ZodType;
    decoders.set(collection, (d = { schema, fields: planObject(schema) }));
  }
  return d;
}

/**
 * How each field of a collection's entities (or of entities of `schema`) is decoded: `zod` where
 * the derivation left it to zod, else the type it read (e.g. `string | null`, `number[]`).
 * Undefined when the whole entity is left to zod. For tests and diagnostics.
 */
export function columnDecoderKinds(of: CollectionName | z.ZodType): Record<string, string> | undefined {
  const fields = typeof of === 'string' ? decoderOf(of).fields : planObject(of);
  return fields && Object.fromEntries(fields.map((f) => [f.name, f.decoder.kind]));
}

export type DecodedEntities<C extends CollectionName> = { ok: true; items: EntityOf<C>[] } | { ok: false; error: string };

/** zod's word on a value `decode` rejected (or on an absent field), with the page's row and column. */
function rejection(
  collection: CollectionName,
  row: number,
  field: FieldPlan,
  value: unknown,
  present: boolean,
): { ok: false; error: string } {
  const r = present ? field.schema.safeParse(value) : z.object({ [field.name]: field.schema }).safeParse({});
  const issue = r.success ? undefined : r.error.issues[0];
  const path = issue ? (present ? issue.path : issue.path.slice(1)) : [];
  const what = issue ? `${path.length ? `${path.join('.')}: ` : ''}${issue.message}` : 'rejected';
  return { ok: false, error: `${collection} page: row ${row}, column ${JSON.stringify(field.name)}: ${what}` };
}

/**
 * A decoded column: its field, and where row `i`'s value is: `values[i]`; `strings[indices[i]]`
 * of the page's dictionary (-1: null); or `value` in every row (a field the page leaves out, which
 * the schema gives a value).
 */
export type DecodedColumn =
  | {
      name: string;
      from: 'values';
      values: readonly unknown[];
      /**
       * (The key's column only) each key is the key format's spelling of the row's key fields as the
       * other columns hold them: the page left the keys to be derived (`{ k: 1 }`), and those fields'
       * values are the page's own, not changed by decoding.
       */
      derived?: true;
    }
  | { name: string; from: 'strings'; indices: readonly number[] }
  | { name: string; from: 'constant'; value: unknown };

/** Row `i`'s value of column `c` of a page whose dictionary is `strings`. */
export function decodedValue(c: DecodedColumn, i: number, strings: readonly string[]): unknown {
  return c.from === 'values' ? c.values[i] : c.from === 'constant' ? c.value : c.indices[i]! < 0 ? null : strings[c.indices[i]!];
}

/**
 * A page's entities, validated and decoded, as columns: entity `i` has each column's field, in
 * the columns' order, with its value at `i` (`entitiesOf` builds them). For a reader that stores
 * columns (`EntityTable.setColumns`), with no object per entity.
 */
export interface DecodedColumns {
  readonly n: number;
  readonly columns: readonly DecodedColumn[];
  /** The page's dictionary, which `strings` columns index. */
  readonly strings: readonly string[];
}

/** `decodeColumns`'s answer: the columns, or (an entity schema this file does not read) the entities zod gave. */
export type DecodedPageColumns<C extends CollectionName> =
  | { ok: true; columns: DecodedColumns; items?: undefined }
  | { ok: true; columns?: undefined; items: EntityOf<C>[] }
  | { ok: false; error: string };

/**
 * The page's entities, validated against the collection's schema and decoded column by column,
 * or what is wrong: with the page's structure (as `decodeColumnsPage` says it), or with a value
 * (the collection, row, column, and zod's message). Equal to `decodeColumnsPage` followed by
 * the schema's parse of every entity; never throws.
 */
export function decodeColumnsEntities<C extends CollectionName>(collection: C, raw: unknown, maxEntities = Infinity): DecodedEntities<C> {
  return entitiesFrom(decodePage(collection, decoderOf(collection), raw, maxEntities));
}

/** `decodeColumnsEntities` with another entity schema than the collection's (tests: a schema the derivation leaves partly to zod). */
export function decodeColumnsEntitiesWith(collection: CollectionName, schema: z.ZodType, raw: unknown): DecodedEntities<CollectionName> {
  return entitiesFrom(decodePage(collection, { schema, fields: planObject(schema) }, raw, Infinity));
}

/**
 * The page validated and decoded as `decodeColumnsEntities` does it (the same checks, the same
 * errors), left as columns: `entitiesOf(columns)` are the entities `decodeColumnsEntities` gives.
 * An entity schema this file does not read gives the entities themselves (`items`).
 */
export function decodeColumns<C extends CollectionName>(collection: C, raw: unknown, maxEntities = Infinity): DecodedPageColumns<C> {
  return decodePage(collection, decoderOf(collection), raw, maxEntities);
}

/** `decodeColumns` with another entity schema than the collection's (tests). */
export function decodeColumnsWith(collection: CollectionName, schema: z.ZodType, raw: unknown): DecodedPageColumns<CollectionName> {
  return decodePage(collection, { schema, fields: planObject(schema) }, raw, Infinity);
}

/** The entities of decoded columns, row by row: fresh objects, fields in the columns' order. */
export function entitiesOf(page: DecodedColumns): Record<string, unknown>[] {
  return assemble(page.n, page.columns, page.strings);
}

function entitiesFrom<C extends CollectionName>(decoded: DecodedPageColumns<C>): DecodedEntities<C> {
  if (!decoded.ok) return decoded;
  return { ok: true, items: decoded.items ?? (entitiesOf(decoded.columns) as EntityOf<C>[]) };
}

function decodePage<C extends CollectionName>(
  collection: C,
  plan: CollectionDecoder,
  raw: unknown,
  maxEntities: number,
): DecodedPageColumns<C> {
  const page = checkColumnsPage(collection, raw, maxEntities);
  if (!page.ok) return page;
  if (!plan.fields) {
    const decoded = decodeWithZod(collection, page, plan.schema);
    return decoded.ok ? { ok: true, items: decoded.items } : decoded;
  }
  const { n, fields, columns, strings, keyColumn } = page;

  const keys = keyColumn >= 0 ? derivedKeys(collection, page) : undefined;
  if (keys && !Array.isArray(keys)) return keys;

  const out: DecodedColumn[] = [];
  for (const field of plan.fields) {
    const j = fields.indexOf(field.name);
    if (j < 0) {
      if (field.absent.kind === 'skip' || n === 0) continue;
      if (field.absent.kind === 'invalid') return rejection(collection, 0, field, undefined, false);
      out.push({ name: field.name, from: 'constant', value: field.absent.value });
      continue;
    }
    const decode = field.decoder.decode;
    const c = columns[j]!;
    if ('k' in c) {
      for (let i = 0; i < n; i++) if (decode(keys![i]) === INVALID) return rejection(collection, i, field, keys![i], true);
      const format = keyFormatOf(collection);
      // The key fields' decoders give the page's values back: the keys spell the stored fields.
      const asSent = format.fields.every((f) => plan.fields!.find((x) => x.name === f)?.decoder.identity === true);
      out.push(
        asSent ? { name: field.name, from: 'values', values: keys!, derived: true } : { name: field.name, from: 'values', values: keys! },
      );
    } else if ('v' in c) {
      const values = c.v;
      if (field.decoder.identity) {
        for (let i = 0; i < n; i++) if (decode(values[i]) === INVALID) return rejection(collection, i, field, values[i], true);
        out.push({ name: field.name, from: 'values', values });
      } else {
        const decoded = new Array<unknown>(n);
        for (let i = 0; i < n; i++)
          if ((decoded[i] = decode(values[i])) === INVALID) return rejection(collection, i, field, values[i], true);
        out.push({ name: field.name, from: 'values', values: decoded });
      }
    } else {
      const indices = c.d as number[]; // checked: integers in -1..strings.length - 1
      if (field.decoder.identity) {
        // Each distinct string once: 0 not seen yet, 1 valid (the dictionary is shared by every column: per column).
        const seen = new Uint8Array(strings.length);
        let nullSeen = false;
        for (let i = 0; i < n; i++) {
          const ix = indices[i]!;
          if (ix < 0) {
            if (!nullSeen) {
              if (decode(null) === INVALID) return rejection(collection, i, field, null, true);
              nullSeen = true;
            }
          } else if (seen[ix] === 0) {
            if (decode(strings[ix]) === INVALID) return rejection(collection, i, field, strings[ix], true);
            seen[ix] = 1;
          }
        }
        out.push({ name: field.name, from: 'strings', indices });
      } else {
        const decoded = new Array<unknown>(n);
        for (let i = 0; i < n; i++) {
          const ix = indices[i]!;
          const v = ix < 0 ? null : strings[ix];
          if ((decoded[i] = decode(v)) === INVALID) return rejection(collection, i, field, v, true);
        }
        out.push({ name: field.name, from: 'values', values: decoded });
      }
    }
  }
  return { ok: true, columns: { n, columns: out, strings } };
}

/** Each row's key, made from its fields' values as sent, or the page's error. */
function derivedKeys(collection: CollectionName, page: CheckedPage): string[] | { ok: false; error: string } {
  const { n, fields, columns, strings } = page;
  const format = keyFormatOf(collection);
  const names = format.fields;
  const parts = names.map((name) => columns[fields.indexOf(name)]!);
  const args: unknown[] = new Array(names.length);
  const keys: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < parts.length; p++) {
      const c = parts[p]!;
      // Never the key's own column: `checkColumnsPage` derives only the key, from its other fields.
      const v = 'd' in c ? ((c.d[i] as number) < 0 ? null : strings[c.d[i] as number]) : 'v' in c ? c.v[i] : undefined;
      const problem = keyPartProblem(i, names[p]!, v);
      if (problem) return { ok: false, error: problem };
      args[p] = v;
    }
    keys[i] = format.format(...args);
  }
  return keys;
}

type Assembler = (n: number, sources: readonly unknown[], strings: readonly string[]) => Record<string, unknown>[];

/** Assemblers made so far, by the columns' names and forms (a cluster sends the same few layouts, page after page). */
const assemblers = new Map<string, Assembler>();
const MAX_ASSEMBLERS = 256;

/**
 * The entities, row by row, from their decoded columns. Each layout of columns gets a function
 * of its own, built once, that makes every entity with one object literal: one hidden class for
 * a page's entities, and no store by a computed name per field (3× faster than a loop of
 * `e[name] = v` at 5,000 shards). The names come from the schemas (never from the wire), quoted
 * with `JSON.stringify`; none is `__proto__` (`planObject` leaves names of `Object.prototype` to zod).
 */
function assemble(n: number, out: readonly DecodedColumn[], strings: readonly string[]): Record<string, unknown>[] {
  const layout = out.map((c) => `${c.from}:${c.name}`).join(',');
  let make = assemblers.get(layout);
  if (!make) {
    const reads = out.map((c, j) => {
      const name = JSON.stringify(c.name);
      if (c.from === 'values') return `${name}: s${j}[i]`;
      if (c.from === 'strings') return `${name}: s${j}[i] < 0 ? null : strings[s${j}[i]]`;
      return `${name}: s${j}`;
    });
    const body = [
      ...out.map((_, j) => `const s${j} = sources[${j}];`),
      'const items = new Array(n);',
      `for (let i = 0; i < n; i++) items[i] = { ${reads.join(', ')} };`,
      'return items;',
    ].join('\n');
    make = new Function('n', 'sources', 'strings', body) as Assembler;
    if (assemblers.size >= MAX_ASSEMBLERS) assemblers.clear();
    assemblers.set(layout, make);
  }
  return make(
    n,
    out.map((c) => (c.from === 'values' ? c.values : c.from === 'strings' ? c.indices : c.value)),
    strings,
  );
}

/** An entity schema this file does not read: the page's objects, then zod on each. */
function decodeWithZod<C extends CollectionName>(collection: C, page: CheckedPage, schema: z.ZodType): DecodedEntities<C> {
  const objects = objectsOf(collection, page);
  if (!Array.isArray(objects)) return objects;
  const items = new Array<EntityOf<C>>(objects.length);
  for (let i = 0; i < objects.length; i++) {
    const r = schema.safeParse(objects[i]);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const [column, ...rest] = issue.path;
      const where = column === undefined ? '' : `, column ${JSON.stringify(String(column))}`;
      return { ok: false, error: `${collection} page: row ${i}${where}: ${rest.length ? `${rest.join('.')}: ` : ''}${issue.message}` };
    }
    items[i] = r.data as EntityOf<C>;
  }
  return { ok: true, items };
}

/** The page's plain objects (as `decodeColumnsPage` makes them). */
function objectsOf(collection: CollectionName, page: CheckedPage): Record<string, unknown>[] | { ok: false; error: string } {
  const { n, fields, columns, strings } = page;
  const keys = page.keyColumn >= 0 ? derivedKeys(collection, page) : undefined;
  if (keys && !Array.isArray(keys)) return keys;
  const items: Record<string, unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const e: Record<string, unknown> = {};
    for (let j = 0; j < fields.length; j++) {
      const c = columns[j]!;
      const v = 'k' in c ? keys![i] : 'd' in c ? ((c.d[i] as number) < 0 ? null : strings[c.d[i] as number]) : c.v[i];
      Object.defineProperty(e, fields[j]!, { value: v, enumerable: true, writable: true, configurable: true });
    }
    items[i] = e;
  }
  return items;
}
