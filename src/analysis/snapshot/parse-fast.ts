/**
 * The snapshot language's fast path, for the common entity line: a bare key, fields in schema
 * order, bare or simple quoted values. It reads straight from the file's text, without cutting
 * out the line or its field names; a value seen lately in its column comes back as the same
 * string (no new one), an enum value as the schema's own string, and the fields a shard's key
 * spells out are read from the key's text in place. Anything else goes to the general path
 * (`parse-tokens.ts`), which gives the same entity and reports the errors.
 */
import { COLLECTION_KEYS, COLLECTIONS, type AnyEntity } from '../../protocol';
import { KEY_HASH_FACTOR, KEY_HASH_START } from '../table';
import type { CollectionLayout, FieldInfo } from './layout';
import { detach, isBlank } from './parse-tokens';

/** Values a column's cache holds (a power of two): more than the distinct values of a repeating column (leaders, states, mappings). */
const CACHE_SIZE = 64;

/** What the fast path knows of one field. */
interface FastField {
  info: FieldInfo;
  name: string;
  /** The character of `name` at 0, and `name`'s length (where its `=` is). */
  first: number;
  length: number;
  /**
   * (strings without options) The column's recent values, by a hash of their text: a value read
   * again is this string again, not a new one (equal values then share one string in the model).
   */
  cache: (string | undefined)[] | undefined;
}

/** What the fast path keeps while it reads one section's lines. */
export interface FastState {
  fields: FastField[];
  /** Each field's value on the line being read, by field index (reused from line to line). */
  values: unknown[];
  /** (fields the key spells out) Each one's last value, reused while it repeats. */
  last: (string | undefined)[];
  /** Builds the entity from the values: one object literal of the collection's schema shape. */
  make: (key: string, values: readonly unknown[], version: number) => AnyEntity;
  /** The line's version (set by `fastEntity`). */
  version: number;
  /** The key's `hashKey` (set by `fastEntity`, which hashes the key as it reads it). */
  hash: number;
  /**
   * Whether every field the key spells out was taken from the key (the line gave none): then the
   * key is what its fields spell out, by the key format's own contract (`matches` is true of
   * `parse`'s fields), and the table need not check it again.
   */
  keyMatches: boolean;
  /**
   * For a key of string parts joined by `/` (a shard's): per part, its field's index in
   * `values`; undefined for other key formats (read by the format's `parse`).
   */
  slashParts: number[] | undefined;
  /** The key's fields' indexes in `values`. */
  keyFields: number[];
  /**
   * The entity's fields in the schema's order (as `make` builds it), and for each, where its value
   * is: an index in `values`, or `KEY_AT` / `VERSION_AT`; undefined where `make` builds otherwise
   * (then the entity is built and `set`, not appended).
   */
  names: string[] | undefined;
  order: number[];
  /** The row handed to `EntityTable.appendRow`, in `names`' order (reused from line to line). */
  row: unknown[];
}

export const KEY_AT = -1;
export const VERSION_AT = -2;

const entityMakers = new Map<CollectionLayout, FastState['make']>();

/**
 * The function that builds a collection's entity from the fast path's values, in the order of
 * the protocol schema's fields (as the wire's validated entities have them): an object literal,
 * so every entity is built in one allocation with the same hidden class, not field by field.
 */
function entityMaker(layout: CollectionLayout): FastState['make'] {
  let make = entityMakers.get(layout);
  if (make) return make;
  const shape = Object.keys((COLLECTIONS[layout.collection].schema as unknown as { shape: Record<string, unknown> }).shape);
  const index = new Map(layout.fields.map((f, i) => [f.name, i]));
  const parts = shape.map((name) =>
    name === 'key' ? 'key: key' : name === 'version' ? 'version: version' : `${JSON.stringify(name)}: values[${index.get(name)}]`,
  );
  // Schema field names, never `__proto__` (which an object literal would take as the prototype).
  if (shape.includes('__proto__') || shape.some((n) => n !== 'key' && n !== 'version' && !index.has(n))) {
    make = (key, values, version) => {
      const e: Record<string, unknown> = { key };
      layout.fields.forEach((f, i) =>
        Object.defineProperty(e, f.name, { value: values[i], enumerable: true, writable: true, configurable: true }),
      );
      e.version = version;
      return e as unknown as AnyEntity;
    };
  } else make = new Function('key', 'values', 'version', `return { ${parts.join(', ')} };`) as FastState['make'];
  entityMakers.set(layout, make);
  return make;
}

export function fastState(layout: CollectionLayout): FastState {
  const shape = Object.keys((COLLECTIONS[layout.collection].schema as unknown as { shape: Record<string, unknown> }).shape);
  const index = new Map(layout.fields.map((f, i) => [f.name, i]));
  // As `entityMaker`: the schema's order, unless it builds field by field.
  const plain = !shape.includes('__proto__') && shape.every((n) => n === 'key' || n === 'version' || index.has(n));
  const order = shape.map((n) => (n === 'key' ? KEY_AT : n === 'version' ? VERSION_AT : index.get(n)!));
  const format = COLLECTION_KEYS[layout.collection];
  const keyFields = format.fields.map((n) => index.get(n) ?? -1);
  const slashJoined = format.slashJoined === true && keyFields.every((j) => j >= 0 && layout.fields[j]!.type === 'string');
  return {
    fields: layout.fields.map((info) => ({
      info,
      name: info.name,
      first: info.name.charCodeAt(0),
      length: info.name.length,
      cache: info.type === 'string' && !info.optionList ? new Array<string | undefined>(CACHE_SIZE).fill(undefined) : undefined,
    })),
    values: new Array<unknown>(layout.fields.length).fill(undefined),
    last: new Array<string | undefined>(layout.fields.length).fill(undefined),
    make: entityMaker(layout),
    version: 0,
    hash: 0,
    keyMatches: false,
    slashParts: slashJoined ? keyFields : undefined,
    keyFields: keyFields.filter((j) => j >= 0),
    names: plain ? shape : undefined,
    order,
    row: new Array<unknown>(shape.length).fill(undefined),
  };
}

/** Where `readInt` stopped. */
let intEnd = 0;

/** Parses an integer at `i` (digits, optional `-`) that ends at a blank or `end` (then `intEnd` is where), or undefined. */
function readInt(text: string, i: number, end: number): number | undefined {
  let neg = false;
  if (text.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  const start = i;
  let v = 0;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  if (i === start || i - start > 15 || (i < end && !isBlank(text.charCodeAt(i)))) return undefined;
  intEnd = i;
  return neg ? -v : v;
}

/** Whether `text` holds `s` at `at` (a loop of character reads: cheaper than a call of `startsWith` for a short `s`). */
function holds(text: string, at: number, s: string): boolean {
  const n = s.length;
  for (let k = 0; k < n; k++) if (text.charCodeAt(at + k) !== s.charCodeAt(k)) return false;
  return true;
}

/** Whether `text[at…end)` is a word: it ends at `end` or a blank. */
const endsWord = (text: string, at: number, end: number) => at === end || isBlank(text.charCodeAt(at));

/**
 * `text[start…end)` as a string of `cache`'s column: the cached string if it is this text, else a
 * copy (`detach`), cached. `h` is a hash of the text (any: a wrong guess only costs a copy).
 */
function cached(cache: (string | undefined)[], h: number, text: string, start: number, end: number): string {
  const slot = (h ^ (h >>> 11)) & (CACHE_SIZE - 1);
  const s = cache[slot];
  if (s !== undefined && s.length === end - start && holds(text, start, s)) return s;
  return (cache[slot] = detach(text.slice(start, end)));
}

/** The key's part `text[start…end)` for field `j`: its last value again if equal, else a copy (a slice would keep the text alive). */
function keyPart(fast: FastState, j: number, text: string, start: number, end: number): string {
  const prev = fast.last[j];
  if (prev !== undefined && prev.length === end - start && holds(text, start, prev)) return prev;
  return (fast.last[j] = detach(text.slice(start, end)));
}

/** Slash positions in the key being read (`fastEntity`), for a slash-joined key's parts. */
const slashes: number[] = [0, 0, 0, 0];

/**
 * The fast path for the common entity line, from `i` (just after the kind word and its space) to
 * `end`. Sets the values and the version in `fast` and returns the key (a slice of the text: the
 * table copies it only if it keeps it), or undefined for a line the general path must read.
 */
export function fastEntity(text: string, i: number, end: number, layout: CollectionLayout, fast: FastState): string | undefined {
  const ks = i;
  let nSlash = 0;
  let hash = KEY_HASH_START;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c > 61) {
      // Letters and most marks: nothing to look at.
      hash = Math.imul(hash ^ c, KEY_HASH_FACTOR);
      continue;
    }
    if (c === 32) break;
    hash = Math.imul(hash ^ c, KEY_HASH_FACTOR);
    if (c === 47) {
      if (nSlash < 4) slashes[nSlash] = i;
      nSlash++;
    } else if (c === 34 || c === 61 || c === 35 || c === 9 || c === 13) return undefined;
  }
  if (i === ks) return undefined;
  const ke = i;
  const fields = fast.fields;
  const n = fields.length;
  const vals = fast.values;
  for (let j = 0; j < n; j++) vals[j] = undefined;
  let version = -1;
  let next = 0;
  while (i < end) {
    while (i < end && text.charCodeAt(i) === 32) i++;
    if (i >= end) break;
    const c = text.charCodeAt(i);
    if (c === 35 || (c === 13 && i === end - 1)) break;
    let ff: FastField | undefined;
    for (let j = next; j < n; j++) {
      const fj = fields[j]!;
      if (c === fj.first && text.charCodeAt(i + fj.length) === 61 && holds(text, i, fj.name)) {
        ff = fj;
        next = j + 1;
        break;
      }
    }
    if (ff === undefined) {
      if (c === 118 && text.startsWith('version=', i)) {
        const v = readInt(text, i + 8, end);
        if (v === undefined || v < 0 || version >= 0) return undefined;
        version = v;
        i = intEnd;
        continue;
      }
      return undefined;
    }
    const at = next - 1;
    const f = ff.info;
    i += ff.length + 1;
    if (f.nullable && text.startsWith('null', i) && endsWord(text, i + 4, end)) {
      vals[at] = null;
      i += 4;
      continue;
    }
    switch (f.type) {
      case 'number': {
        const v = readInt(text, i, end);
        if (v === undefined) return undefined;
        vals[at] = v;
        i = intEnd;
        break;
      }
      case 'boolean':
        if (text.startsWith('true', i) && endsWord(text, i + 4, end)) {
          vals[at] = true;
          i += 4;
        } else if (text.startsWith('false', i) && endsWord(text, i + 5, end)) {
          vals[at] = false;
          i += 5;
        } else return undefined;
        break;
      case 'string': {
        const options = f.optionList;
        if (options) {
          let found: string | undefined;
          for (let o = 0; o < options.length; o++) {
            const option = options[o]!;
            if (text.startsWith(option, i) && endsWord(text, i + option.length, end)) {
              found = option;
              break;
            }
          }
          if (found === undefined) return undefined;
          vals[at] = found;
          i += found.length;
          break;
        }
        const q = text.charCodeAt(i);
        // `[` and `{` start a JSON value in the general path.
        if (q === 91 || q === 123) return undefined;
        let h = 0;
        if (q === 34) {
          // A JSON string without escapes is its own text; one with a raw control character is not JSON.
          let close = i + 1;
          for (; close < end; close++) {
            const c = text.charCodeAt(close);
            if (c === 34) break;
            if (c === 92 || c < 32) return undefined;
            h = (Math.imul(h, 31) + c) | 0;
          }
          if (close >= end) return undefined;
          vals[at] = cached(ff.cache!, h, text, i + 1, close);
          i = close + 1;
          if (i < end && !isBlank(text.charCodeAt(i))) return undefined;
          break;
        }
        const vs = i;
        for (; i < end; i++) {
          const c = text.charCodeAt(i);
          if (c === 32 || c === 9 || c === 13) break;
          h = (Math.imul(h, 31) + c) | 0;
        }
        // Empty, or a bare `null` for a field that cannot be null (the general path reports them).
        if (i === vs || (i - vs === 4 && text.startsWith('null', vs))) return undefined;
        vals[at] = cached(ff.cache!, h, text, vs, i);
        break;
      }
      default:
        return undefined;
    }
  }
  if (version < 0) return undefined;
  const key = text.slice(ks, ke);
  // The fields the line left to the key.
  const keyFields = fast.keyFields;
  let given = 0;
  for (let k = 0; k < keyFields.length; k++) if (vals[keyFields[k]!] !== undefined) given++;
  fast.keyMatches = false;
  const parts = fast.slashParts;
  if (parts !== undefined && given === 0) {
    // `a/b/c`: the format's `parse` splits at each `/`, and needs exactly as many parts.
    if (nSlash === parts.length - 1) {
      let from = ks;
      for (let k = 0; k < parts.length; k++) {
        const to = k < nSlash ? slashes[k]! : ke;
        vals[parts[k]!] = keyPart(fast, parts[k]!, text, from, to);
        from = to + 1;
      }
      fast.keyMatches = true;
    }
  } else if (given < keyFields.length) {
    const derived = layout.keyParts.parse(key);
    if (derived !== undefined) {
      for (let k = 0; k < keyFields.length; k++) {
        const j = keyFields[k]!;
        if (vals[j] !== undefined) continue;
        const d = derived[fields[j]!.name];
        // A part of the key is a slice of it, which would keep the key alive: the field's last value if equal, else a copy.
        if (typeof d === 'string') vals[j] = d === fast.last[j] ? fast.last[j] : (fast.last[j] = detach(d));
        else if (d !== undefined) vals[j] = d;
      }
      // Not `keyMatches`: a number part may be spelled otherwise than its value (`node-007`), which
      // the table's `matches` tells, so that it keeps the key as written.
    }
  }
  for (let j = 0; j < n; j++) {
    if (vals[j] !== undefined) continue;
    if (!fields[j]!.info.nullable) return undefined;
    vals[j] = null;
  }
  fast.version = version;
  fast.hash = hash | 0;
  return key;
}
