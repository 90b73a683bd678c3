/**
 * Entities, one schema per *component view*. The inconsistencies this tool
 * exists for are disagreements between components, so the protocol never
 * merges two components' views of the same thing into one record.
 *
 * Every entity carries `key` (unique within its collection, stable) and
 * `version` (bumped on every change to that entity). Repairs name the version
 * they were planned from; the cluster refuses them if it moved on.
 *
 * State names follow the real systems (see docs/model.md).
 */
import { z } from 'zod';

const base = {
  key: z.string().min(1),
  version: z.number().int().nonnegative(),
};

/**
 * A cluster's time, in whole seconds: on the simulator, logical seconds on its own clock; on a
 * cluster-gateway, wall-clock seconds since the Unix epoch (`isWallClock`). Shown with `formatClusterTime`.
 */
export const LogicalTime = z.number().int().nonnegative();

// ---------------------------------------------------------------- Quickwit --

/** quickwit-proto `ShardState`, JSON lower-case as upstream serialises it. */
export const ShardState = z.enum(['unspecified', 'open', 'unavailable', 'closed']);
export type ShardState = z.infer<typeof ShardState>;

/** 9999-12-31T23:59:59Z in seconds since the Unix epoch: the latest time a timestamp here stands for. */
const MAX_UNIX_SECONDS = 253_402_300_799;

/** A row of the metastore's durable `shards` table. */
export const MetastoreShard = z.object({
  ...base,
  indexUid: z.string(),
  sourceId: z.string(),
  shardId: z.string(),
  leaderId: z.string(),
  followerId: z.string().nullable(),
  docMappingUid: z.string(),
  shardState: ShardState,
  /** `""` (beginning) or an offset such as `"~00000000000000000042"`, or `"~eof"`. */
  publishPositionInclusive: z.string(),
  publishToken: z.string().nullable(),
  createdAt: LogicalTime,
  /**
   * The row's `update_timestamp` (migration 21), in seconds since the Unix epoch: the metastore sets
   * it when it opens, acquires, closes or publishes the shard, and `prune_shards` deletes by it.
   * Null where it is not stored (a schema before migration 21) or not known (the simulator).
   */
  updateTimestamp: z.number().int().nonnegative().max(MAX_UNIX_SECONDS).nullable(),
});
export type MetastoreShard = z.infer<typeof MetastoreShard>;

/** The control plane's in-memory model of a shard (mirrors the metastore when quiet). */
export const ControlPlaneShard = z.object({
  ...base,
  indexUid: z.string(),
  sourceId: z.string(),
  shardId: z.string(),
  leaderId: z.string(),
  shardState: ShardState,
});
export type ControlPlaneShard = z.infer<typeof ControlPlaneShard>;

/** A shard as one ingester holds it: its log, with a replication position. */
export const IngesterShard = z.object({
  ...base,
  ingesterId: z.string(),
  indexUid: z.string(),
  sourceId: z.string(),
  shardId: z.string(),
  shardState: ShardState,
  replicationPositionInclusive: z.string(),
});
export type IngesterShard = z.infer<typeof IngesterShard>;

export const Ingester = z.object({
  ...base,
  nodeId: z.string(),
  /** quickwit-proto `IngesterStatus`, as `as_json_str_name` writes it (every value upstream has). */
  status: z.enum(['unspecified', 'initializing', 'ready', 'retiring', 'decommissioning', 'decommissioned', 'failed']),
});
export type Ingester = z.infer<typeof Ingester>;

// ------------------------------------------------------------------ Milvus --

export const NodeLifecycle = z.enum(['Running', 'Terminating', 'Stopped']);
export type NodeLifecycle = z.infer<typeof NodeLifecycle>;

/** A StreamingNode as Kubernetes and the node itself see it. */
export const StreamingNode = z.object({
  ...base,
  serverId: z.number().int(),
  address: z.string(),
  /** Build the node runs, e.g. `master-20250410`. */
  build: z.string(),
  lifecycle: NodeLifecycle,
  /** When the stop was requested (pod deletion), or null. */
  stopRequestedAt: LogicalTime.nullable(),
  gracePeriodSeconds: z.number().int().positive(),
});
export type StreamingNode = z.infer<typeof StreamingNode>;

export const PChannelAccessMode = z.enum(['PCHANNEL_ACCESS_READWRITE', 'PCHANNEL_ACCESS_READONLY']);

/** The node's own view of one physical channel's WAL: `(term, available)` plus its close/recovery state. */
export const WalState = z.object({
  ...base,
  serverId: z.number().int(),
  channel: z.string(),
  term: z.number().int().nonnegative(),
  available: z.boolean(),
  accessMode: PChannelAccessMode,
  /**
   * Interceptors not ready yet: recovery in progress. Null: not observable where it was read (a WAL's
   * recovery lives in the streaming node's memory; a real cluster's etcd does not hold it).
   */
  recovering: z.boolean().nullable(),
  /**
   * `Close` was called (the node was asked to stop, or the coordinator asked it to remove the WAL
   * and has not confirmed it) and has not finished.
   */
  closing: z.boolean(),
  /** Appends registered in flight. Null: not observable where it was read (the node's memory). */
  inFlightAppends: z.number().int().nonnegative().nullable(),
});
export type WalState = z.infer<typeof WalState>;

/** An append registered in-flight on a WAL and not yet finished. */
export const InFlightAppend = z.object({
  ...base,
  appendId: z.string(),
  serverId: z.number().int(),
  channel: z.string(),
  term: z.number().int().nonnegative(),
  startedAt: LogicalTime,
  /** `waiting-recovery`: blocked until the interceptors are ready. */
  phase: z.enum(['waiting-recovery', 'writing']),
});
export type InFlightAppend = z.infer<typeof InFlightAppend>;

export const PChannelMetaState = z.enum([
  /** Upstream: "should never used"; also where a record carries a state number this version does not name. */
  'PCHANNEL_META_STATE_UNKNOWN',
  'PCHANNEL_META_STATE_UNINITIALIZED',
  'PCHANNEL_META_STATE_ASSIGNING',
  'PCHANNEL_META_STATE_ASSIGNED',
  'PCHANNEL_META_STATE_UNAVAILABLE',
  /** master (WAL replicas): a replica being released. */
  'PCHANNEL_META_STATE_DROPPING',
]);

/** The streaming coordinator's assignment of a channel (`PChannelMeta`). */
export const PChannelMeta = z.object({
  ...base,
  channel: z.string(),
  node: z.number().int(),
  term: z.number().int().nonnegative(),
  state: PChannelMetaState,
  lastAssignTimestampSeconds: LogicalTime,
});
export type PChannelMeta = z.infer<typeof PChannelMeta>;

// -------------------------------------------------------------- GreptimeDB --

export const ProcedureStatus = z.enum(['Running', 'Done', 'Retrying', 'Failed', 'PrepareRollback', 'RollingBack', 'Poisoned']);
export type ProcedureStatus = z.infer<typeof ProcedureStatus>;
/** Statuses that count against `max_running_procedures`. */
export const UNFINISHED_PROCEDURE_STATUSES: readonly ProcedureStatus[] = ['Running', 'Retrying', 'PrepareRollback', 'RollingBack'];

/** A metasrv procedure as `INFORMATION_SCHEMA.PROCEDURE_INFO` shows it. */
export const Procedure = z.object({
  ...base,
  procedureId: z.string(),
  typeName: z.string(),
  status: ProcedureStatus,
  startTime: LogicalTime,
  endTime: LogicalTime.nullable(),
  lockKeys: z.array(z.string()),
  /** The table the procedure is for (`catalog.schema.table`), from its lock keys. */
  table: z.string(),
  retries: z.number().int().nonnegative(),
  error: z.string().nullable(),
  /**
   * Whether metasrv can roll this procedure back (its `rollback_supported()`): CreateTable and
   * CreateLogicalTables cannot, DropTable only past Prepare with `allow_rollback`. Null: not known
   * (a type the reader does not decode; the simulator models every procedure as one that rolls back).
   */
  rollbackSupported: z.boolean().nullable(),
});
export type Procedure = z.infer<typeof Procedure>;

/** One prefix of the etcd keyspace as etcd itself reports it. */
export const EtcdPrefix = z.object({
  ...base,
  prefix: z.string(),
  keyCount: z.number().int().nonnegative(),
  sizeBytes: z.number().int().nonnegative(),
});
export type EtcdPrefix = z.infer<typeof EtcdPrefix>;

// -------------------------------------------------------------------- TiKV --

export const RegionState = z.enum(['Pending', 'Loading', 'Active', 'LoadingCanceled', 'PendingEvict', 'Evicting']);
export type RegionState = z.infer<typeof RegionState>;

/** A region meta in a store's in-memory engine region cache. */
export const CachedRegion = z.object({
  ...base,
  storeId: z.number().int(),
  regionId: z.number().int(),
  epochVersion: z.number().int().nonnegative(),
  start: z.string(),
  end: z.string(),
  state: RegionState,
  safePoint: z.number().int().nonnegative(),
  inGc: z.boolean(),
  /** `is_written`: marked prepared for write by the write batch. */
  isWritten: z.boolean(),
  evictInfo: z.string().nullable(),
});
export type CachedRegion = z.infer<typeof CachedRegion>;

/** A store's `RegionCacheWriteBatch`. */
export const WriteBatch = z.object({
  ...base,
  storeId: z.number().int(),
  currentRegion: z.number().int().nullable(),
  writtenRegions: z.array(z.number().int()),
  regionCacheStatus: z.enum(['Cached', 'NotCached', 'Loading']),
  sequenceNumber: z.number().int().nonnegative(),
  /** The apply loop is between batches (after commit, before the next prepare). */
  atCommitBoundary: z.boolean(),
});
export type WriteBatch = z.infer<typeof WriteBatch>;

// ------------------------------------------------------------------ Fluvio --

export const PartitionResolution = z.enum(['Offline', 'Online', 'LeaderOffline', 'ElectionLeaderFound', 'OutOfStorage']);
export type PartitionResolution = z.infer<typeof PartitionResolution>;

/** The SC's `PartitionStatus`. */
export const ScPartition = z.object({
  ...base,
  topic: z.string(),
  partition: z.number().int().nonnegative(),
  resolution: PartitionResolution,
  leader: z.object({ spu: z.number().int(), hw: z.number().int(), leo: z.number().int() }),
  lsr: z.number().int().nonnegative(),
  replicas: z.array(z.number().int()),
  size: z.number().int(),
  isBeingDeleted: z.boolean(),
});
export type ScPartition = z.infer<typeof ScPartition>;

/** The leader SPU's own last report for a partition replica. */
export const SpuReport = z.object({
  ...base,
  spuId: z.number().int(),
  topic: z.string(),
  partition: z.number().int().nonnegative(),
  storageFull: z.boolean(),
  /** The SPU's free disk space; null when nobody measured it (a real SC stores no such figure). */
  freeBytes: z.number().int().nonnegative().nullable(),
  size: z.number().int().nonnegative(),
  reportedAt: LogicalTime,
});
export type SpuReport = z.infer<typeof SpuReport>;

export const Spu = z.object({
  ...base,
  spuId: z.number().int(),
  /** Whether the SC currently has a live connection to this SPU. */
  connected: z.boolean(),
  status: z.enum(['Online', 'Offline']),
});
export type Spu = z.infer<typeof Spu>;
