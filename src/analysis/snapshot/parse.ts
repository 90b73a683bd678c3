/**
 * Parsing the snapshot language. Never throws: every problem becomes a
 * `SnapshotSyntaxError` with a 0-based line and column, the line is skipped,
 * and parsing goes on, so a corrupt file still yields what it could.
 *
 * Built for 763k-line files: one scan per line with reused token buffers,
 * values converted by the field's declared type (no per-entity zod pass; json
 * fields, which are rare, are validated by their zod schema).
 */
import {
  ClusterStatus,
  COLLECTION_NAMES,
  COLLECTIONS,
  ClusterConfig,
  errorText,
  isCollectionName,
  SUBSYSTEMS,
  Transition,
  type AnyEntity,
  type CollectionName,
} from '../../protocol';
import { groupIterator, groupOf } from '../grouping';
import { emptyCollections, type ClusterModel, type EntityMap } from '../model';
import { EntityTable } from '../table';
import { GROUP_SUMMARY_THRESHOLD, type DocumentIndex } from './render';
import {
  ANNOTATION_PREFIX,
  GROUP_KIND,
  HEADER_KINDS,
  LAYOUTS,
  TIMELINE_KIND,
  TRANSITION_KIND,
  type CollectionLayout,
  type FieldInfo,
} from './layout';

export interface SnapshotSyntaxError {
  /** 0-based. */
  line: number;
  /** 0-based. */
  column: number;
  message: string;
}

/** A `group` line: entities summarised by a count (a saved virtual document), not present in the model. */
export interface SummarisedGroup {
  collection: CollectionName;
  group: string;
  count: number;
  line: number;
}

export interface ParsedSnapshot {
  model: ClusterModel | null;
  errors: SnapshotSyntaxError[];
  summarised: SummarisedGroup[];
  /** Lines of the parsed file's entities and sections, for diagnostics on the file itself. */
  index: DocumentIndex;
  /** The file's timeline (`#@ transition` lines), oldest first; empty for a file without one. */
  timeline: Transition[];
  /** How many older transitions the recorder had dropped before the file was written (`#@ timeline dropped=N`). */
  timelineDropped: number;
}

/** Stop collecting errors past this many: a binary file should not produce a million diagnostics. */
export const MAX_SYNTAX_ERRORS = 200;

class LineError extends Error {
  constructor(
    readonly column: number,
    message: string,
  ) {
    super(message);
  }
}

/** Tokens of one line, in reused buffers. A token is a word (`key`), or `name=value`; `quoted` says the value was a JSON string. */
class Tokens {
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
function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

const isBlank = (c: number) => c === 32 || c === 9 || c === 13;

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

function tokenize(line: string, t: Tokens): void {
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

function intField(name: string, raw: string, quoted: boolean, column: number): number {
  const v = quoted ? NaN : Number(raw);
  if (!Number.isInteger(v)) throw new LineError(column, `${name} must be an integer; found \`${raw}\``);
  return v;
}

function buildEntity(layout: CollectionLayout, t: Tokens): AnyEntity {
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

/** Parses an integer at `i` (digits, optional `-`) that ends at a blank or `end`; returns [value, next] or undefined. */
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
let intEnd = 0;

/** What the fast path keeps while it reads one section's lines. */
interface FastState {
  /** Each field's value on the line being read, by field index (reused from line to line). */
  values: unknown[];
  /** Each field's last string value, reused while values repeat. */
  last: (string | undefined)[];
  /** Builds the entity from the values: one object literal of the collection's schema shape. */
  make: (key: string, values: readonly unknown[], version: number) => AnyEntity;
  /** The line's version (set by `fastEntity`). */
  version: number;
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

const KEY_AT = -1;
const VERSION_AT = -2;

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

function fastState(layout: CollectionLayout): FastState {
  const shape = Object.keys((COLLECTIONS[layout.collection].schema as unknown as { shape: Record<string, unknown> }).shape);
  const index = new Map(layout.fields.map((f, i) => [f.name, i]));
  // As `entityMaker`: the schema's order, unless it builds field by field.
  const plain = !shape.includes('__proto__') && shape.every((n) => n === 'key' || n === 'version' || index.has(n));
  const order = shape.map((n) => (n === 'key' ? KEY_AT : n === 'version' ? VERSION_AT : index.get(n)!));
  return {
    values: new Array<unknown>(layout.fields.length).fill(undefined),
    last: [],
    make: entityMaker(layout),
    version: 0,
    names: plain ? shape : undefined,
    order,
    row: new Array<unknown>(shape.length).fill(undefined),
  };
}

/**
 * The fast path for the common entity line: a bare key, fields in schema
 * order, bare or simple quoted values. Reads straight from the file text
 * without slicing field names or the line; enum values come back as the
 * schema's own strings. Returns undefined for anything else, and the general
 * path then parses the line (and reports its errors).
 */
function fastEntity(text: string, i: number, end: number, layout: CollectionLayout, fast: FastState): string | undefined {
  const last = fast.last;
  const ks = i;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 32) break;
    if (c === 34 || c === 61 || c === 35 || c === 9 || c === 13) return undefined;
  }
  if (i === ks) return undefined;
  // A slice of the text: the table keeps the key only when its fields do not spell it out, and copies it then (`add`).
  const key = text.slice(ks, i);
  const fields = layout.fields;
  const vals = fast.values;
  vals.fill(undefined);
  let version: number | undefined;
  let next = 0;
  while (i < end) {
    while (i < end && text.charCodeAt(i) === 32) i++;
    if (i >= end) break;
    const c = text.charCodeAt(i);
    if (c === 35 || (c === 13 && i === end - 1)) break;
    if (text.startsWith('version=', i)) {
      const v = readInt(text, i + 8, end);
      if (v === undefined || v < 0 || version !== undefined) return undefined;
      version = v;
      i = intEnd;
      continue;
    }
    let f: FieldInfo | undefined;
    for (let j = next; j < fields.length; j++) {
      const fj = fields[j]!;
      if (text.startsWith(fj.name, i) && text.charCodeAt(i + fj.name.length) === 61) {
        f = fj;
        next = j + 1;
        break;
      }
    }
    if (!f) return undefined;
    i += f.name.length + 1;
    if (f.nullable && text.startsWith('null', i) && (i + 4 === end || isBlank(text.charCodeAt(i + 4)))) {
      vals[next - 1] = null;
      i += 4;
      continue;
    }
    switch (f.type) {
      case 'number': {
        const v = readInt(text, i, end);
        if (v === undefined) return undefined;
        vals[next - 1] = v;
        i = intEnd;
        break;
      }
      case 'boolean':
        if (text.startsWith('true', i) && (i + 4 === end || isBlank(text.charCodeAt(i + 4)))) {
          vals[next - 1] = true;
          i += 4;
        } else if (text.startsWith('false', i) && (i + 5 === end || isBlank(text.charCodeAt(i + 5)))) {
          vals[next - 1] = false;
          i += 5;
        } else return undefined;
        break;
      case 'string': {
        if (f.optionList) {
          let found: string | undefined;
          for (const o of f.optionList) {
            if (text.startsWith(o, i) && (i + o.length === end || isBlank(text.charCodeAt(i + o.length)))) {
              found = o;
              break;
            }
          }
          if (found === undefined) return undefined;
          vals[next - 1] = found;
          i += found.length;
          break;
        }
        const q = text.charCodeAt(i);
        if (q === 34) {
          // A JSON string without escapes is its own text; one with a raw control character is not JSON.
          let close = i + 1;
          for (; close < end; close++) {
            const c = text.charCodeAt(close);
            if (c === 34) break;
            if (c === 92 || c < 32) return undefined;
          }
          if (close >= end) return undefined;
          vals[next - 1] = detach(text.slice(i + 1, close));
          i = close + 1;
          if (i < end && !isBlank(text.charCodeAt(i))) return undefined;
          break;
        }
        // `[` and `{` start a JSON value in the general path.
        if (q === 91 || q === 123) return undefined;
        // The column's last bare value again (values repeat line after line): that string, not a new one.
        const prev = last[next - 1];
        if (prev !== undefined && text.startsWith(prev, i) && (i + prev.length === end || isBlank(text.charCodeAt(i + prev.length)))) {
          vals[next - 1] = prev;
          i += prev.length;
          break;
        }
        const vs = i;
        while (i < end && !isBlank(text.charCodeAt(i))) i++;
        // Empty, or a bare `null` for a field that cannot be null (the general path reports them).
        if (i === vs || (i - vs === 4 && text.startsWith('null', vs))) return undefined;
        vals[next - 1] = last[next - 1] = detach(text.slice(vs, i));
        break;
      }
      default:
        return undefined;
    }
  }
  if (version === undefined) return undefined;
  let derived: Record<string, string | number> | undefined | null = null;
  for (let j = 0; j < fields.length; j++) {
    const f = fields[j]!;
    if (vals[j] !== undefined) continue;
    if (derived === null) derived = layout.keyParts?.parse(key);
    let d = derived?.[f.name];
    if (typeof d === 'string') {
      // A part of the key is a slice of it, which would keep the key alive: the column's last value if equal, else a copy.
      const prev = last[j];
      d = prev === d ? prev : (last[j] = detach(d));
    }
    if (d !== undefined) vals[j] = d;
    else if (f.nullable) vals[j] = null;
    else return undefined;
  }
  fast.version = version;
  return key;
}

const DEFAULT_STATUS: ClusterStatus = {
  clusterName: '',
  scenario: '',
  seed: 0,
  bugs: Object.fromEntries(SUBSYSTEMS.map((s) => [s, 'fixed'])) as ClusterStatus['bugs'],
  time: 0,
  seq: 0,
  controlPlaneEpoch: 0,
  counts: Object.fromEntries(COLLECTION_NAMES.map((c) => [c, 0])) as ClusterStatus['counts'],
  // Upstream defaults, used only when a file has no `config` line.
  config: { maxRunningProcedures: 128, maxRetryTimes: 3, etcdQuotaBytes: 2 * 1024 ** 3 },
};

interface StatusDraft {
  clusterName?: string;
  scenario?: string;
  seed?: number;
  time?: number;
  seq?: number;
  controlPlaneEpoch?: number;
  bugs: Record<string, string>;
  config: Record<string, number>;
  counts: Record<string, number>;
  /** `health` lines, per subsystem: its fields, and per collection named by `collection=` its fields. */
  health: Record<string, { fields: Record<string, string>; collections: Record<string, Record<string, string>> }>;
  line: number;
}

const CLUSTER_INTS = new Set(['seed', 'time', 'seq', 'controlPlaneEpoch']);

const CONFIG_FIELDS: ReadonlySet<string> = new Set(Object.keys(ClusterConfig.shape));

function readHeader(t: Tokens, s: StatusDraft): void {
  const onlyFields = () => {
    if (t.key !== undefined) throw new LineError(t.keyColumn, `\`${t.kind}\` takes only field=value`);
  };
  for (let i = 0; i < t.names.length || i === 0; i++) {
    if (t.kind === 'cluster' && i === 0) {
      if (t.key === undefined) throw new LineError(t.kindColumn, 'missing the cluster name after `cluster`');
      s.clusterName = detach(t.key);
    }
    if (i >= t.names.length) break;
    const [name, raw, quoted, col] = [t.names[i]!, t.values[i]!, t.quoted[i]!, t.columns[i]!];
    switch (t.kind) {
      case 'cluster':
        if (name === 'scenario') s.scenario = detach(raw);
        else if (CLUSTER_INTS.has(name)) (s as unknown as Record<string, number>)[name] = intField(name, raw, quoted, col);
        else throw new LineError(col, `unknown cluster field \`${name}\``);
        break;
      // Field names are user text: only known ones index a table (never `__proto__` and the like).
      case 'bugs':
        onlyFields();
        if (!SUBSYSTEM_NAMES.has(name))
          throw new LineError(col, `unknown bugs field \`${name}\`; expected a subsystem (${SUBSYSTEMS.join(', ')})`);
        s.bugs[name] = detach(raw);
        break;
      case 'config':
        onlyFields();
        if (!CONFIG_FIELDS.has(name)) throw new LineError(col, `unknown config field \`${name}\``);
        s.config[name] = intField(name, raw, quoted, col);
        break;
      case 'counts':
        onlyFields();
        if (!isCollectionName(name)) throw new LineError(col, `unknown collection \`${name}\` in counts`);
        s.counts[name] = intField(name, raw, quoted, col);
        break;
      case 'health':
        break; // whole line below
    }
  }
  if (t.kind === 'health') readHealth(t, s);
}

const HEALTH_FIELDS: ReadonlySet<string> = new Set(['state', 'reason', 'system', 'version', 'from', 'collection']);

/** `health <subsystem> state=… …` or `health <subsystem> collection=<c> state=… …` (see render's `healthLines`). */
function readHealth(t: Tokens, s: StatusDraft): void {
  if (t.key === undefined || !SUBSYSTEM_NAMES.has(t.key)) {
    throw new LineError(t.keyColumn ?? t.kindColumn, `\`health\` needs a subsystem (${SUBSYSTEMS.join(', ')})`);
  }
  const fields: Record<string, string> = {};
  t.names.forEach((name, i) => {
    if (!HEALTH_FIELDS.has(name)) throw new LineError(t.columns[i]!, `unknown health field \`${name}\``);
    fields[name] = detach(t.values[i]!);
  });
  const sub = (s.health[t.key] ??= { fields: {}, collections: {} });
  const collection = fields.collection;
  if (collection === undefined) sub.fields = fields;
  else {
    if (!isCollectionName(collection)) throw new LineError(t.kindColumn, `unknown collection \`${collection}\` in health`);
    delete fields.collection;
    sub.collections[collection] = fields;
  }
}

/** The `health` lines as `ClusterStatus.subsystems` (checked by its schema in `finishStatus`), or undefined for none. */
function subsystemsOf(s: StatusDraft): Record<string, unknown> | undefined {
  const entries = Object.entries(s.health);
  if (!entries.length) return undefined;
  return Object.fromEntries(
    entries.map(([subsystem, { fields, collections }]) => {
      const { system, version, from, ...rest } = fields;
      return [
        subsystem,
        {
          ...rest,
          ...(Object.keys(collections).length ? { collections } : {}),
          ...(system !== undefined || version !== undefined ? { version: { system, version, from: from ?? '' } } : {}),
        },
      ];
    }),
  );
}

type Report = (line: number, column: number, message: string) => void;

function finishStatus(s: StatusDraft, seen: boolean, model: ClusterModel['collections'], report: Report): ClusterStatus {
  // Counts a file leaves out are those of the entities it holds.
  const counts: Record<string, number> = {};
  for (const c of COLLECTION_NAMES) counts[c] = model[c].size;
  const draft = {
    clusterName: s.clusterName ?? DEFAULT_STATUS.clusterName,
    scenario: s.scenario ?? DEFAULT_STATUS.scenario,
    seed: s.seed ?? DEFAULT_STATUS.seed,
    bugs: { ...DEFAULT_STATUS.bugs, ...s.bugs },
    time: s.time ?? DEFAULT_STATUS.time,
    seq: s.seq ?? DEFAULT_STATUS.seq,
    controlPlaneEpoch: s.controlPlaneEpoch ?? DEFAULT_STATUS.controlPlaneEpoch,
    counts: { ...counts, ...s.counts },
    config: { ...DEFAULT_STATUS.config, ...s.config },
    ...(subsystemsOf(s) ? { subsystems: subsystemsOf(s) } : {}),
  };
  if (!seen) report(0, 0, 'missing the `cluster NAME scenario=… time=…` header line');
  const r = ClusterStatus.safeParse(draft);
  if (r.success) return r.data;
  for (const issue of r.error.issues.slice(0, 5)) {
    report(s.line, 0, `header: ${issue.path.join('.')}: ${issue.message}`);
  }
  return { ...DEFAULT_STATUS, clusterName: draft.clusterName, scenario: draft.scenario, time: draft.time, seq: draft.seq };
}

const SUBSYSTEM_NAMES = new Set<string>(SUBSYSTEMS);
const KIND_WORDS = new Set(Object.values(LAYOUTS).map((l) => l.kind));

/** Parses a `.clustersnap` file. Never throws: errors are returned, with whatever could be parsed. */
export function parseSnapshotDocument(text: string): ParsedSnapshot {
  return parseSnapshotWith(text, { fastPath: true }).parsed;
}

/**
 * How to parse; not part of the `analysis` API. The fast path is an
 * optimisation that must give what the general path gives: the property test
 * parses with and without it and compares.
 */
export interface ParseOptions {
  /** Try the fast path for entity lines before the general path. */
  fastPath: boolean;
}

/** `parseSnapshotDocument` with options, and how many entity lines the fast path read. */
export function parseSnapshotWith(text: string, options: ParseOptions): { parsed: ParsedSnapshot; fastLines: number } {
  const parser = new SnapshotParser(options);
  // The lines are what `text.split('\n')` gives, the last one too (empty after a final newline).
  const n = typeof text === 'string' ? text.length : 0;
  let start = 0;
  while (start <= n) {
    let end = n > 0 ? text.indexOf('\n', start) : -1;
    if (end < 0) end = n;
    if (n > 0) parser.lineIn(text, start, end);
    else parser.line('');
    start = end + 1;
  }
  return { parsed: parser.finish(), fastLines: parser.fastLines };
}

/**
 * Parses a `.clustersnap` file from a stream of chunks (strings, or UTF-8
 * bytes split anywhere, even inside a character): line by line, so the text
 * is never whole in memory. Gives exactly what `parseSnapshotDocument` gives
 * for the concatenated text. Rejects only if the stream itself fails.
 */
export async function parseSnapshotStream(
  chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: ParseOptions = { fastPath: true },
): Promise<ParsedSnapshot> {
  const parser = new SnapshotParser(options);
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  const feed = (text: string) => {
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end < 0) break;
      // The first line of a chunk may have begun in the previous one.
      if (start === 0 && rest) parser.line(rest + text.slice(0, end));
      else parser.lineIn(text, start, end);
      if (start === 0) rest = '';
      start = end + 1;
    }
    rest = start === 0 ? rest + text : text.slice(start);
  };
  for await (const chunk of chunks) {
    if (typeof chunk === 'string') feed(chunk);
    else for (let i = 0; i < chunk.length; i += 65536) feed(decoder.decode(chunk.subarray(i, i + 65536), { stream: true }));
  }
  feed(decoder.decode());
  parser.line(rest);
  return parser.finish();
}

/**
 * The parser, fed one line at a time (without its `\n`); `finish` gives the
 * result. `parseSnapshotWith` and `parseSnapshotStream` are both built on it,
 * so a file parses the same whichever way it is read.
 */
export class SnapshotParser {
  fastLines = 0;
  private readonly fastPath: boolean;
  private readonly errors: SnapshotSyntaxError[] = [];
  private readonly collections = emptyCollections();
  private readonly status: StatusDraft = { bugs: {}, config: {}, counts: {}, health: {}, line: 0 };
  private headerSeen = false;
  private anything = false;
  private readonly sections = new Map<string, number>();
  private readonly summarised: SummarisedGroup[] = [];
  /**
   * Per collection, the lines of its entities in file order, which is the order of its entities in
   * the model (each is added once, from its collection's one section): the keys are the model's,
   * not kept twice. Turned into an index only if lineOf is asked.
   */
  private readonly positions = new Map<CollectionName, EntityLines>();
  private readonly transitions: Transition[] = [];
  private timelineDropped = 0;
  private current: CollectionLayout | undefined;
  private currentPositions: EntityLines | undefined;
  /** The fast path's state for the current section. */
  private fast: FastState | undefined;
  /** The current section's collection. */
  private currentMap: EntityMap<AnyEntity> | undefined;
  private readonly t = new Tokens();
  private lineNo = 0;
  private readonly report: Report = (line, column, message) => {
    const errors = this.errors;
    // A message quoting the line would keep its text alive: copied out.
    if (errors.length < MAX_SYNTAX_ERRORS) errors.push({ line, column, message: detach(message) });
    else if (errors.length === MAX_SYNTAX_ERRORS) {
      errors.push({ line, column: 0, message: `more than ${MAX_SYNTAX_ERRORS} errors; the rest are not reported` });
    }
  };

  constructor(options: ParseOptions = { fastPath: true }) {
    this.fastPath = options.fastPath;
  }

  /** The next line of the file, without its `\n` (a `\r` before it is allowed). */
  line(line: string): void {
    this.lineIn(line, 0, line.length);
  }

  /**
   * The next line, `text[start…end)` (the `\n` at `end`, if any, not included): as `line(text.slice(start, end))`,
   * but a line the fast path takes is read in place, never cut out of the text.
   */
  lineIn(text: string, start: number, end: number): void {
    const current = this.current;
    if (this.fastPath && current) {
      const kindEnd = start + current.kind.length;
      if (kindEnd < end && text.charCodeAt(kindEnd) === 32 && text.startsWith(current.kind, start)) {
        // Never throws out of here: a line the fast path cannot take goes to the general path, which reports it.
        let key: string | undefined;
        const fast = this.fast!;
        try {
          key = fastEntity(text, kindEnd + 1, end, current, fast);
        } catch {
          key = undefined;
        }
        if (key !== undefined && this.add(key, fast)) {
          this.anything = true;
          this.currentPositions!.add(this.lineNo++);
          this.fastLines++;
          return;
        }
      }
    }
    this.general(start === 0 && end === text.length ? text : text.slice(start, end));
  }

  /**
   * The fast path's entity under `key` (values in `fast`) added to the section's collection: as a
   * row straight into an `EntityTable`, without an entity object in between. False if the key is
   * there already (the general path reports it).
   */
  private add(key: string, fast: FastState): boolean {
    const map = this.currentMap!;
    if (map instanceof EntityTable && fast.names) {
      const { order, row, values } = fast;
      for (let i = 0; i < order.length; i++) {
        const at = order[i]!;
        row[i] = at >= 0 ? values[at] : at === KEY_AT ? key : fast.version;
      }
      return map.appendRow((this.currentShape ??= map.shapeFor(fast.names)), key, row, detach);
    }
    if (map.has(key)) return false;
    const own = detach(key);
    map.set(own, fast.make(own, fast.values, fast.version));
    return true;
  }

  /** The current section's `EntityTable.shapeFor` its entities (made on its first entity). */
  private currentShape: number | undefined;

  /** A line the fast path did not take. */
  private general(line: string): void {
    if (line.startsWith(ANNOTATION_PREFIX)) {
      this.annotation(line.slice(ANNOTATION_PREFIX.length), this.lineNo++);
      return;
    }
    const lineNo = this.lineNo++;
    const current = this.current;
    const t = this.t;
    try {
      tokenize(line, t);
      if (t.section !== undefined) {
        this.anything = true;
        if (isCollectionName(t.section)) {
          // The registry's own name, not the line's text (kept as a Map key, a slice would keep the text alive).
          const c = LAYOUTS[t.section].collection;
          if (this.sections.has(c)) throw new LineError(1, `section [${c}] appears twice`);
          this.sections.set(c, lineNo);
          this.current = LAYOUTS[c];
          this.fast = fastState(this.current);
          this.currentMap = this.collections[c] as EntityMap<AnyEntity>;
          this.currentShape = undefined;
          // The entities the header counts (a hint: the table grows to it once 1/32 of it is read).
          const expected = this.status.counts[c];
          if (this.currentMap instanceof EntityTable && typeof expected === 'number') this.currentMap.reserve(expected);
          if (!this.positions.has(c)) this.positions.set(c, new EntityLines());
          this.currentPositions = this.positions.get(c);
        } else if (SUBSYSTEM_NAMES.has(t.section)) {
          this.current = undefined;
          this.currentPositions = undefined;
        } else {
          throw new LineError(1, `unknown section [${t.section}]; expected a subsystem (${SUBSYSTEMS.join(', ')}) or a collection`);
        }
      } else if (t.kind) {
        this.anything = true;
        if (current && t.kind === current.kind) {
          const e = buildEntity(current, t);
          const map = this.collections[current.collection] as Map<string, AnyEntity>;
          if (map.has(e.key)) throw new LineError(t.keyColumn, `duplicate key ${e.key} in [${current.collection}]`);
          map.set(e.key, e);
          this.currentPositions!.add(lineNo);
        } else if (t.kind === GROUP_KIND) {
          if (!current) throw new LineError(t.kindColumn, '`group` outside a [collection] section');
          if (t.key === undefined) throw new LineError(t.kindColumn, 'missing the group name after `group`');
          const i = t.names.indexOf('count');
          if (i < 0) throw new LineError(t.kindColumn, 'a group line needs count=N');
          const count = intField('count', t.values[i]!, t.quoted[i]!, t.columns[i]!);
          this.summarised.push({ collection: current.collection, group: detach(t.key), count, line: lineNo });
        } else if ((HEADER_KINDS as readonly string[]).includes(t.kind)) {
          if (t.kind === 'cluster') {
            if (this.headerSeen) throw new LineError(t.kindColumn, 'a second `cluster` header line');
            this.headerSeen = true;
            this.status.line = lineNo;
          }
          readHeader(t, this.status);
        } else if (current) {
          throw new LineError(t.kindColumn, `expected \`${current.kind}\` lines in [${current.collection}]; found \`${t.kind}\``);
        } else if (KIND_WORDS.has(t.kind)) {
          throw new LineError(t.kindColumn, `\`${t.kind}\` before any [collection] section header`);
        } else {
          throw new LineError(t.kindColumn, `unknown line kind \`${t.kind}\``);
        }
      }
    } catch (err) {
      if (err instanceof LineError) this.report(lineNo, err.column, err.message);
      else this.report(lineNo, 0, `cannot read this line: ${errorText(err)}`);
    }
  }

  /**
   * A `#@ ` line (its text after the prefix): the timeline's. A kind this reader does not know is
   * skipped, as an older reader skips them all, so that a newer file still reads.
   */
  private annotation(text: string, lineNo: number): void {
    const t = this.t;
    try {
      tokenize(text, t);
      const col = (c: number) => c + ANNOTATION_PREFIX.length;
      const field = (name: string) => {
        const i = t.names.indexOf(name);
        return i < 0 ? undefined : { raw: t.values[i]!, quoted: t.quoted[i]!, column: col(t.columns[i]!) };
      };
      const int = (name: string) => {
        const f = field(name);
        if (!f) throw new LineError(col(t.kindColumn), `a ${t.kind} line needs ${name}=`);
        return intField(name, f.raw, f.quoted, f.column);
      };
      if (t.kind === TIMELINE_KIND) {
        this.timelineDropped = field('dropped') ? int('dropped') : 0;
      } else if (t.kind === TRANSITION_KIND) {
        if (t.key === undefined) throw new LineError(col(t.kindColumn), 'missing the entity key after `transition`');
        const collection = field('collection')?.raw;
        const from = field('from');
        const to = field('to');
        const parsed = Transition.safeParse({
          seq: int('seq'),
          time: int('time'),
          collection,
          key: detach(t.key),
          from: from ? detach(from.raw) : null,
          to: to ? detach(to.raw) : null,
        });
        if (!parsed.success)
          throw new LineError(
            col(t.kindColumn),
            `transition: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          );
        this.transitions.push(parsed.data);
      }
    } catch (err) {
      if (err instanceof LineError) this.report(lineNo, err.column, err.message);
      else this.report(lineNo, 0, `cannot read this line: ${errorText(err)}`);
    }
  }

  /** The result, once every line was given. */
  finish(): ParsedSnapshot {
    const { anything, headerSeen, collections, errors, sections, positions, summarised } = this;
    const model: ClusterModel | null =
      anything || headerSeen ? { status: finishStatus(this.status, headerSeen, collections, this.report), collections } : null;
    if (!model) this.report(0, 0, 'not a cluster snapshot: no header, section or entity line');
    return {
      model,
      errors,
      summarised,
      index: fileIndex(model, sections, positions, summarised),
      timeline: this.transitions,
      timelineDropped: this.timelineDropped,
    };
  }
}

/**
 * The lines of a section's entities, in order, as runs of consecutive lines: a section's entity
 * lines follow one another (but for a comment or a bad line), so a few numbers stand for 760k lines.
 */
class EntityLines {
  length = 0;
  /** Per run: the index of its first entity, and that entity's line. */
  private readonly starts: number[] = [];
  private readonly firstLines: number[] = [];
  private lastLine = -2;

  add(line: number): void {
    if (line !== this.lastLine + 1) {
      this.starts.push(this.length);
      this.firstLines.push(line);
    }
    this.lastLine = line;
    this.length++;
  }

  /** The line of the `i`th entity (0 ≤ i < length). */
  at(i: number): number {
    const { starts } = this;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.firstLines[lo]! + (i - starts[lo]!);
  }
}

/**
 * lineOf for a parsed file, built on first use: exact lines for entities of
 * small groups, the first line of a group for huge ones (like the virtual
 * documents), so diagnostics for 760k shards sit on one line.
 */
function fileIndex(
  model: ClusterModel | null,
  sections: Map<string, number>,
  positions: Map<CollectionName, EntityLines>,
  summarised: SummarisedGroup[],
): DocumentIndex {
  const built = new Map<string, { entities: Map<string, number>; groups: Map<string, number> }>();
  const indexOf = (c: CollectionName) => {
    let ix = built.get(c);
    if (ix) return ix;
    ix = { entities: new Map(), groups: new Map() };
    for (const s of summarised) if (s.collection === c && !ix.groups.has(s.group)) ix.groups.set(s.group, s.line);
    const lines = positions.get(c);
    // The model's entities are the file's, in its order (unless the model was changed since: then no entity lines).
    if (lines && model && model.collections[c].size === lines.length) {
      const map = model.collections[c];
      const sizes = new Map<string, number>();
      const groupsInOrder: (string | undefined)[] = [];
      const keys: string[] = [];
      const next = groupIterator(c);
      for (const [k, e] of map) {
        const g = next(e);
        keys.push(k);
        groupsInOrder.push(g);
        if (g !== undefined) sizes.set(g, (sizes.get(g) ?? 0) + 1);
      }
      for (let i = 0; i < keys.length; i++) {
        const g = groupsInOrder[i];
        if (g !== undefined && sizes.get(g)! > GROUP_SUMMARY_THRESHOLD) {
          if (!ix.groups.has(g)) ix.groups.set(g, lines.at(i));
        } else ix.entities.set(keys[i]!, lines.at(i));
      }
    }
    built.set(c, ix);
    return ix;
  };
  return {
    sectionLine: (collection) => sections.get(collection),
    lineOf(collection, key) {
      if (!isCollectionName(collection)) return undefined;
      const c = collection;
      const ix = indexOf(c);
      const line = ix.entities.get(key);
      if (line !== undefined) return line;
      const e = model?.collections[c].get(key);
      const g = e && groupOf(c, e);
      return g === undefined ? undefined : ix.groups.get(g);
    },
  };
}

export function parseSnapshot(text: string): { model: ClusterModel | null; errors: SnapshotSyntaxError[] } {
  return parseSnapshotDocument(text);
}
