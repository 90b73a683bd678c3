/**
 * The picture of a cluster: its nodes per system (Quickwit's metastore,
 * control plane and ingesters; Milvus's streaming nodes; GreptimeDB's metasrv;
 * TiKV's stores; Fluvio's SC and SPUs), what each holds, counted, and the
 * findings that sit on each.
 *
 * Every entity is one component's view (entities.ts), so a finding sits on the
 * components whose views it involves: a dangling shard on the metastore (the
 * only one that has it), an orphaned one on the control plane and the ingesters
 * that hold it, a partition that is Online at the SC while its leader reports
 * its disk full on the SC and on that SPU. Where a rule's entities can be
 * counted per node from the model, the count is exact; otherwise the finding's
 * anchor and samples say where it is, and the count is a lower bound
 * (`partial`) unless they all lie on one node.
 *
 * One pass over each collection: the incident's 763,471 shards become a few
 * dozen nodes.
 */
import {
  COLLECTION_KEYS,
  SUBSYSTEMS,
  SYSTEM_OF_SUBSYSTEM,
  TOPOLOGY_SYSTEM_TITLES,
  TOPOLOGY_SYSTEMS,
  type AnyEntity,
  type ClusterTopology,
  type CollectionName,
  type EntityRef,
  type Finding,
  type NodeHolding,
  type NodeProblem,
  type NodeRole,
  type Subsystem,
  type TopologyHealth,
  type TopologyNode,
  type TopologySystem,
  type TopologySystemId,
} from '../protocol';
import { KEYS } from '../protocol/collections';
import { isUnfinished } from './checks/ddl';
import { fullLeaderReport } from './checks/partitions';
import type { ClusterModel } from './model';

/** The id of the tree node at `segments` below the cluster's root in `subsystem`'s view (engine/tree.ts makes them). */
export type TreeIdOf = (subsystem: Subsystem, segments: readonly string[]) => string;

export interface TopologyOptions {
  cluster: string;
  /** The tree's id scheme (`treeNodeId` in engine/tree.ts, for the cluster). */
  treeId: TreeIdOf;
}

const SUBSYSTEM_OF_SYSTEM = Object.fromEntries(SUBSYSTEMS.map((s) => [SYSTEM_OF_SUBSYSTEM[s], s])) as Record<TopologySystemId, Subsystem>;

const METASTORE = 'quickwit/metastore';
const CONTROL_PLANE = 'quickwit/control-plane';
const METASRV = 'greptime/metasrv';
const SC = 'fluvio/sc';
const ingesterNode = (id: string) => `quickwit/ingester/${id}`;
const streamingNode = (serverId: number) => `milvus/node/${serverId}`;
const storeNode = (storeId: number) => `tikv/store/${storeId}`;
const spuNode = (spuId: number) => `fluvio/spu/${spuId}`;

/** The node whose view an entity is. Entity fields first; else what its key spells (an entity gone from the model). */
function nodeOfEntity(collection: CollectionName, e: Record<string, unknown>): string | undefined {
  switch (collection) {
    case 'quickwit.metastore.shards':
      return METASTORE;
    case 'quickwit.controlPlane.shards':
      return CONTROL_PLANE;
    case 'quickwit.ingester.shards':
      return typeof e.ingesterId === 'string' ? ingesterNode(e.ingesterId) : undefined;
    case 'quickwit.ingesters':
      return typeof e.nodeId === 'string' ? ingesterNode(e.nodeId) : undefined;
    case 'milvus.nodes':
    case 'milvus.wals':
    case 'milvus.appends':
      return typeof e.serverId === 'number' ? streamingNode(e.serverId) : undefined;
    case 'milvus.channelMetas':
      return typeof e.node === 'number' ? streamingNode(e.node) : undefined;
    case 'greptime.procedures':
    case 'greptime.etcd':
      return METASRV;
    case 'tikv.regions':
    case 'tikv.writeBatches':
      return typeof e.storeId === 'number' ? storeNode(e.storeId) : undefined;
    case 'fluvio.partitions':
      return SC;
    case 'fluvio.spuReports':
    case 'fluvio.spus':
      return typeof e.spuId === 'number' ? spuNode(e.spuId) : undefined;
  }
}

function nodeOfRef(model: ClusterModel, ref: EntityRef): string | undefined {
  const entity = (model.collections[ref.collection] as Map<string, AnyEntity> | undefined)?.get(ref.key);
  const fields =
    (entity as unknown as Record<string, unknown> | undefined) ??
    (COLLECTION_KEYS[ref.collection]?.parse(ref.key) as Record<string, unknown> | null);
  return fields ? nodeOfEntity(ref.collection, fields) : undefined;
}

/** A collection held by one node whatever the entity: where its unreadable records sit. */
const SINGLE_NODE: Partial<Record<CollectionName, string>> = {
  'quickwit.metastore.shards': METASTORE,
  'quickwit.controlPlane.shards': CONTROL_PLANE,
  'greptime.procedures': METASRV,
  'greptime.etcd': METASRV,
  'fluvio.partitions': SC,
};

interface Draft {
  node: Omit<TopologyNode, 'holds' | 'problems' | 'health' | 'reveal'>;
  holds: NodeHolding[];
  problems: NodeProblem[];
  /** Tree path (segments below the cluster's root) that shows it, in its system's view. */
  path: string[];
}

export function clusterTopology(model: ClusterModel, findings: readonly Finding[], options: TopologyOptions): ClusterTopology {
  const c = model.collections;
  const drafts = new Map<string, Draft>();
  const draft = (id: string, system: TopologySystemId, role: NodeRole, label: string): Draft => {
    let d = drafts.get(id);
    if (!d) drafts.set(id, (d = { node: { id, system, role, label }, holds: [], problems: [], path: [] }));
    return d;
  };

  // ---- Quickwit: one pass over each shard collection, counts per node and per source.
  const sourcesOf = new Map<string, Set<string>>(); // node → index/source groups it holds shards of
  const addSource = (node: string, group: string) => {
    const set = sourcesOf.get(node);
    if (set) set.add(group);
    else sourcesOf.set(node, new Set([group]));
  };
  const leaderOf = new Map<string, number>();
  let lastIndex = '';
  let lastSource = '';
  let lastLeader = '';
  let leaderRun = 0;
  for (const s of c['quickwit.metastore.shards'].values()) {
    if (s.indexUid !== lastIndex || s.sourceId !== lastSource) {
      lastIndex = s.indexUid;
      lastSource = s.sourceId;
      addSource(METASTORE, KEYS.shardSource.format(s.indexUid, s.sourceId));
    }
    // Runs of the same leader are common (a source's shards are created together): count them in one go.
    if (s.leaderId === lastLeader) leaderRun++;
    else {
      if (leaderRun) leaderOf.set(lastLeader, (leaderOf.get(lastLeader) ?? 0) + leaderRun);
      lastLeader = s.leaderId;
      leaderRun = 1;
    }
  }
  if (leaderRun) leaderOf.set(lastLeader, (leaderOf.get(lastLeader) ?? 0) + leaderRun);
  for (const s of c['quickwit.controlPlane.shards'].values()) addSource(CONTROL_PLANE, KEYS.shardSource.format(s.indexUid, s.sourceId));
  const ingesterShards = new Map<string, number>();
  for (const s of c['quickwit.ingester.shards'].values()) {
    ingesterShards.set(s.ingesterId, (ingesterShards.get(s.ingesterId) ?? 0) + 1);
    addSource(ingesterNode(s.ingesterId), KEYS.shardSource.format(s.indexUid, s.sourceId));
  }
  const quickwitSeen =
    c['quickwit.metastore.shards'].size +
    c['quickwit.controlPlane.shards'].size +
    c['quickwit.ingester.shards'].size +
    c['quickwit.ingesters'].size;
  if (quickwitSeen > 0) {
    const m = draft(METASTORE, 'quickwit', 'metastore', 'metastore');
    m.holds.push(
      { what: 'shards', count: c['quickwit.metastore.shards'].size },
      { what: 'sources', count: sourcesOf.get(METASTORE)?.size ?? 0 },
    );
    const cp = draft(CONTROL_PLANE, 'quickwit', 'control-plane', 'control plane');
    cp.node.state = `epoch ${model.status.controlPlaneEpoch}`;
    cp.holds.push({ what: 'shards', count: c['quickwit.controlPlane.shards'].size });
  }
  const ingesterIds = new Set<string>([...c['quickwit.ingesters'].keys(), ...ingesterShards.keys()]);
  for (const id of [...ingesterIds].sort()) {
    const d = draft(ingesterNode(id), 'quickwit', 'ingester', id);
    d.node.state = c['quickwit.ingesters'].get(id)?.status ?? 'not a cluster member';
    d.holds.push({ what: 'shards', count: ingesterShards.get(id) ?? 0 });
    const leads = leaderOf.get(id);
    if (leads) d.holds.push({ what: 'metastore shards naming it leader', count: leads });
  }

  // ---- Milvus: a streaming node holds its WALs, the channels assigned to it and their in-flight appends.
  const milvus = new Map<number, { wals: number; channels: number; appends: number }>();
  const slot = (id: number) => {
    let m = milvus.get(id);
    if (!m) milvus.set(id, (m = { wals: 0, channels: 0, appends: 0 }));
    return m;
  };
  for (const n of c['milvus.nodes'].values()) slot(n.serverId);
  for (const w of c['milvus.wals'].values()) slot(w.serverId).wals++;
  for (const m of c['milvus.channelMetas'].values()) slot(m.node).channels++;
  for (const a of c['milvus.appends'].values()) slot(a.serverId).appends++;
  for (const id of [...milvus.keys()].sort((a, b) => a - b)) {
    const n = c['milvus.nodes'].get(KEYS.node.format(id));
    const counts = milvus.get(id)!;
    const d = draft(streamingNode(id), 'milvus', 'streaming-node', KEYS.node.format(id));
    d.node.state = n ? `${n.lifecycle} · ${n.build}` : 'not in the cluster';
    d.holds.push(
      { what: 'WALs', count: counts.wals },
      { what: 'channels assigned', count: counts.channels },
      { what: 'appends in flight', count: counts.appends },
    );
    if (n) d.path = [n.key];
  }

  // ---- GreptimeDB: the metasrv holds the procedures and their etcd keys.
  if (c['greptime.procedures'].size + c['greptime.etcd'].size > 0) {
    const d = draft(METASRV, 'greptime', 'metasrv', 'metasrv');
    let unfinished = 0;
    for (const p of c['greptime.procedures'].values()) if (isUnfinished(p)) unfinished++;
    let etcdKeys = 0;
    for (const p of c['greptime.etcd'].values()) etcdKeys += p.keyCount;
    d.node.state = `${unfinished} unfinished, limit ${model.status.config.maxRunningProcedures}`;
    d.holds.push(
      { what: 'procedures', count: c['greptime.procedures'].size },
      { what: 'unfinished procedures', count: unfinished },
      { what: 'etcd keys', count: etcdKeys },
    );
  }

  // ---- TiKV: a store holds its cached regions (and the ones its write batch marked prepared).
  const stores = new Map<number, { regions: number; prepared: number }>();
  for (const b of c['tikv.writeBatches'].values()) stores.set(b.storeId, { regions: 0, prepared: 0 });
  for (const r of c['tikv.regions'].values()) {
    let s = stores.get(r.storeId);
    if (!s) stores.set(r.storeId, (s = { regions: 0, prepared: 0 }));
    s.regions++;
    if (r.isWritten) s.prepared++;
  }
  for (const id of [...stores.keys()].sort((a, b) => a - b)) {
    const key = KEYS.writeBatch.format(id);
    const d = draft(storeNode(id), 'tikv', 'store', key);
    const batch = c['tikv.writeBatches'].get(key);
    if (batch) d.node.state = `region cache ${batch.regionCacheStatus}`;
    d.holds.push(
      { what: 'cached regions', count: stores.get(id)!.regions },
      { what: 'prepared for write', count: stores.get(id)!.prepared },
    );
    d.path = [key];
  }

  // ---- Fluvio: the SC holds every partition's status; an SPU leads some and replicates others.
  const spus = new Map<number, { leads: number; replicas: number; reports: number; full: number }>();
  const spu = (id: number) => {
    let s = spus.get(id);
    if (!s) spus.set(id, (s = { leads: 0, replicas: 0, reports: 0, full: 0 }));
    return s;
  };
  const topicsLedBy = new Map<number, Set<string>>();
  for (const s of c['fluvio.spus'].values()) spu(s.spuId);
  for (const p of c['fluvio.partitions'].values()) {
    spu(p.leader.spu).leads++;
    for (const r of p.replicas) spu(r).replicas++;
    const topics = topicsLedBy.get(p.leader.spu);
    if (topics) topics.add(p.topic);
    else topicsLedBy.set(p.leader.spu, new Set([p.topic]));
  }
  for (const r of c['fluvio.spuReports'].values()) {
    const s = spu(r.spuId);
    s.reports++;
    if (r.storageFull) s.full++;
  }
  if (c['fluvio.partitions'].size + spus.size > 0) {
    const d = draft(SC, 'fluvio', 'sc', 'SC');
    d.holds.push({ what: 'partitions', count: c['fluvio.partitions'].size });
  }
  for (const id of [...spus.keys()].sort((a, b) => a - b)) {
    const d = draft(spuNode(id), 'fluvio', 'spu', KEYS.spu.format(id));
    const s = spus.get(id)!;
    const known = c['fluvio.spus'].get(KEYS.spu.format(id));
    d.node.state = known ? `${known.status}${known.connected ? '' : ' · not connected'}` : 'unknown to the SC';
    d.holds.push(
      { what: 'partitions led', count: s.leads },
      { what: 'replicas', count: s.replicas },
      { what: 'reports of storage full', count: s.full },
    );
  }

  // ---- Problems: each finding on the nodes whose views it involves.
  const unplaced = new Map<TopologySystemId, NodeProblem[]>();
  const place = (f: Finding, nodeId: string | undefined, count: number, partial = false) => {
    const d = nodeId === undefined ? undefined : drafts.get(nodeId);
    const problem: NodeProblem = {
      findingId: f.id,
      rule: f.rule,
      severity: f.severity,
      count,
      message: f.message,
      ...(partial ? { partial } : {}),
    };
    if (d) d.problems.push(problem);
    else {
      const system = SYSTEM_OF_SUBSYSTEM[f.subsystem];
      const list = unplaced.get(system);
      if (list) list.push(problem);
      else unplaced.set(system, [problem]);
    }
  };
  for (const f of findings) {
    switch (f.rule) {
      case 'shards/orphaned':
        placeOrphaned(model, f, place);
        break;
      case 'partitions/online-out-of-space':
        placeOutOfSpace(model, f, place);
        break;
      case 'gateway/unreadable-record':
        place(f, SINGLE_NODE[f.anchor.collection], f.count);
        break;
      default:
        placeBySamples(model, f, place);
    }
  }

  // ---- Where each node shows in its tree: the group of its first problem if that group is there, else its home.
  const firstSource = (node: string, preferred: readonly string[]): string | undefined => {
    const held = sourcesOf.get(node);
    if (!held) return undefined;
    return preferred.find((g) => held.has(g)) ?? [...held].sort()[0];
  };
  const treeId = options.treeId;
  const procedureTables = new Set<string>();
  for (const p of c['greptime.procedures'].values()) procedureTables.add(p.table);
  const topics = new Set<string>();
  for (const p of c['fluvio.partitions'].values()) topics.add(p.topic);

  const systems: TopologySystem[] = [];
  let maxCount = 0;
  for (const system of TOPOLOGY_SYSTEMS) {
    const subsystem = SUBSYSTEM_OF_SYSTEM[system];
    const nodes: TopologyNode[] = [];
    for (const d of drafts.values()) {
      if (d.node.system !== system) continue;
      const groups = d.problems.map((p) => findings.find((f) => f.id === p.findingId)?.group ?? '');
      const path = d.path.length ? d.path : homePath(d, groups, { firstSource, procedureTables, topics, topicsLedBy });
      const node: TopologyNode = {
        ...d.node,
        holds: d.holds,
        problems: d.problems.sort(byProblem),
        health: healthOf(d.problems),
        reveal: { subsystem, treeId: treeId(subsystem, path) },
      };
      maxCount = Math.max(maxCount, d.holds[0]?.count ?? 0);
      nodes.push(node);
    }
    const health = model.status.subsystems?.[subsystem];
    systems.push({
      id: system,
      title: TOPOLOGY_SYSTEM_TITLES[system],
      subsystem,
      availability: health?.state ?? 'ok',
      ...(health?.reason ? { reason: health.reason } : {}),
      nodes,
      unplaced: (unplaced.get(system) ?? []).sort(byProblem),
    });
  }
  return { cluster: options.cluster, systems, maxCount };
}

type Place = (f: Finding, nodeId: string | undefined, count: number, partial?: boolean) => void;

/** The nodes of the anchor and the samples: exact when they all lie on one node, else a lower bound per node. */
function placeBySamples(model: ClusterModel, f: Finding, place: Place): void {
  const perNode = new Map<string | undefined, number>();
  const seen = new Set<string>();
  for (const ref of [f.anchor, ...f.samples]) {
    const id = `${ref.collection}\u0000${ref.key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const node = nodeOfRef(model, ref);
    perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  if (perNode.size === 1) {
    place(f, [...perNode.keys()][0], f.count);
    return;
  }
  for (const [node, n] of perNode) place(f, node, n, true);
}

/** `shards/orphaned`: the control plane's and each ingester's shards of the source that the metastore lacks. */
function placeOrphaned(model: ClusterModel, f: Finding, place: Place): void {
  const c = model.collections;
  const source = KEYS.shardSource.parse(f.group);
  if (!source) return placeBySamples(model, f, place);
  const inSource = (s: { indexUid: string; sourceId: string }) => s.indexUid === source.indexUid && s.sourceId === source.sourceId;
  const metastore = c['quickwit.metastore.shards'];
  let controlPlane = 0;
  for (const s of c['quickwit.controlPlane.shards'].values()) if (inSource(s) && !metastore.has(s.key)) controlPlane++;
  const ingesters = new Map<string, number>();
  for (const s of c['quickwit.ingester.shards'].values()) {
    if (inSource(s) && !metastore.has(KEYS.shard.format(s.indexUid, s.sourceId, s.shardId)))
      ingesters.set(s.ingesterId, (ingesters.get(s.ingesterId) ?? 0) + 1);
  }
  if (controlPlane) place(f, CONTROL_PLANE, controlPlane);
  for (const [id, n] of [...ingesters].sort()) place(f, ingesterNode(id), n);
}

/** `partitions/online-out-of-space`: the SC (which says Online) and each leader SPU that reports its storage full. */
function placeOutOfSpace(model: ClusterModel, f: Finding, place: Place): void {
  const reports = model.collections['fluvio.spuReports'];
  const perSpu = new Map<number, number>();
  let total = 0;
  for (const p of model.collections['fluvio.partitions'].values()) {
    if (p.topic !== f.group) continue;
    const report = fullLeaderReport(p, reports);
    if (!report) continue;
    total++;
    perSpu.set(report.spuId, (perSpu.get(report.spuId) ?? 0) + 1);
  }
  if (total === 0) return placeBySamples(model, f, place);
  place(f, SC, total);
  for (const [id, n] of [...perSpu].sort((a, b) => a[0] - b[0])) place(f, spuNode(id), n);
}

/** Where a node shows in its tree when it is not an entity there: the group its first problem is in, if any. */
function homePath(
  d: Draft,
  groups: readonly string[],
  ctx: {
    firstSource: (node: string, preferred: readonly string[]) => string | undefined;
    procedureTables: ReadonlySet<string>;
    topics: ReadonlySet<string>;
    topicsLedBy: ReadonlyMap<number, ReadonlySet<string>>;
  },
): string[] {
  switch (d.node.role) {
    case 'metastore':
    case 'control-plane':
    case 'ingester': {
      const group = ctx.firstSource(d.node.id, groups);
      const parts = group === undefined ? null : KEYS.shardSource.parse(group);
      if (!parts) return [];
      const segment =
        d.node.role === 'metastore' ? 'metastore' : d.node.role === 'control-plane' ? 'control-plane' : `ingester:${d.node.label}`;
      return [parts.indexUid, parts.sourceId, segment];
    }
    case 'metasrv': {
      const table = groups.find((g) => ctx.procedureTables.has(g));
      return table === undefined ? [] : [table];
    }
    case 'sc': {
      const topic = groups.find((g) => ctx.topics.has(g));
      return topic === undefined ? [] : [topic];
    }
    case 'spu': {
      const id = KEYS.spu.parse(d.node.label)?.spuId;
      const led = id === undefined ? undefined : ctx.topicsLedBy.get(id);
      const topic = groups.find((g) => ctx.topics.has(g)) ?? (led ? [...led].sort()[0] : undefined);
      return topic === undefined ? [] : [topic];
    }
    default:
      return [];
  }
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

function byProblem(a: NodeProblem, b: NodeProblem): number {
  return SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.findingId.localeCompare(b.findingId);
}

function healthOf(problems: readonly NodeProblem[]): TopologyHealth {
  if (problems.some((p) => p.severity === 'error')) return 'error';
  return problems.some((p) => p.severity === 'warning') ? 'warning' : 'ok';
}
