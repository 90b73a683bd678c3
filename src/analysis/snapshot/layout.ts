/**
 * What the snapshot language knows about each collection: the entity kind
 * word, each field's type (read once from the protocol's zod schemas, so a new
 * field needs no change here), and which fields a key already spells out.
 */
import { COLLECTION_NAMES, COLLECTIONS, type CollectionName } from '../../protocol';

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
    case 'enum':
      return { name, type: 'string', nullable, options: new Set(s.options ?? []) };
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
  /** The fields a well-formed key spells out, parsed back from the key; undefined if the key does not parse. */
  keyParts?: (key: string) => Record<string, string | number> | undefined;
}

const int = (s: string): number | undefined => (/^-?\d+$/.test(s) ? Number(s) : undefined);

/** Splits `s` on `/` into exactly `n` parts without a regex (hot for 763k shard keys). */
function splitExactly(s: string, n: number): string[] | undefined {
  const parts = s.split('/');
  return parts.length === n ? parts : undefined;
}

/** Inverse of the protocol's `keys.*` builders. The renderer omits these fields only when they round-trip. */
const KEY_PARTS: { [C in CollectionName]?: (key: string) => Record<string, string | number> | undefined } = {
  'quickwit.metastore.shards': (k) => {
    const p = splitExactly(k, 3);
    return p && { indexUid: p[0], sourceId: p[1], shardId: p[2] };
  },
  'quickwit.controlPlane.shards': (k) => {
    const p = splitExactly(k, 3);
    return p && { indexUid: p[0], sourceId: p[1], shardId: p[2] };
  },
  'quickwit.ingester.shards': (k) => {
    const p = splitExactly(k, 4);
    return p && { ingesterId: p[0], indexUid: p[1], sourceId: p[2], shardId: p[3] };
  },
  'quickwit.ingesters': (k) => ({ nodeId: k }),
  'milvus.nodes': (k) => {
    const m = /^node-(-?\d+)$/.exec(k);
    return m ? { serverId: Number(m[1]) } : undefined;
  },
  'milvus.wals': (k) => {
    const m = /^node-(-?\d+)\/(.+)$/.exec(k);
    return m ? { serverId: Number(m[1]), channel: m[2]! } : undefined;
  },
  'milvus.appends': (k) => ({ appendId: k }),
  'milvus.channelMetas': (k) => ({ channel: k }),
  'greptime.procedures': (k) => ({ procedureId: k }),
  'greptime.etcd': (k) => ({ prefix: k }),
  'tikv.regions': (k) => {
    const m = /^store-(-?\d+)\/region-(-?\d+)$/.exec(k);
    return m ? { storeId: Number(m[1]), regionId: Number(m[2]) } : undefined;
  },
  'tikv.writeBatches': (k) => {
    const m = /^store-(-?\d+)$/.exec(k);
    return m ? { storeId: Number(m[1]) } : undefined;
  },
  'fluvio.partitions': (k) => {
    const m = /^(.+)-(\d+)$/.exec(k);
    return m ? { topic: m[1]!, partition: Number(m[2]) } : undefined;
  },
  'fluvio.spuReports': (k) => {
    const m = /^spu-(-?\d+)\/(.+)-(\d+)$/.exec(k);
    return m ? { spuId: Number(m[1]), topic: m[2]!, partition: Number(m[3]) } : undefined;
  },
  'fluvio.spus': (k) => {
    const id = int(k.startsWith('spu-') ? k.slice(4) : '');
    return id === undefined ? undefined : { spuId: id };
  },
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

/** A token that needs no quotes: no blank, quote, `#`, `=`, backslash or control character, and not a JSON opener or `null`. */
const BARE = /^[^\s"#=\\[{\x00-\x1f\x7f][^\s"#=\\\x00-\x1f\x7f]*$/;

/** A string as a token: bare when unambiguous, else a JSON string. */
export function encodeString(s: string): string {
  return BARE.test(s) && s !== 'null' ? s : JSON.stringify(s);
}

/** A field value as text, per its type. `null` is written only by callers that must (the renderer omits null fields). */
export function encodeValue(v: unknown, f: FieldInfo): string {
  if (v === null) return 'null';
  switch (f.type) {
    case 'string':
      return encodeString(String(v));
    case 'number':
    case 'boolean':
      return String(v);
    case 'json':
      return JSON.stringify(v);
  }
}
