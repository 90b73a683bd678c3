/**
 * What the snapshot language knows about each collection: the entity kind
 * word, each field's type (read once from the protocol's zod schemas, so a new
 * field needs no change here), and which fields a key already spells out.
 */
import { COLLECTION_KEYS, COLLECTION_NAMES, COLLECTIONS, type CollectionName } from '../../protocol';

/**
 * A token that needs no quotes: not empty, no blank (what a regex's `\s` matches), quote, `#`, `=`,
 * backslash or control character, not starting with a JSON opener (`[`, `{`), and not `null`.
 * A scan of character codes, not a regex: it runs for every key and string value of a snapshot.
 */
export function isBare(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  const first = s.charCodeAt(0);
  if (first === 91 || first === 123) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x7f) {
      // Control characters and the space, `"`, `#`, `=`, `\`.
      if (c <= 32 || c === 34 || c === 35 || c === 61 || c === 92) return false;
    } else if (c === 0x7f || (c < 0xa1 ? c === 0xa0 : isUnicodeBlank(c))) return false;
  }
  return n !== 4 || s !== 'null';
}

/** The characters above U+00A0 that a regex's `\s` matches. */
function isUnicodeBlank(c: number): boolean {
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** A string as a token: bare when unambiguous, else a JSON string. */
export function encodeString(s: string): string {
  return isBare(s) ? s : JSON.stringify(s);
}

export const ENTITY_KINDS: Record<CollectionName, string> = {
  'quickwit.metastore.shards': 'shard',
  'quickwit.controlPlane.shards': 'shard',
  'quickwit.ingester.shards': 'shard',
  'quickwit.ingesters': 'ingester',
  'milvus.nodes': 'node',
  'milvus.wals': 'wal',
  'milvus.appends': 'append',
  'milvus.channelMetas': 'pchannel',
  'greptime.procedures': 'procedure',
  'greptime.etcd': 'prefix',
  'tikv.regions': 'region',
  'tikv.writeBatches': 'batch',
  'fluvio.partitions': 'partition',
  'fluvio.spuReports': 'report',
  'fluvio.spus': 'spu',
};

/** Header line kinds; never entity kinds, so a line's first word says what it is. */
export const HEADER_KINDS = ['cluster', 'bugs', 'config', 'counts', 'health'] as const;
export const GROUP_KIND = 'group';

/**
 * Lines that start with this are the file's annotations: `#@ timeline …` and one `#@ transition …`
 * per recorded state transition. To a reader that predates them they are comments, so an older
 * reader still reads a newer file (without its timeline), and a file without them has none.
 */
export const ANNOTATION_PREFIX = '#@ ';
export const TIMELINE_KIND = 'timeline';
export const TRANSITION_KIND = 'transition';

export type FieldType = 'string' | 'number' | 'boolean' | 'json';

export interface FieldInfo {
  name: string;
  type: FieldType;
  nullable: boolean;
  /** Allowed values of an enum field. */
  options?: ReadonlySet<string>;
  /** Every value is a bare word (enums): written without the quoting test. */
  bare?: boolean;
  /** The enum's values, longest first, so that a prefix never shadows a longer value when matching text. */
  optionList?: readonly string[];
  /** For `json` fields: validates the parsed value. */
  validate?: (v: unknown) => string | undefined;
}

interface ZodLike {
  def: { type: string; innerType?: ZodLike };
  options?: readonly string[];
  safeParse(v: unknown): { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } };
}

function fieldInfo(name: string, schema: ZodLike): FieldInfo {
  let s = schema;
  let nullable = false;
  if (s.def.type === 'nullable' && s.def.innerType) {
    nullable = true;
    s = s.def.innerType;
  }
  switch (s.def.type) {
    case 'string':
      return { name, type: 'string', nullable };
    case 'enum': {
      const options = s.options ?? [];
      return {
        name,
        type: 'string',
        nullable,
        options: new Set(options),
        optionList: [...options].sort((a, b) => b.length - a.length),
        bare: options.every((o) => isBare(o)),
      };
    }
    case 'number':
      return { name, type: 'number', nullable };
    case 'boolean':
      return { name, type: 'boolean', nullable };
    default: {
      const inner = s;
      return {
        name,
        type: 'json',
        nullable,
        validate: (v) => {
          const r = inner.safeParse(v);
          if (r.success) return undefined;
          const issue = r.error?.issues[0];
          return issue ? `${issue.path.length ? issue.path.join('.') + ': ' : ''}${issue.message}` : 'invalid value';
        },
      };
    }
  }
}

export interface CollectionLayout {
  collection: CollectionName;
  kind: string;
  /** Fields other than `key` and `version`, in schema order. */
  fields: FieldInfo[];
  byName: Map<string, FieldInfo>;
  /** The fields a well-formed key spells out. */
  keyParts: KeyParts;
}

/** A collection's key format (`COLLECTION_KEYS`), as the renderer and the parser use it. The renderer omits these fields only when `matches`, so they round-trip. */
export interface KeyParts {
  /** The fields the key spells out. */
  names: ReadonlySet<string>;
  /** The fields the key spells out, or undefined if it does not parse. */
  parse(key: string): Record<string, string | number> | undefined;
  /** Whether the entity's fields are exactly what `parse(entity.key)` gives. */
  matches(key: string, entity: Record<string, unknown>): boolean;
}

function keyPartsOf(collection: CollectionName): KeyParts {
  const format = COLLECTION_KEYS[collection];
  return {
    names: new Set(format.fields),
    parse: (key) => (format.parse(key) as Record<string, string | number> | null) ?? undefined,
    matches: format.matches,
  };
}

function layoutOf(collection: CollectionName): CollectionLayout {
  const shape = (COLLECTIONS[collection].schema as unknown as { shape: Record<string, ZodLike> }).shape;
  const fields = Object.entries(shape)
    .filter(([name]) => name !== 'key' && name !== 'version')
    .map(([name, s]) => fieldInfo(name, s));
  return {
    collection,
    kind: ENTITY_KINDS[collection],
    fields,
    byName: new Map(fields.map((f) => [f.name, f])),
    keyParts: keyPartsOf(collection),
  };
}

export const LAYOUTS = Object.fromEntries(COLLECTION_NAMES.map((c) => [c, layoutOf(c)])) as Record<CollectionName, CollectionLayout>;

/** A field value as text, per its type. `null` is written only by callers that must (the renderer omits null fields). */
export function encodeValue(v: unknown, f: FieldInfo): string {
  if (v === null) return 'null';
  switch (f.type) {
    case 'string':
      return f.bare ? String(v) : encodeString(String(v));
    case 'number':
    case 'boolean':
      return String(v);
    case 'json':
      return JSON.stringify(v);
  }
}
