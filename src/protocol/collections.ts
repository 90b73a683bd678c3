/**
 * The collections a cluster exposes: one per component view. The registry is
 * the single place that ties a collection name to its entity schema and its
 * subsystem (tree view / virtual document).
 */
import { z } from 'zod';
import * as E from './entities';
import {
  APPENDS,
  CHANNEL_METAS,
  CONTROL_PLANE,
  ETCD,
  INGESTER,
  INGESTERS,
  METASTORE,
  PARTITIONS,
  PROCEDURES,
  REGIONS,
  SPU_REPORTS,
  SPUS,
  STREAMING_NODES,
  type Subsystem,
  WALS,
  WRITE_BATCHES,
} from './systems';

// The subsystems and their titles come from the systems' table (systems.ts); re-exported for the files that import them from here.
export { SUBSYSTEMS, Subsystem, SUBSYSTEM_TITLES } from './systems';

export const COLLECTIONS = {
  [METASTORE]: { subsystem: 'shards', component: 'metastore', schema: E.MetastoreShard },
  [CONTROL_PLANE]: { subsystem: 'shards', component: 'control plane', schema: E.ControlPlaneShard },
  [INGESTER]: { subsystem: 'shards', component: 'ingester', schema: E.IngesterShard },
  [INGESTERS]: { subsystem: 'shards', component: 'cluster membership', schema: E.Ingester },
  [STREAMING_NODES]: { subsystem: 'wal', component: 'kubernetes', schema: E.StreamingNode },
  [WALS]: { subsystem: 'wal', component: 'streaming node', schema: E.WalState },
  [APPENDS]: { subsystem: 'wal', component: 'streaming node', schema: E.InFlightAppend },
  [CHANNEL_METAS]: { subsystem: 'wal', component: 'streaming coordinator', schema: E.PChannelMeta },
  [PROCEDURES]: { subsystem: 'ddl', component: 'metasrv', schema: E.Procedure },
  [ETCD]: { subsystem: 'ddl', component: 'etcd', schema: E.EtcdPrefix },
  [REGIONS]: { subsystem: 'regions', component: 'region cache', schema: E.CachedRegion },
  [WRITE_BATCHES]: { subsystem: 'regions', component: 'write batch', schema: E.WriteBatch },
  [PARTITIONS]: { subsystem: 'partitions', component: 'SC', schema: E.ScPartition },
  [SPU_REPORTS]: { subsystem: 'partitions', component: 'SPU', schema: E.SpuReport },
  [SPUS]: { subsystem: 'partitions', component: 'SC', schema: E.Spu },
} as const satisfies Record<string, { subsystem: Subsystem; component: string; schema: z.ZodType }>;

export type CollectionName = keyof typeof COLLECTIONS;
export const COLLECTION_NAMES = Object.keys(COLLECTIONS) as CollectionName[];
export const CollectionName = z.enum(COLLECTION_NAMES as [CollectionName, ...CollectionName[]]);

/** The entity type held in collection `C`. */
export type EntityOf<C extends CollectionName> = z.infer<(typeof COLLECTIONS)[C]['schema']>;
export type AnyEntity = EntityOf<CollectionName>;

/**
 * Whether user text names a collection. Never `name in COLLECTIONS`: that is
 * also true for `constructor`, `toString` and `__proto__`.
 */
export function isCollectionName(name: string): name is CollectionName {
  return Object.prototype.hasOwnProperty.call(COLLECTIONS, name);
}

export function collectionsOf(subsystem: Subsystem): CollectionName[] {
  return COLLECTION_NAMES.filter((c) => COLLECTIONS[c].subsystem === subsystem);
}

// ----------------------------------------------------------------- keys --

/**
 * A key format: how a key spells out some of its entity's fields, both ways.
 * `parse(format(...x))` gives `x` back for every valid `x` (see each format
 * for what makes `x` valid: a part the format delimits cannot hold the
 * delimiter). Formatters are plain functions, safe to pass around
 * (`ids.map(KEYS.spu.format)`).
 */
export interface KeyFormat<Parts extends object, Args extends unknown[]> {
  /** The fields the key spells out, in the order `format` takes them. */
  readonly fields: readonly (keyof Parts & string)[];
  readonly format: (...args: Args) => string;
  /**
   * The fields a key spells out, or null if `key` is not in this format. Numbers are read as
   * `-?[0-9]+` in decimal (also with leading zeros, as snapshots written before have been read).
   */
  readonly parse: (key: string) => Parts | null;
  /** Whether `parse(key)` gives exactly `entity`'s values of `fields` (compared with `===`). Shard formats allocate nothing. */
  readonly matches: (key: string, entity: Readonly<Record<string, unknown>>) => boolean;
  /** `matches` with the fields given in `fields`' order (a row's values as a table stores them): no object per key. */
  readonly matchesParts: (key: string, parts: readonly unknown[]) => boolean;
  /**
   * Whether `key` is exactly `format(...parts)`, for `parts` that `matches` accepted once (a
   * stored entity's key fields, in `fields`' order): a key looked up against a stored one. Shard
   * formats allocate nothing.
   */
  readonly spells: (key: string, parts: readonly unknown[]) => boolean;
  /** True when a key is its fields, strings without `/`, joined by `/` (`parse` splits at each `/`). */
  readonly slashJoined?: true;
}

/** The decimal integer spanning exactly `[start, end)` of `key` (`-?[0-9]+`, or `[0-9]+` if not `signed`), or undefined. */
function intIn(key: string, start: number, end: number, signed: boolean): number | undefined {
  let i = start;
  if (signed && i < end && key.charCodeAt(i) === 45) i++;
  if (i >= end) return undefined;
  for (; i < end; i++) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(key.slice(start, end));
}

/** The end of the signed integer starting at `start` (the first non-digit after an optional `-`). */
function intEnd(key: string, start: number): number {
  let i = start;
  if (key.charCodeAt(i) === 45) i++;
  while (i < key.length) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  return i;
}

/**
 * `matches` from `parse`: field by field, and the key must be the fields' own spelling. `parse`
 * reads `node-007` as 7, but `node-007` is not what `format(7)` gives, so it does not match: a
 * store that keeps such a key only by its fields would give it back as `node-7`.
 */
function matchesByParse<Parts extends object>(
  fields: readonly string[],
  format: (...args: never) => string,
  parse: (key: string) => Parts | null,
) {
  const spell = format as (...args: unknown[]) => string;
  return (key: string, entity: Readonly<Record<string, unknown>>): boolean => {
    const parts = parse(key) as Record<string, unknown> | null;
    if (!parts) return false;
    for (const name in parts) if (entity[name] !== parts[name]) return false;
    return spell(...fields.map((f) => parts[f])) === key;
  };
}

/** `matchesParts` from `parse`, as `matchesByParse`. */
function matchesPartsByParse<Parts extends object>(
  fields: readonly string[],
  format: (...args: never) => string,
  parse: (key: string) => Parts | null,
) {
  const spell = format as (...args: unknown[]) => string;
  return (key: string, values: readonly unknown[]): boolean => {
    const parts = parse(key) as Record<string, unknown> | null;
    if (!parts) return false;
    for (let i = 0; i < fields.length; i++) if (values[i] !== parts[fields[i]!]) return false;
    return spell(...values) === key;
  };
}

/** `spells` from `format`: the key made again, and compared. */
function spellsByFormat(format: (...args: never) => string) {
  const spell = format as (...args: unknown[]) => string;
  return (key: string, parts: readonly unknown[]): boolean => spell(...parts) === key;
}

/** A key that is one string field, as is. */
function identityKey<F extends string>(field: F): KeyFormat<{ [K in F]: string }, [value: string]> {
  return {
    fields: [field],
    format: (value) => value,
    parse: (key) => ({ [field]: key }) as { [K in F]: string },
    matches: (key, entity) => entity[field] === key,
    matchesParts: (key, parts) => parts[0] === key,
    spells: (key, parts) => parts[0] === key,
  };
}

/** A key `PREFIX<int>`, e.g. `node-3`. */
function prefixedInt<F extends string>(prefix: string, field: F): KeyFormat<{ [K in F]: number }, [id: number]> {
  const parse = (key: string) => {
    if (!key.startsWith(prefix)) return null;
    const id = intIn(key, prefix.length, key.length, true);
    return id === undefined ? null : ({ [field]: id } as { [K in F]: number });
  };
  const format = (id: number) => `${prefix}${id}`;
  return {
    fields: [field],
    format,
    parse,
    matches: matchesByParse([field], format, parse),
    matchesParts: matchesPartsByParse([field], format, parse),
    spells: spellsByFormat(format),
  };
}

/** A string part of a `/`-joined key: a string without `/`. */
const isSlashFree = (v: unknown): v is string => typeof v === 'string' && v.indexOf('/') < 0;

/** Whether the first `n` of `p` are strings (a type guard for `isJoined`'s parts). */
function allStrings(p: readonly unknown[], n: 3): p is readonly [string, string, string];
function allStrings(p: readonly unknown[], n: 4): p is readonly [string, string, string, string];
function allStrings(p: readonly unknown[], n: number): boolean {
  for (let i = 0; i < n; i++) if (typeof p[i] !== 'string') return false;
  return true;
}

/** Whether none of the first `n` of `p` (strings) holds a `/`. */
function slashFree(p: readonly string[], n: number): boolean {
  for (let i = 0; i < n; i++) if (p[i]!.indexOf('/') >= 0) return false;
  return true;
}

/** Whether `key` is exactly `a/b`, without allocating. */
function isPair(key: string, a: string, b: string): boolean {
  return key.length === a.length + b.length + 1 && key.startsWith(a) && key.charCodeAt(a.length) === 47 && key.endsWith(b);
}

/** Whether `key` is exactly `a/b/c…` for `parts`, without allocating. */
function isJoined(key: string, a: string, b: string, c: string, d?: string): boolean {
  const n = a.length + b.length + c.length + (d === undefined ? 2 : d.length + 3);
  if (key.length !== n || !key.startsWith(a)) return false;
  let pos = a.length;
  if (key.charCodeAt(pos) !== 47 || !key.startsWith(b, pos + 1)) return false;
  pos += 1 + b.length;
  if (key.charCodeAt(pos) !== 47 || !key.startsWith(c, pos + 1)) return false;
  if (d === undefined) return true;
  pos += 1 + c.length;
  return key.charCodeAt(pos) === 47 && key.startsWith(d, pos + 1);
}

/**
 * `topic-partition` from `key[start..]`: the partition is the digits after the
 * last `-`, so a topic may hold `-` (and `/`).
 */
function topicPartitionAt(key: string, start: number): { topic: string; partition: number } | null {
  const dash = key.lastIndexOf('-');
  if (dash < start) return null;
  const partition = intIn(key, dash + 1, key.length, false);
  return partition === undefined ? null : { topic: key.slice(start, dash), partition };
}

const INGESTER_SHARD_FIELDS = ['ingesterId', 'indexUid', 'sourceId', 'shardId'] as const;

/**
 * Every key format, and the group keys that are key-like: one definition, so
 * that the simulator, the checks, the snapshot language and the views agree.
 * `COLLECTION_KEYS` says which format each collection's keys follow.
 */
export const KEYS = {
  /** `index/source/shard`; the parts hold no `/`. Matched once per shard when rendering 763k of them: no allocation. */
  shard: slashTriple('indexUid', 'sourceId', 'shardId'),
  /** `ingester/index/source/shard`; the parts hold no `/`. */
  ingesterShard: {
    fields: INGESTER_SHARD_FIELDS,
    slashJoined: true,
    format: (ingesterId: string, indexUid: string, sourceId: string, shardId: string) => `${ingesterId}/${indexUid}/${sourceId}/${shardId}`,
    parse: (key: string) => {
      const a = key.indexOf('/');
      const b = a < 0 ? -1 : key.indexOf('/', a + 1);
      const c = b < 0 ? -1 : key.indexOf('/', b + 1);
      if (c < 0 || key.indexOf('/', c + 1) >= 0) return null;
      return { ingesterId: key.slice(0, a), indexUid: key.slice(a + 1, b), sourceId: key.slice(b + 1, c), shardId: key.slice(c + 1) };
    },
    matches: (key: string, e: Readonly<Record<string, unknown>>) =>
      isSlashFree(e.ingesterId) &&
      isSlashFree(e.indexUid) &&
      isSlashFree(e.sourceId) &&
      isSlashFree(e.shardId) &&
      isJoined(key, e.ingesterId, e.indexUid, e.sourceId, e.shardId),
    matchesParts: (key: string, p: readonly unknown[]) => allStrings(p, 4) && slashFree(p, 4) && isJoined(key, p[0], p[1], p[2], p[3]),
    spells: (key: string, p: readonly unknown[]) => allStrings(p, 4) && isJoined(key, p[0], p[1], p[2], p[3]),
  },
  /** Group key of a source's shards: `index/source`; the parts hold no `/`. */
  shardSource: slashPair('indexUid', 'sourceId'),
  /** Group key of a source's shards on one ingester: `ingester/index/source`; the parts hold no `/`. */
  ingesterSource: slashTriple('ingesterId', 'indexUid', 'sourceId'),
  ingester: identityKey('nodeId'),
  /** `node-<serverId>`: a streaming node, and the group of its WALs and channel assignments. */
  node: prefixedInt('node-', 'serverId'),
  /** `node-<serverId>/<channel>`: a WAL, and the group of its appends. The channel may hold `/`. */
  wal: withParse(
    ['serverId', 'channel'] as const,
    (serverId: number, channel: string) => `node-${serverId}/${channel}`,
    (key) => {
      if (!key.startsWith('node-')) return null;
      const end = intEnd(key, 5);
      const serverId = key.charCodeAt(end) === 47 ? intIn(key, 5, end, true) : undefined;
      return serverId === undefined ? null : { serverId, channel: key.slice(end + 1) };
    },
  ),
  append: identityKey('appendId'),
  channelMeta: identityKey('channel'),
  procedure: identityKey('procedureId'),
  etcdPrefix: identityKey('prefix'),
  /** `store-<storeId>/region-<regionId>`. */
  region: withParse(
    ['storeId', 'regionId'] as const,
    (storeId: number, regionId: number) => `store-${storeId}/region-${regionId}`,
    (key) => {
      if (!key.startsWith('store-')) return null;
      const end = intEnd(key, 6);
      if (!key.startsWith('/region-', end)) return null;
      const storeId = intIn(key, 6, end, true);
      const regionId = intIn(key, end + 8, key.length, true);
      return storeId === undefined || regionId === undefined ? null : { storeId, regionId };
    },
  ),
  /** `store-<storeId>`: a store's write batch, and the group of the store's cached regions. */
  writeBatch: prefixedInt('store-', 'storeId'),
  /** `<topic>-<partition>`: the topic may hold `-` and `/` (the partition is after the last `-`). */
  partition: withParse(
    ['topic', 'partition'] as const,
    (topic: string, partition: number) => `${topic}-${partition}`,
    (key) => topicPartitionAt(key, 0),
  ),
  /** `spu-<spuId>/<topic>-<partition>`. */
  spuReport: withParse(
    ['spuId', 'topic', 'partition'] as const,
    (spuId: number, topic: string, partition: number) => `spu-${spuId}/${topic}-${partition}`,
    (key) => {
      if (!key.startsWith('spu-')) return null;
      const end = intEnd(key, 4);
      const spuId = key.charCodeAt(end) === 47 ? intIn(key, 4, end, true) : undefined;
      const tp = spuId === undefined ? null : topicPartitionAt(key, end + 1);
      return tp && { spuId: spuId!, topic: tp.topic, partition: tp.partition };
    },
  ),
  /** `spu-<spuId>`: an SPU, and the group of its reports. */
  spu: prefixedInt('spu-', 'spuId'),
} as const;

function withParse<const Names extends readonly string[], Args extends unknown[], Parts extends { [K in Names[number]]: unknown }>(
  fields: Names,
  format: (...args: Args) => string,
  parse: (key: string) => Parts | null,
): KeyFormat<Parts, Args> {
  return {
    fields: fields as unknown as readonly (keyof Parts & string)[],
    format,
    parse,
    matches: matchesByParse(fields, format, parse),
    matchesParts: matchesPartsByParse(fields, format, parse),
    spells: spellsByFormat(format),
  };
}

/** A key `a/b/c` of three string fields that hold no `/`. */
function slashTriple<A extends string, B extends string, C extends string>(
  a: A,
  b: B,
  c: C,
): KeyFormat<{ [K in A | B | C]: string }, [a: string, b: string, c: string]> {
  return {
    fields: [a, b, c],
    slashJoined: true,
    format: (x, y, z) => `${x}/${y}/${z}`,
    parse: (key) => {
      const i = key.indexOf('/');
      const j = i < 0 ? -1 : key.indexOf('/', i + 1);
      if (j < 0 || key.indexOf('/', j + 1) >= 0) return null;
      return { [a]: key.slice(0, i), [b]: key.slice(i + 1, j), [c]: key.slice(j + 1) } as { [K in A | B | C]: string };
    },
    matches: (key, e) => {
      const x = e[a];
      const y = e[b];
      const z = e[c];
      return isSlashFree(x) && isSlashFree(y) && isSlashFree(z) && isJoined(key, x, y, z);
    },
    matchesParts: (key, p) => allStrings(p, 3) && slashFree(p, 3) && isJoined(key, p[0], p[1], p[2]),
    spells: (key, p) => allStrings(p, 3) && isJoined(key, p[0], p[1], p[2]),
  };
}

function slashPair<A extends string, B extends string>(a: A, b: B): KeyFormat<{ [K in A | B]: string }, [a: string, b: string]> {
  return {
    fields: [a, b],
    slashJoined: true,
    format: (x, y) => `${x}/${y}`,
    parse: (key) => {
      const i = key.indexOf('/');
      if (i < 0 || key.indexOf('/', i + 1) >= 0) return null;
      return { [a]: key.slice(0, i), [b]: key.slice(i + 1) } as { [K in A | B]: string };
    },
    matches: (key, e) => {
      const x = e[a];
      const y = e[b];
      return isSlashFree(x) && isSlashFree(y) && isPair(key, x, y);
    },
    matchesParts: (key, p) => {
      const x = p[0];
      const y = p[1];
      return isSlashFree(x) && isSlashFree(y) && isPair(key, x, y);
    },
    spells: (key, p) => {
      const x = p[0];
      const y = p[1];
      return typeof x === 'string' && typeof y === 'string' && isPair(key, x, y);
    },
  };
}

/** The format of each collection's keys. Fields a key spells out are fields of the entity, of the same type. */
export const COLLECTION_KEYS: { readonly [C in CollectionName]: KeyFormat<Partial<EntityOf<C>>, never> } = {
  [METASTORE]: KEYS.shard,
  [CONTROL_PLANE]: KEYS.shard,
  [INGESTER]: KEYS.ingesterShard,
  [INGESTERS]: KEYS.ingester,
  [STREAMING_NODES]: KEYS.node,
  [WALS]: KEYS.wal,
  [APPENDS]: KEYS.append,
  [CHANNEL_METAS]: KEYS.channelMeta,
  [PROCEDURES]: KEYS.procedure,
  [ETCD]: KEYS.etcdPrefix,
  [REGIONS]: KEYS.region,
  [WRITE_BATCHES]: KEYS.writeBatch,
  [PARTITIONS]: KEYS.partition,
  [SPU_REPORTS]: KEYS.spuReport,
  [SPUS]: KEYS.spu,
};

/** Key builders: `keys.region(storeId, regionId)` is `KEYS.region.format(storeId, regionId)`. */
export const keys = {
  shard: KEYS.shard.format,
  ingesterShard: KEYS.ingesterShard.format,
  node: KEYS.node.format,
  wal: KEYS.wal.format,
  procedure: KEYS.procedure.format,
  region: KEYS.region.format,
  writeBatch: KEYS.writeBatch.format,
  partition: KEYS.partition.format,
  spuReport: KEYS.spuReport.format,
  spu: KEYS.spu.format,
} as const;
