/**
 * What the snapshot language knows about each collection: the entity kind
 * word, each field's type (read once from the protocol's zod schemas, so a new
 * field needs no change here), and which fields a key already spells out.
 */
import { COLLECTION_NAMES, COLLECTIONS, type CollectionName } from '../../protocol';
import { isJoinedKey } from '../shard-key';

/** A token that needs no quotes: no blank, quote, `#`, `=`, backslash or control character, and not a JSON opener or `null`. */
// eslint-disable-next-line no-control-regex -- control characters are what this must match (they force quotes)
const BARE = /^[^\s"#=\\[{\x00-\x1f\x7f][^\s"#=\\\x00-\x1f\x7f]*$/;

export function isBare(s: string): boolean {
  return BARE.test(s) && s !== 'null';
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
export const HEADER_KINDS = ['cluster', 'bugs', 'config', 'counts'] as const;
export const GROUP_KIND = 'group';

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
  keyParts?: KeyParts;
}

/** The inverse of a protocol `keys.*` builder. The renderer omits these fields only when `matches`, so they round-trip. */
export interface KeyParts {
  /** The fields the key spells out. */
  names: ReadonlySet<string>;
  /** The fields the key spells out, or undefined if it does not parse. */
  parse(key: string): Record<string, string | number> | undefined;
  /** Whether the entity's fields are exactly what `parse(entity.key)` gives. */
  matches(key: string, entity: Record<string, unknown>): boolean;
}

/** KeyParts from a parse function: `matches` compares field by field. */
function fromParse(names: readonly string[], parse: KeyParts['parse']): KeyParts {
  return {
    names: new Set(names),
    parse,
    matches(key, e) {
      const parts = parse(key);
      if (!parts) return false;
      for (const name in parts) if (e[name] !== parts[name]) return false;
      return true;
    },
  };
}

/**
 * Slash-separated string fields (shard keys). `matches` allocates nothing:
 * it runs once per shard when rendering 763k of them.
 */
function slashParts(names: readonly string[]): KeyParts {
  return {
    names: new Set(names),
    parse(key) {
      const p = key.split('/');
      if (p.length !== names.length) return undefined;
      const out: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) out[names[i]!] = p[i]!;
      return out;
    },
    matches(key, e) {
      const values: string[] = [];
      for (const n of names) {
        const v = e[n];
        // A part holding `/` would not split back into the same fields.
        if (typeof v !== 'string' || v.indexOf('/') >= 0) return false;
        values.push(v);
      }
      return isJoinedKey(key, values);
    },
  };
}

const SHARD_PARTS = slashParts(['indexUid', 'sourceId', 'shardId']);

const KEY_PARTS: { [C in CollectionName]?: KeyParts } = {
  'quickwit.metastore.shards': SHARD_PARTS,
  'quickwit.controlPlane.shards': SHARD_PARTS,
  'quickwit.ingester.shards': slashParts(['ingesterId', 'indexUid', 'sourceId', 'shardId']),
  'quickwit.ingesters': fromParse(['nodeId'], (k) => ({ nodeId: k })),
  'milvus.nodes': fromParse(['serverId'], (k) => {
    const m = /^node-(-?\d+)$/.exec(k);
    return m ? { serverId: Number(m[1]) } : undefined;
  }),
  'milvus.wals': fromParse(['serverId', 'channel'], (k) => {
    const m = /^node-(-?\d+)\/(.+)$/.exec(k);
    return m ? { serverId: Number(m[1]), channel: m[2]! } : undefined;
  }),
  'milvus.appends': fromParse(['appendId'], (k) => ({ appendId: k })),
  'milvus.channelMetas': fromParse(['channel'], (k) => ({ channel: k })),
  'greptime.procedures': fromParse(['procedureId'], (k) => ({ procedureId: k })),
  'greptime.etcd': fromParse(['prefix'], (k) => ({ prefix: k })),
  'tikv.regions': fromParse(['storeId', 'regionId'], (k) => {
    const m = /^store-(-?\d+)\/region-(-?\d+)$/.exec(k);
    return m ? { storeId: Number(m[1]), regionId: Number(m[2]) } : undefined;
  }),
  'tikv.writeBatches': fromParse(['storeId'], (k) => {
    const m = /^store-(-?\d+)$/.exec(k);
    return m ? { storeId: Number(m[1]) } : undefined;
  }),
  'fluvio.partitions': fromParse(['topic', 'partition'], (k) => {
    const m = /^(.+)-(\d+)$/.exec(k);
    return m ? { topic: m[1]!, partition: Number(m[2]) } : undefined;
  }),
  'fluvio.spuReports': fromParse(['spuId', 'topic', 'partition'], (k) => {
    const m = /^spu-(-?\d+)\/(.+)-(\d+)$/.exec(k);
    return m ? { spuId: Number(m[1]), topic: m[2]!, partition: Number(m[3]) } : undefined;
  }),
  'fluvio.spus': fromParse(['spuId'], (k) => {
    const m = /^spu-(-?\d+)$/.exec(k);
    return m ? { spuId: Number(m[1]) } : undefined;
  }),
};

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
    keyParts: KEY_PARTS[collection],
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
