/**
 * The collections a cluster exposes: one per component view. The registry is
 * the single place that ties a collection name to its entity schema and its
 * subsystem (tree view / virtual document).
 */
import { z } from 'zod';
import * as E from './entities';

export const SUBSYSTEMS = ['shards', 'wal', 'ddl', 'regions', 'partitions'] as const;
export const Subsystem = z.enum(SUBSYSTEMS);
export type Subsystem = z.infer<typeof Subsystem>;

export const SUBSYSTEM_TITLES: Record<Subsystem, string> = {
  shards: 'Shards',
  wal: 'WAL Nodes',
  ddl: 'DDL Tasks',
  regions: 'Regions',
  partitions: 'Partitions',
};

export const COLLECTIONS = {
  'quickwit.metastore.shards': { subsystem: 'shards', component: 'metastore', schema: E.MetastoreShard },
  'quickwit.controlPlane.shards': { subsystem: 'shards', component: 'control plane', schema: E.ControlPlaneShard },
  'quickwit.ingester.shards': { subsystem: 'shards', component: 'ingester', schema: E.IngesterShard },
  'quickwit.ingesters': { subsystem: 'shards', component: 'cluster membership', schema: E.Ingester },
  'milvus.nodes': { subsystem: 'wal', component: 'kubernetes', schema: E.StreamingNode },
  'milvus.wals': { subsystem: 'wal', component: 'streaming node', schema: E.WalState },
  'milvus.appends': { subsystem: 'wal', component: 'streaming node', schema: E.InFlightAppend },
  'milvus.channelMetas': { subsystem: 'wal', component: 'streaming coordinator', schema: E.PChannelMeta },
  'greptime.procedures': { subsystem: 'ddl', component: 'metasrv', schema: E.Procedure },
  'greptime.etcd': { subsystem: 'ddl', component: 'etcd', schema: E.EtcdPrefix },
  'tikv.regions': { subsystem: 'regions', component: 'region cache', schema: E.CachedRegion },
  'tikv.writeBatches': { subsystem: 'regions', component: 'write batch', schema: E.WriteBatch },
  'fluvio.partitions': { subsystem: 'partitions', component: 'SC', schema: E.ScPartition },
  'fluvio.spuReports': { subsystem: 'partitions', component: 'SPU', schema: E.SpuReport },
  'fluvio.spus': { subsystem: 'partitions', component: 'SC', schema: E.Spu },
} as const satisfies Record<string, { subsystem: Subsystem; component: string; schema: z.ZodType }>;

export type CollectionName = keyof typeof COLLECTIONS;
export const COLLECTION_NAMES = Object.keys(COLLECTIONS) as CollectionName[];
export const CollectionName = z.enum(COLLECTION_NAMES as [CollectionName, ...CollectionName[]]);

/** The entity type held in collection `C`. */
export type EntityOf<C extends CollectionName> = z.infer<(typeof COLLECTIONS)[C]['schema']>;
export type AnyEntity = EntityOf<CollectionName>;

export function collectionsOf(subsystem: Subsystem): CollectionName[] {
  return COLLECTION_NAMES.filter((c) => COLLECTIONS[c].subsystem === subsystem);
}

/** Entity keys, one definition so that the simulator, the checks and the views agree. */
export const keys = {
  shard: (indexUid: string, sourceId: string, shardId: string) => `${indexUid}/${sourceId}/${shardId}`,
  ingesterShard: (ingesterId: string, indexUid: string, sourceId: string, shardId: string) =>
    `${ingesterId}/${indexUid}/${sourceId}/${shardId}`,
  node: (serverId: number) => `node-${serverId}`,
  wal: (serverId: number, channel: string) => `node-${serverId}/${channel}`,
  procedure: (procedureId: string) => procedureId,
  region: (storeId: number, regionId: number) => `store-${storeId}/region-${regionId}`,
  writeBatch: (storeId: number) => `store-${storeId}`,
  partition: (topic: string, partition: number) => `${topic}-${partition}`,
  spuReport: (spuId: number, topic: string, partition: number) => `spu-${spuId}/${topic}-${partition}`,
  spu: (spuId: number) => `spu-${spuId}`,
} as const;
