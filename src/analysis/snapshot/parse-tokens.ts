/**
 * The snapshot language's general path: a line cut into tokens (`tokenize`), and an entity built
 * from them by its collection's layout (`buildEntity`), each problem a `LineError` with its column.
 * Every line the fast path (`parse-fast.ts`) does not take comes here, and so do its errors.
 */
import type { AnyEntity } from '../../protocol';
import type { CollectionLayout, FieldInfo } from './layout';

export class LineError extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(message);
  }
}

/** Tokens of one line, in reused buffers. A token is a word (`key`), or `name=value`; `quoted` says the value was a JSON string. */
export class Tokens {
  kind = '';
  kindColumn = 0;
  key: string | undefined;
  keyColumn = 0;
  names: string[] = [];
  values: string[] = [];
  quoted: boolean[] = [];
  columns: number[] = [];
  /** A `[section]` header, if the line is one. */
  section: string | undefined;

  reset(): void {
    this.kind = '';
    this.key = undefined;
    this.section = undefined;
    this.names.length = 0;
    this.values.length = 0;
    this.quoted.length = 0;
    this.columns.length = 0;
  }
}

/**
 * `s` copied out of the text it was cut from. V8 makes a slice of 13 or more
 * characters a view that keeps its whole parent alive: every key and string
 * value of a parsed model would keep its line, or its chunk of the file, or
 * the whole file's text in memory for as long as the model lives. Flattening
 * a concatenation makes a copy (one character longer); shorter slices are
 * copies already.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

export const isBlank = (c: number) => c === 32 || c === 9 || c === 13;

/** Index just past the JSON string starting at `i` (a `"`). */
function scanString(line: string, i: number): number {
  for (let j = i + 1; j < line.length; j++) {
    const c = line.charCodeAt(j);
    if (c === 92) j++;
    else if (c === 34) return j + 1;
  }
  throw new LineError(i, 'unterminated string');
}

/** Index just past the JSON array/object starting at `i`. */
function scanJson(line: string, i: number): number {
  let depth = 0;
  for (let j = i; j < line.length; j++) {
    const c = line.charCodeAt(j);
    if (c === 34) j = scanString(line, j) - 1;
    else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) {
      if (--depth === 0) return j + 1;
    }
  }
  throw new LineError(i, 'unterminated JSON value');
}

function parseJsonString(text: string, column: number): string {
  try {
    return JSON.parse(text) as string;
  } catch {
    throw new LineError(column, `invalid string ${text.length > 40 ? text.slice(0, 40) + '…' : text}`);
  }
}

export function tokenize(line: string, t: Tokens): void {
  t.reset();
  const n = line.length;
  let i = 0;
  while (i < n && isBlank(line.charCodeAt(i))) i++;
  if (i >= n || line.charCodeAt(i) === 35) return; // blank or comment
  if (line.charCodeAt(i) === 91) {
    const close = line.indexOf(']', i);
    if (close < 0) throw new LineError(i, 'section header without a closing `]`');
    t.section = line.slice(i + 1, close).trim();
    let j = close + 1;
    while (j < n && isBlank(line.charCodeAt(j))) j++;
    if (j < n && line.charCodeAt(j) !== 35) throw new LineError(j, 'unexpected text after the section header');
    return;
  }
  let first = true;
  while (i < n) {
    while (i < n && isBlank(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    const c = line.charCodeAt(i);
    if (c === 35) break; // trailing comment
    if (c === 34) {
      // quoted positional word (the key)
      i = scanString(line, i);
      if (first) throw new LineError(start, 'a line starts with a kind word, not a string');
      if (t.key !== undefined) throw new LineError(start, 'a second key; expected field=value');
      t.key = parseJsonString(line.slice(start, i), start);
      t.keyColumn = start;
    } else {
      while (i < n && !isBlank(line.charCodeAt(i)) && line.charCodeAt(i) !== 61) i++;
      if (i < n && line.charCodeAt(i) === 61) {
        // name=value
        if (first) throw new LineError(start, 'a line starts with a kind word, not field=value');
        const name = line.slice(start, i);
        if (!name) throw new LineError(start, 'missing field name before `=`');
        i++;
        const vs = i;
        const vc = i < n ? line.charCodeAt(i) : 32;
        let value: string;
        let quoted = false;
        if (vc === 34) {
          i = scanString(line, i);
          value = parseJsonString(line.slice(vs, i), vs);
          quoted = true;
        } else if (vc === 91 || vc === 123) {
          i = scanJson(line, i);
          value = line.slice(vs, i);
        } else {
          while (i < n && !isBlank(line.charCodeAt(i))) i++;
          value = line.slice(vs, i);
          if (!value) throw new LineError(vs, `missing value after \`${name}=\``);
        }
        if (i < n && !isBlank(line.charCodeAt(i))) throw new LineError(i, `expected a space after the value of ${name}`);
        t.names.push(name);
        t.values.push(value);
        t.quoted.push(quoted);
        t.columns.push(start);
      } else if (first) {
        t.kind = line.slice(start, i);
        t.kindColumn = start;
        first = false;
        continue;
      } else {
        if (t.key !== undefined) throw new LineError(start, `unexpected word \`${line.slice(start, i)}\`; expected field=value`);
        t.key = line.slice(start, i);
        t.keyColumn = start;
      }
    }
    first = false;
  }
}

function toValue(f: FieldInfo, raw: string, quoted: boolean, column: number): unknown {
  if (!quoted && raw === 'null') {
    if (f.nullable) return null;
    throw new LineError(column, `${f.name} cannot be null`);
  }
  switch (f.type) {
    case 'string':
      if (f.options && !f.options.has(raw)) {
        throw new LineError(column, `${f.name} must be one of ${[...f.options].join(', ')}; found \`${raw}\``);
      }
      return detach(raw);
    case 'number': {
      const v = quoted ? NaN : Number(raw);
      if (!Number.isInteger(v)) throw new LineError(column, `${f.name} must be an integer; found \`${raw}\``);
      return v;
    }
    case 'boolean':
      if (!quoted && raw === 'true') return true;
      if (!quoted && raw === 'false') return false;
      throw new LineError(column, `${f.name} must be true or false; found \`${raw}\``);
    case 'json': {
      let v: unknown;
      try {
        // JSON.parse makes its strings slices of its input: parse a copy, not a slice of the text.
        v = JSON.parse(detach(raw));
      } catch {
        throw new LineError(column, `${f.name}: invalid JSON`);
      }
      const problem = f.validate?.(v);
      if (problem) throw new LineError(column, `${f.name}: ${problem}`);
      return v;
    }
  }
}

export function intField(name: string, raw: string, quoted: boolean, column: number): number {
  const v = quoted ? NaN : Number(raw);
  if (!Number.isInteger(v)) throw new LineError(column, `${name} must be an integer; found \`${raw}\``);
  return v;
}

export function buildEntity(layout: CollectionLayout, t: Tokens): AnyEntity {
  if (t.key === undefined) throw new LineError(t.kindColumn, `missing the ${layout.kind}'s key after \`${t.kind}\``);
  const e: Record<string, unknown> = { key: detach(t.key), version: undefined };
  for (let i = 0; i < t.names.length; i++) {
    const name = t.names[i]!;
    if (name === 'version') {
      e.version = intField('version', t.values[i]!, t.quoted[i]!, t.columns[i]!);
      if ((e.version as number) < 0) throw new LineError(t.columns[i]!, 'version must not be negative');
      continue;
    }
    const f = layout.byName.get(name);
    if (!f) throw new LineError(t.columns[i]!, `unknown field \`${name}\` for a ${layout.kind} in [${layout.collection}]`);
    if (e[name] !== undefined) throw new LineError(t.columns[i]!, `field \`${name}\` given twice`);
    e[name] = toValue(f, t.values[i]!, t.quoted[i]!, t.columns[i]!);
  }
  if (e.version === undefined) throw new LineError(t.kindColumn, 'missing version=');
  let derived: Record<string, string | number> | undefined | null = null;
  for (const f of layout.fields) {
    if (e[f.name] !== undefined) continue;
    if (derived === null) derived = layout.keyParts?.parse(e.key as string);
    const d = derived?.[f.name];
    // A part of the key is a slice of it: copied, so that the model does not keep the key for it.
    if (d !== undefined) e[f.name] = typeof d === 'string' ? detach(d) : d;
    else if (f.nullable) e[f.name] = null;
    else throw new LineError(t.kindColumn, `missing field \`${f.name}\` (and the key does not spell it out)`);
  }
  // In the layout's order, as the fast path builds it (fields given in another order, or spelled out by the key, are moved).
  const ordered: Record<string, unknown> = { key: e.key, version: e.version };
  for (const f of layout.fields) ordered[f.name] = e[f.name];
  return ordered as unknown as AnyEntity;
}
