/**
 * How entities of each collection are grouped. One definition shared by the
 * checks (a finding per group), the snapshot language (a summary line per huge
 * group), `lineOf` (which derives an entity's group from the entity, so no
 * key → line map over 760,000 entities is ever needed), and `cluster.summary`
 * (a cluster's counts per group and state, which the views show before the
 * entities arrive).
 */
import { KEYS, type AnyEntity, type CollectionName, type EntityOf } from './collections';

type GroupFn<C extends CollectionName> = (e: EntityOf<C>) => string;

/** The group of a shard: its (index, source), `KEYS.shardSource`. */
export const shardGroup: (indexUid: string, sourceId: string) => string = KEYS.shardSource.format;

const GROUPS: { [C in CollectionName]?: GroupFn<C> } = {
  'quickwit.metastore.shards': (e) => shardGroup(e.indexUid, e.sourceId),
  'quickwit.controlPlane.shards': (e) => shardGroup(e.indexUid, e.sourceId),
  'quickwit.ingester.shards': (e) => KEYS.ingesterSource.format(e.ingesterId, e.indexUid, e.sourceId),
  // A node's WALs and assignments group under the node's key, a WAL's appends under the WAL's, and so on.
  'milvus.wals': (e) => KEYS.node.format(e.serverId),
  'milvus.appends': (e) => KEYS.wal.format(e.serverId, e.channel),
  'milvus.channelMetas': (e) => KEYS.node.format(e.node),
  'greptime.procedures': (e) => e.table,
  'tikv.regions': (e) => KEYS.writeBatch.format(e.storeId),
  'fluvio.partitions': (e) => e.topic,
  'fluvio.spuReports': (e) => KEYS.spu.format(e.spuId),
};

/** The group an entity belongs to in its collection, or undefined for collections that are never grouped. */
export function groupOf(collection: CollectionName, entity: AnyEntity): string | undefined {
  const fn = GROUPS[collection] as ((e: AnyEntity) => string) | undefined;
  return fn?.(entity);
}

/** The fields a collection's group is made of (the group function reads nothing else). */
const GROUP_FIELDS: { [C in CollectionName]?: readonly string[] } = {
  'quickwit.metastore.shards': ['indexUid', 'sourceId'],
  'quickwit.controlPlane.shards': ['indexUid', 'sourceId'],
  'quickwit.ingester.shards': ['ingesterId', 'indexUid', 'sourceId'],
  'milvus.wals': ['serverId'],
  'milvus.appends': ['serverId', 'channel'],
  'milvus.channelMetas': ['node'],
  'greptime.procedures': ['table'],
  'tikv.regions': ['storeId'],
  'fluvio.partitions': ['topic'],
  'fluvio.spuReports': ['spuId'],
};

/**
 * `groupOf` for a pass over a whole collection: consecutive entities usually
 * share their group, so the last group string is reused instead of built and
 * hashed again (763k shards, one source).
 */
export function groupIterator(collection: CollectionName): (entity: AnyEntity) => string | undefined {
  const fields = GROUP_FIELDS[collection];
  if (!fields) return () => undefined;
  let last: Record<string, unknown> | undefined;
  let lastGroup: string | undefined;
  return (entity) => {
    const e = entity as unknown as Record<string, unknown>;
    if (last) {
      let same = true;
      for (let i = 0; i < fields.length && same; i++) same = last[fields[i]!] === e[fields[i]!];
      if (same) return lastGroup;
    }
    last = e;
    lastGroup = groupOf(collection, entity);
    return lastGroup;
  };
}

export function isGrouped(collection: CollectionName): boolean {
  return GROUPS[collection] !== undefined;
}

/** The field that says what state an entity is in, for per-state counts on group lines and in messages. */
export const STATE_FIELD: { [C in CollectionName]?: keyof EntityOf<C> & string } = {
  'quickwit.metastore.shards': 'shardState',
  'quickwit.controlPlane.shards': 'shardState',
  'quickwit.ingester.shards': 'shardState',
  'quickwit.ingesters': 'status',
  'milvus.nodes': 'lifecycle',
  'milvus.appends': 'phase',
  'milvus.channelMetas': 'state',
  'greptime.procedures': 'status',
  'tikv.regions': 'state',
  'fluvio.partitions': 'resolution',
  'fluvio.spus': 'status',
};

/** The value of an entity's state field, or undefined. */
export function stateOf(collection: CollectionName, entity: AnyEntity): string | undefined {
  const field = STATE_FIELD[collection];
  if (!field) return undefined;
  const v = (entity as unknown as Record<string, unknown>)[field];
  return typeof v === 'string' ? v : undefined;
}
