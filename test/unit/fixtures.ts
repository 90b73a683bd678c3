/**
 * Small hand-built models for the unit tests. Each builder fills every field
 * with a healthy default, so a test states only what matters to it.
 */
import {
  COLLECTION_NAMES,
  KEYS,
  keys,
  PROTOCOL_VERSION,
  SUBSYSTEMS,
  type CachedRegion,
  type ClusterStatus,
  type CollectionName,
  type ControlPlaneShard,
  type EntityOf,
  type EtcdPrefix,
  type InFlightAppend,
  type IngesterShard,
  type JournalRepairLine,
  type MetastoreShard,
  type Procedure,
  type ScPartition,
  type SpuReport,
  type StreamingNode,
  type WalState,
  type WriteBatch,
} from '../../src/protocol';
import { WebSocketServer, type WebSocket } from 'ws';
import { emptyCollections, type ClusterModel } from '../../src/analysis';

export const INDEX = 'otel-logs-v0_7:01HXYZ';
export const SOURCE = '_ingest-source';

export function status(over: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    clusterName: 'test',
    scenario: 'healthy',
    seed: 1,
    bugs: Object.fromEntries(SUBSYSTEMS.map((s) => [s, 'buggy'])) as ClusterStatus['bugs'],
    time: 1000,
    seq: 1,
    controlPlaneEpoch: 3,
    counts: Object.fromEntries(COLLECTION_NAMES.map((c) => [c, 0])) as ClusterStatus['counts'],
    config: { maxRunningProcedures: 128, maxRetryTimes: 3, etcdQuotaBytes: 1_000_000 },
    ...over,
  };
}

/** A model builder: `model().add('quickwit.metastore.shards', metastoreShard(...)).build()`. */
export class ModelBuilder {
  readonly model: ClusterModel;
  constructor(statusOver: Partial<ClusterStatus> = {}) {
    this.model = { status: status(statusOver), collections: emptyCollections() };
  }
  add<C extends CollectionName>(collection: C, ...entities: EntityOf<C>[]): this {
    for (const e of entities) (this.model.collections[collection] as Map<string, EntityOf<C>>).set(e.key, e);
    return this;
  }
  build(): ClusterModel {
    return this.model;
  }
}

export const model = (statusOver: Partial<ClusterStatus> = {}) => new ModelBuilder(statusOver);

export function metastoreShard(shardId: string, over: Partial<MetastoreShard> = {}): MetastoreShard {
  const indexUid = over.indexUid ?? INDEX;
  const sourceId = over.sourceId ?? SOURCE;
  return {
    key: keys.shard(indexUid, sourceId, shardId),
    version: 1,
    indexUid,
    sourceId,
    shardId,
    leaderId: 'ingester-1',
    followerId: null,
    docMappingUid: '01HDOC',
    shardState: 'open',
    publishPositionInclusive: '',
    publishToken: null,
    createdAt: 10,
    updateTimestamp: null,
    ...over,
  };
}

/** The metastore shard stored under `key` (`index/source/shard`): its index, source and id are the key's parts. */
export function metastoreShardAt(key: string, over: Partial<MetastoreShard> = {}): MetastoreShard {
  const parts = KEYS.shard.parse(key);
  if (!parts) throw new Error(`not a shard key: ${key}`);
  return metastoreShard(parts.shardId, { indexUid: parts.indexUid, sourceId: parts.sourceId, ...over });
}

/** A journal's `repair` line: repair r1, a safe and undoable deletion of two dangling shards, written by `source`. */
export function repairLine(source: JournalRepairLine['source'], over: Partial<JournalRepairLine> = {}): JournalRepairLine {
  return {
    type: 'repair',
    v: 1,
    repair: 'r1',
    at: '2026-01-01T00:00:00.000Z',
    cluster: 'sim',
    incarnation: 'inc',
    source,
    findingId: 'shards/dangling:x',
    rule: 'shards/dangling',
    option: { id: 'delete-uninitialised', title: 'Delete', safety: 'safe', undoable: true },
    plan: [{ command: 'quickwit.deleteShards', targets: 2 }],
    ...over,
  };
}

export function controlPlaneShard(shardId: string, over: Partial<ControlPlaneShard> = {}): ControlPlaneShard {
  const indexUid = over.indexUid ?? INDEX;
  const sourceId = over.sourceId ?? SOURCE;
  return {
    key: keys.shard(indexUid, sourceId, shardId),
    version: 1,
    indexUid,
    sourceId,
    shardId,
    leaderId: 'ingester-1',
    shardState: 'open',
    ...over,
  };
}

export function ingesterShard(shardId: string, over: Partial<IngesterShard> = {}): IngesterShard {
  const indexUid = over.indexUid ?? INDEX;
  const sourceId = over.sourceId ?? SOURCE;
  const ingesterId = over.ingesterId ?? 'ingester-1';
  return {
    key: keys.ingesterShard(ingesterId, indexUid, sourceId, shardId),
    version: 1,
    ingesterId,
    indexUid,
    sourceId,
    shardId,
    shardState: 'open',
    replicationPositionInclusive: '',
    ...over,
  };
}

/** A shard all three components agree on. */
export function healthyShard(b: ModelBuilder, shardId: string): ModelBuilder {
  return b
    .add('quickwit.metastore.shards', metastoreShard(shardId, { publishPositionInclusive: '~00000000000000000010' }))
    .add('quickwit.controlPlane.shards', controlPlaneShard(shardId))
    .add('quickwit.ingester.shards', ingesterShard(shardId, { replicationPositionInclusive: '~00000000000000000012' }));
}

export function streamingNode(serverId: number, over: Partial<StreamingNode> = {}): StreamingNode {
  return {
    key: keys.node(serverId),
    version: 1,
    serverId,
    address: `10.0.0.${serverId}:22222`,
    build: 'master-20250410',
    lifecycle: 'Running',
    stopRequestedAt: null,
    gracePeriodSeconds: 30,
    ...over,
  };
}

export function wal(serverId: number, channel: string, over: Partial<WalState> = {}): WalState {
  return {
    key: keys.wal(serverId, channel),
    version: 1,
    serverId,
    channel,
    term: 2,
    available: true,
    accessMode: 'PCHANNEL_ACCESS_READWRITE',
    recovering: false,
    closing: false,
    inFlightAppends: 0,
    ...over,
  };
}

export function append(serverId: number, channel: string, appendId: string, over: Partial<InFlightAppend> = {}): InFlightAppend {
  return { key: appendId, version: 1, appendId, serverId, channel, term: 2, startedAt: 5, phase: 'waiting-recovery', ...over };
}

export function procedure(procedureId: string, over: Partial<Procedure> = {}): Procedure {
  const table = over.table ?? 'greptime.public.metrics';
  return {
    key: keys.procedure(procedureId),
    version: 1,
    procedureId,
    typeName: 'metasrv-procedure::CreateTable',
    status: 'Running',
    startTime: 100,
    endTime: null,
    lockKeys: [table],
    table,
    retries: 0,
    error: null,
    rollbackSupported: null,
    ...over,
  };
}

export function etcdPrefix(prefix: string, sizeBytes: number): EtcdPrefix {
  return { key: prefix, version: 1, prefix, keyCount: 1, sizeBytes };
}

export function region(storeId: number, regionId: number, over: Partial<CachedRegion> = {}): CachedRegion {
  return {
    key: keys.region(storeId, regionId),
    version: 1,
    storeId,
    regionId,
    epochVersion: 5,
    start: `k${regionId}`,
    end: `k${regionId + 1}`,
    state: 'Active',
    safePoint: 0,
    inGc: false,
    isWritten: false,
    evictInfo: null,
    ...over,
  };
}

export function writeBatch(storeId: number, over: Partial<WriteBatch> = {}): WriteBatch {
  return {
    key: keys.writeBatch(storeId),
    version: 1,
    storeId,
    currentRegion: null,
    writtenRegions: [],
    regionCacheStatus: 'Cached',
    sequenceNumber: 7,
    atCommitBoundary: true,
    ...over,
  };
}

export function partition(topic: string, p: number, over: Partial<ScPartition> = {}): ScPartition {
  return {
    key: keys.partition(topic, p),
    version: 1,
    topic,
    partition: p,
    resolution: 'Online',
    leader: { spu: 5001, hw: 90, leo: 90 },
    lsr: 1,
    replicas: [5001],
    size: 1024,
    isBeingDeleted: false,
    ...over,
  };
}

export function spuReport(spuId: number, topic: string, p: number, over: Partial<SpuReport> = {}): SpuReport {
  return {
    key: keys.spuReport(spuId, topic, p),
    version: 1,
    spuId,
    topic,
    partition: p,
    storageFull: false,
    freeBytes: 1 << 30,
    size: 1024,
    reportedAt: 900,
    ...over,
  };
}

/** A fake cluster's answer to `initialize` that offers `columns-v1` (the client tests' fake clusters). */
function columnsInitializeResult() {
  return { protocolVersion: PROTOCOL_VERSION, serverName: 'fake', simulator: false, status: status(), encoding: 'columns-v1' };
}

/** A request to a fake cluster: its id, its method, and the page its cursor names (0 without one). */
export interface FakeRequest {
  id: number;
  method: string;
  page: number;
}

/**
 * A fake cluster that offers `columns-v1`, on a port the OS picks: it answers `initialize` itself
 * and hands every other request to `onRequest`, with the socket to answer on.
 */
export async function fakeColumnsCluster(onRequest: (ws: WebSocket, request: FakeRequest) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { id: number; method: string; params?: { cursor?: string | null } };
      if (m.method === 'initialize') {
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: columnsInitializeResult() }));
        return;
      }
      onRequest(ws, { id: m.id, method: m.method, page: m.params?.cursor ? Number(m.params.cursor) : 0 });
    });
  });
  const port = (wss.address() as { port: number }).port;
  return { url: `ws://127.0.0.1:${port}`, close: () => new Promise<void>((r) => wss.close(() => r())) };
}
