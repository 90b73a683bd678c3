/**
 * Tree children for the extension's views, grouped the way an operator of
 * each system thinks, and paged: a level never returns more than `limit`
 * nodes, then a `loadMore` node with a cursor. Nodes are made only for the
 * requested page, so 760,000 shards never become 760,000 TreeNodes.
 *
 * Ids are stable: `<subsystem>:<cluster>` for the root, then `/`-separated,
 * URI-encoded segments. A parent id is therefore a path we can walk back.
 */
import {
  KEYS,
  SUBSYSTEM_TITLES,
  type CollectionName,
  type EntityOf,
  type Finding,
  type Health,
  type Subsystem,
  type SummaryResult,
  type SyncProgress,
  type TreeNode,
} from '../protocol';
import type { ClusterModel, EntityMap } from '../analysis/model';
import type { ClusterChecker } from './checker';
import type { ClusterSession } from './session';
import { clusterDocUri } from '../protocol/uri';
import { formatCount, percentDone, plural, ruleNotes } from '../protocol';
import { formatClusterTime } from '../protocol/format';

export const NO_CLUSTER_MESSAGE = "No cluster connected — run 'Cluster: Start Bundled Simulator' or 'Cluster: Connect…'";

export interface TreeCluster {
  session: ClusterSession;
  checker: ClusterChecker;
}

/** A lazily materialised list: `count` children, made only for the page asked for. */
interface Children {
  count: number;
  make(index: number): TreeNode;
}

export function treeChildren(
  clusters: TreeCluster[],
  subsystem: Subsystem,
  parentId: string | null,
  cursor: string | null | undefined,
  limit: number,
): TreeNode[] {
  if (parentId === null) return rootNodes(clusters, subsystem);
  const path = parseId(parentId);
  if (!path || path.subsystem !== subsystem) return [message(parentId, '', `Unknown tree node ${parentId}`, 'none')];
  const cluster = clusters.find((c) => c.session.name.toLowerCase() === path.cluster.toLowerCase());
  if (!cluster) return [message(parentId, path.cluster, `Cluster ${path.cluster} is no longer connected`, 'none')];
  const model = cluster.session.model;
  if (!model) {
    // Before the first sync ends: the groups and counts of `cluster.summary`, if the cluster gave them.
    const summary = cluster.session.summary;
    const first = summary && firstViewChildren(new FirstView(cluster.session, summary, parentId), subsystem, path.segments);
    if (first) return pageOf(first, parentId, cluster.session.name, cursor, limit);
    const why = cluster.session.error ?? `Cluster is ${cluster.session.state}…`;
    return [message(parentId, cluster.session.name, why, cluster.session.error ? 'error' : 'none')];
  }
  const health = model.status.subsystems?.[subsystem];
  if (path.segments.length === 0 && health?.state === 'not-configured') {
    // Not a fault: this cluster does not read this system at all.
    return [message(parentId, cluster.session.name, `Not configured${health.reason ? `: ${health.reason}` : ''}`, 'none')];
  }
  const ctx = new Context(cluster, subsystem, model, parentId);
  const children = childrenOf(ctx, path.segments);
  if (!children) return [message(parentId, cluster.session.name, 'This item no longer exists', 'none')];
  // Unavailable: the reason first (on the first page); then what was read before, if anything.
  const unavailable = path.segments.length === 0 && health?.state === 'unavailable';
  if (children.count === 0 && unavailable) return [unavailableMessage(parentId, cluster.session.name, health.reason)];
  // Read, but some rule is not checked (a collection unknown, a version without the bug): say which and why.
  const first = unavailable
    ? [unavailableMessage(parentId, cluster.session.name, health.reason)]
    : path.segments.length === 0
      ? ruleNotes(subsystem, model.status).map((note, i) => noteMessage(parentId, cluster.session.name, note, i))
      : [];
  if (children.count === 0 && first.length) return first;
  return pageOf(children, parentId, cluster.session.name, cursor, limit, first);
}

/** A rule that is not checked now, and why (`ruleNotes`): informational, one node each. */
function noteMessage(parentId: string, cluster: string, note: string, i: number): TreeNode {
  return { ...message(parentId, cluster, note, 'none'), id: `${parentId}/@note:${i}` };
}

/** One page of `children` from `cursor`, with a `loadMore` node when more follow; `first` leads the first page. */
function pageOf(children: Children, parentId: string, cluster: string, cursor: string | null | undefined, limit: number, first: readonly TreeNode[] = []): TreeNode[] {
  if (children.count === 0) return [message(parentId, cluster, 'Nothing here', 'none')];
  const start = Math.max(0, Number.parseInt(cursor ?? '0', 10) || 0);
  const end = Math.min(children.count, start + limit);
  const nodes: TreeNode[] = [];
  if (start === 0) nodes.push(...first);
  for (let i = start; i < end; i++) nodes.push(children.make(i));
  if (end < children.count) {
    nodes.push({
      id: `${parentId}/@more:${end}`,
      kind: 'loadMore',
      label: `Load more… (${formatCount(children.count - end)} more)`,
      health: 'none',
      icon: 'ellipsis',
      hasChildren: false,
      cursor: String(end),
      cluster,
    });
  }
  return nodes;
}

function unavailableMessage(parentId: string, cluster: string, reason: string | undefined): TreeNode {
  return message(parentId, cluster, `Unavailable: ${reason ?? 'the cluster cannot read this system now'}`, 'error');
}

// ------------------------------------------------------------------ ids --

export function rootId(subsystem: Subsystem, cluster: string): string {
  return `${subsystem}:${cluster}`;
}

/** The id of the node at `segments` (group keys, entity keys) below a cluster's root in a subsystem's view. */
export function treeNodeId(subsystem: Subsystem, cluster: string, segments: readonly string[]): string {
  return segments.reduce(childId, rootId(subsystem, cluster));
}

/**
 * The id of an entity's node in its subsystem's view, from its fields, as the `*Children` functions
 * below place it; undefined when the view does not show it (its collection, or a parent it lacks).
 */
export function entityTreeId(cluster: string, model: ClusterModel, collection: CollectionName, key: string): string | undefined {
  const col = <C extends CollectionName>(c: C) => model.collections[c] as EntityMap<EntityOf<C>>;
  const at = (subsystem: Subsystem, ...segments: string[]) => treeNodeId(subsystem, cluster, [...segments, key]);
  const nodeOf = (serverId: number) => {
    const node = KEYS.node.format(serverId);
    return col('milvus.nodes').has(node) ? node : undefined;
  };
  switch (collection) {
    case 'quickwit.metastore.shards':
    case 'quickwit.controlPlane.shards':
    case 'quickwit.ingester.shards': {
      const s = col(collection).get(key);
      if (!s) return undefined;
      const component = collection === 'quickwit.metastore.shards' ? 'metastore' : collection === 'quickwit.controlPlane.shards' ? 'control-plane' : `ingester:${(s as EntityOf<'quickwit.ingester.shards'>).ingesterId}`;
      return at('shards', s.indexUid, s.sourceId, component);
    }
    case 'milvus.nodes':
      return col(collection).has(key) ? at('wal') : undefined;
    case 'milvus.wals': {
      const node = nodeOf(col(collection).get(key)?.serverId ?? NaN);
      return node === undefined ? undefined : at('wal', node);
    }
    case 'milvus.channelMetas': {
      const node = nodeOf(col(collection).get(key)?.node ?? NaN);
      return node === undefined ? undefined : at('wal', node);
    }
    case 'milvus.appends': {
      const a = col(collection).get(key);
      const node = a && nodeOf(a.serverId);
      const wal = a && KEYS.wal.format(a.serverId, a.channel);
      return node === undefined || wal === undefined || !col('milvus.wals').has(wal) ? undefined : at('wal', node, wal);
    }
    case 'greptime.procedures': {
      const p = col(collection).get(key);
      return p ? at('ddl', p.table) : undefined;
    }
    case 'greptime.etcd':
      return col(collection).has(key) ? at('ddl', ETCD_SEGMENT) : undefined;
    case 'tikv.regions':
    case 'tikv.writeBatches': {
      const e = col(collection).get(key);
      return e ? at('regions', KEYS.writeBatch.format(e.storeId)) : undefined;
    }
    case 'fluvio.partitions': {
      const p = col(collection).get(key);
      return p ? at('partitions', p.topic) : undefined;
    }
    default:
      // Ingesters, SPUs and SPU reports have no node of their own (they show in their neighbours' descriptions).
      return undefined;
  }
}

function parseId(id: string): { subsystem: Subsystem; cluster: string; segments: string[] } | null {
  const [head, ...rest] = id.split('/');
  const colon = head.indexOf(':');
  if (colon < 0) return null;
  try {
    return {
      subsystem: head.slice(0, colon) as Subsystem,
      cluster: head.slice(colon + 1),
      segments: rest.map(decodeURIComponent),
    };
  } catch {
    return null;
  }
}

function childId(parentId: string, segment: string): string {
  return `${parentId}/${encodeURIComponent(segment)}`;
}

// ----------------------------------------------------------------- root --

function rootNodes(clusters: TreeCluster[], subsystem: Subsystem): TreeNode[] {
  if (!clusters.length) return [message('root', '', NO_CLUSTER_MESSAGE, 'none')];
  return clusters.map(({ session, checker }) => {
    const findings = checker.findings(subsystem);
    const live = session.state === 'live';
    const stale = session.state === 'stale';
    const problems = findings.length ? plural(findings.length, 'problem') : 'no problems';
    const failed = !session.model && session.error;
    const status = session.model?.status;
    const sub = status?.subsystems?.[subsystem];
    const notConfigured = sub?.state === 'not-configured';
    const unavailable = sub?.state === 'unavailable';
    const what = notConfigured ? 'not configured' : unavailable ? `unavailable · ${problems}` : problems;
    const readOnly = status?.readOnly ? ' · read-only' : '';
    const lines = [session.url, session.state];
    const progress = session.syncProgress;
    if (progress) lines.push(`Syncing: ${syncedText(progress)}; findings that need every entity come when it ends`);
    if (session.error) lines.push(session.error);
    if (sub && sub.state !== 'ok') lines.push(`${SUBSYSTEM_TITLES[subsystem]}: ${sub.state}${sub.reason ? ` (${sub.reason})` : ''}`);
    if (sub?.version) lines.push(`${sub.version.system} ${sub.version.version} (from ${sub.version.from})`);
    if (status && sub?.state === 'ok') lines.push(...ruleNotes(subsystem, status));
    if (status?.readOnly) lines.push('Read-only: the cluster refuses every repair');
    return {
      id: rootId(subsystem, session.name),
      kind: 'cluster',
      label: session.name,
      description: failed
        ? 'connection failed'
        : live
          ? `${what}${readOnly}`
          : `${progress ? `syncing ${percentDone(progress)}%` : session.state}${session.model ? ` · ${what}` : ''}${readOnly}`,
      tooltip: lines.join('\n'),
      health: failed ? 'error' : stale ? 'stale' : !live || notConfigured ? 'none' : unavailable ? 'error' : healthOf(findings),
      icon: failed || unavailable ? 'error' : stale ? 'debug-disconnect' : notConfigured ? 'circle-slash' : status?.readOnly ? 'lock' : 'server-environment',
      hasChildren: true,
      cluster: session.name,
      findingIds: findings.map((f) => f.id),
    } satisfies TreeNode;
  });
}

/** `34% (260,000 of 770,000 entities, 120,000/s)` */
export function syncedText(p: SyncProgress): string {
  return `${percentDone(p)}% (${formatCount(p.done)} of ${formatCount(p.total)} entities, ${formatCount(p.entitiesPerSecond)}/s)`;
}

function message(parentId: string, cluster: string, label: string, health: Health): TreeNode {
  return {
    id: `${parentId}/@message`,
    kind: 'message',
    label,
    health,
    icon: health === 'error' ? 'error' : 'info',
    hasChildren: false,
    cluster,
  };
}

function healthOf(findings: readonly Finding[]): Health {
  if (findings.some((f) => f.severity === 'error')) return 'error';
  if (findings.some((f) => f.severity === 'warning')) return 'warning';
  return 'ok';
}

// -------------------------------------------------------------- context --

class Context {
  readonly findings: Finding[];
  readonly stale: boolean;
  constructor(
    readonly cluster: TreeCluster,
    readonly subsystem: Subsystem,
    readonly model: ClusterModel,
    readonly parentId: string,
  ) {
    this.findings = cluster.checker.findings(subsystem);
    this.stale = cluster.session.state !== 'live';
  }

  get name(): string {
    return this.cluster.session.name;
  }

  col<C extends CollectionName>(c: C): EntityMap<EntityOf<C>> {
    return this.model.collections[c] as EntityMap<EntityOf<C>>;
  }

  /** Findings whose group is `group` or lies under it. */
  groupFindings(group: string): Finding[] {
    return this.findings.filter((f) => f.group === group || f.group.startsWith(`${group}/`) || f.anchor.key.startsWith(`${group}/`));
  }

  health(findings: readonly Finding[]): Health {
    return this.stale ? 'stale' : healthOf(findings);
  }

  group(segment: string, label: string, description: string, findings: Finding[], icon: string): TreeNode {
    const problems = findings.length ? ` · ${plural(findings.length, 'problem')}` : '';
    return {
      id: childId(this.parentId, segment),
      kind: 'group',
      label,
      description: `${description}${problems}`,
      health: this.health(findings),
      icon,
      hasChildren: true,
      cluster: this.name,
      findingIds: findings.map((f) => f.id),
    };
  }

  entity(collection: CollectionName, key: string, label: string, description: string, hasChildren = false, icon = 'symbol-field'): TreeNode {
    const ids = this.cluster.checker.findingsOfKey(key) ?? [];
    const findings = ids.map((id) => this.cluster.checker.finding(id)).filter((f): f is Finding => !!f);
    const doc = this.cluster.checker.document(this.model, this.subsystem);
    const line = doc.lineOf(collection, key);
    return {
      id: childId(this.parentId, key),
      kind: 'entity',
      label,
      description,
      tooltip: `${collection} ${key}`,
      health: findings.length || this.stale ? this.health(findings) : 'ok',
      icon,
      hasChildren,
      cluster: this.name,
      entity: { collection, key },
      findingIds: ids,
      location: line === undefined ? undefined : { uri: clusterDocUri(this.name, this.subsystem), line },
    };
  }
}

function list<T>(items: T[], make: (item: T) => TreeNode): Children {
  return { count: items.length, make: (i) => make(items[i]) };
}

function count(n: number, what: string): string {
  return `${formatCount(n)} ${what}`;
}

function childrenOf(ctx: Context, path: string[]): Children | null {
  switch (ctx.subsystem) {
    case 'shards':
      return shardChildren(ctx, path);
    case 'wal':
      return walChildren(ctx, path);
    case 'ddl':
      return ddlChildren(ctx, path);
    case 'regions':
      return regionChildren(ctx, path);
    case 'partitions':
      return partitionChildren(ctx, path);
  }
}

// --------------------------------------------------------------- shards --

interface SourceShards {
  metastore: string[];
  controlPlane: string[];
  ingesters: Map<string, string[]>;
}
type ShardIndex = Map<string, Map<string, SourceShards>>;
/** Built once per model generation: grouping 760,000 shards per request would be too slow to page. */
const shardIndexCache = new WeakMap<ClusterModel, { generation: number; index: ShardIndex }>();

function shardIndex(ctx: Context): ShardIndex {
  const generation = ctx.cluster.session.generation;
  const cached = shardIndexCache.get(ctx.model);
  if (cached && cached.generation === generation) return cached.index;
  const index: ShardIndex = new Map();
  const slot = (indexUid: string, sourceId: string): SourceShards => {
    let sources = index.get(indexUid);
    if (!sources) index.set(indexUid, (sources = new Map()));
    let s = sources.get(sourceId);
    if (!s) sources.set(sourceId, (s = { metastore: [], controlPlane: [], ingesters: new Map() }));
    return s;
  };
  for (const s of ctx.col('quickwit.metastore.shards').values()) slot(s.indexUid, s.sourceId).metastore.push(s.key);
  for (const s of ctx.col('quickwit.controlPlane.shards').values()) slot(s.indexUid, s.sourceId).controlPlane.push(s.key);
  for (const s of ctx.col('quickwit.ingester.shards').values()) {
    const ingesters = slot(s.indexUid, s.sourceId).ingesters;
    const list = ingesters.get(s.ingesterId);
    if (list) list.push(s.key);
    else ingesters.set(s.ingesterId, [s.key]);
  }
  shardIndexCache.set(ctx.model, { generation, index });
  return index;
}

function shardChildren(ctx: Context, path: string[]): Children | null {
  const index = shardIndex(ctx);
  if (path.length === 0) {
    const uids = [...index.keys()].sort();
    return list(uids, (uid) => {
      const sources = index.get(uid)!;
      let n = 0;
      for (const s of sources.values()) n += s.metastore.length;
      return ctx.group(uid, uid, `${count(sources.size, 'sources')} · ${count(n, 'metastore shards')}`, ctx.groupFindings(uid), 'database');
    });
  }
  const sources = index.get(path[0]);
  if (!sources) return null;
  if (path.length === 1) {
    return list([...sources.keys()].sort(), (source) => {
      const s = sources.get(source)!;
      const desc = `metastore ${formatCount(s.metastore.length)} · control plane ${formatCount(s.controlPlane.length)}`;
      return ctx.group(source, source, desc, ctx.groupFindings(KEYS.shardSource.format(path[0], source)), 'symbol-namespace');
    });
  }
  const source = sources.get(path[1]);
  if (!source) return null;
  const findings = ctx.groupFindings(KEYS.shardSource.format(path[0], path[1]));
  const components: Array<{ segment: string; label: string; keys: string[]; collection: CollectionName }> = [
    { segment: 'metastore', label: 'metastore', keys: source.metastore, collection: 'quickwit.metastore.shards' },
    { segment: 'control-plane', label: 'control plane', keys: source.controlPlane, collection: 'quickwit.controlPlane.shards' },
    ...[...source.ingesters.keys()].sort().map((id) => ({
      segment: `ingester:${id}`,
      label: id,
      keys: source.ingesters.get(id)!,
      collection: 'quickwit.ingester.shards' as CollectionName,
    })),
  ];
  if (path.length === 2) {
    return list(components, (c) =>
      ctx.group(c.segment, c.label, count(c.keys.length, 'shards'), findings.filter((f) => f.facts.some((x) => x.subject.collection === c.collection)), 'server'),
    );
  }
  const component = components.find((c) => c.segment === path[2]);
  if (!component || path.length > 3) return null;
  return list(component.keys, (key) => {
    const shard = (ctx.model.collections[component.collection] as EntityMap<{ shardId: string; shardState: string }>).get(key);
    return ctx.entity(component.collection, key, shard?.shardId ?? key, shard?.shardState ?? 'gone');
  });
}

// ------------------------------------------------------------------ WAL --

function walChildren(ctx: Context, path: string[]): Children | null {
  const nodes = [...ctx.col('milvus.nodes').values()].sort((a, b) => a.serverId - b.serverId);
  if (path.length === 0) {
    return list(nodes, (n) => {
      const wals = [...ctx.col('milvus.wals').values()].filter((w) => w.serverId === n.serverId);
      const node = ctx.entity('milvus.nodes', n.key, `${n.key} (${n.address})`, `${n.lifecycle} · ${n.build} · ${count(wals.length, 'WALs')}`, true, 'vm');
      const groupFindings = ctx.groupFindings(n.key);
      if (groupFindings.length) node.health = ctx.health(groupFindings);
      node.findingIds = [...new Set([...(node.findingIds ?? []), ...groupFindings.map((f) => f.id)])];
      return node;
    });
  }
  const node = ctx.col('milvus.nodes').get(path[0]);
  if (!node) return null;
  if (path.length === 1) {
    const wals = [...ctx.col('milvus.wals').values()].filter((w) => w.serverId === node.serverId);
    const metas = [...ctx.col('milvus.channelMetas').values()].filter((m) => m.node === node.serverId);
    const items: TreeNode[] = [
      ...wals.map((w) => {
        const desc = `term ${w.term} · ${w.available ? 'available' : 'unavailable'}${w.recovering ? ' · recovering' : ''}${w.closing ? ' · closing' : ''} · ${w.inFlightAppends === null ? 'in flight: not observable' : `${w.inFlightAppends} in flight`}`;
        return ctx.entity('milvus.wals', w.key, `WAL ${w.channel}`, desc, (w.inFlightAppends ?? 0) > 0 || (w.inFlightAppends === null && w.closing), 'output');
      }),
      ...metas.map((m) => ctx.entity('milvus.channelMetas', m.key, `assignment ${m.channel}`, `${m.state} · term ${m.term}`, false, 'references')),
    ];
    return list(items, (n) => n);
  }
  const wal = ctx.col('milvus.wals').get(path[1]);
  if (!wal || path.length > 2) return null;
  const appends = [...ctx.col('milvus.appends').values()].filter((a) => a.serverId === wal.serverId && a.channel === wal.channel);
  return list(appends, (a) => ctx.entity('milvus.appends', a.key, `append ${a.appendId}`, `${a.phase} · since ${formatClusterTime(a.startedAt, ctx.model.status)} · term ${a.term}`, false, 'arrow-right'));
}

// ------------------------------------------------------------------ DDL --

const ETCD_SEGMENT = '@etcd';

function ddlChildren(ctx: Context, path: string[]): Children | null {
  const byTable = new Map<string, EntityOf<'greptime.procedures'>[]>();
  for (const p of ctx.col('greptime.procedures').values()) {
    const list = byTable.get(p.table);
    if (list) list.push(p);
    else byTable.set(p.table, [p]);
  }
  if (path.length === 0) {
    const tables = [...byTable.keys()].sort();
    const etcd = [...ctx.col('greptime.etcd').values()];
    const items: TreeNode[] = tables.map((t) => {
      const procs = byTable.get(t)!;
      const unfinished = procs.filter((p) => !['Done', 'Failed'].includes(p.status)).length;
      return ctx.group(t, t, `${count(procs.length, 'procedures')} · ${formatCount(unfinished)} unfinished`, ctx.groupFindings(t), 'table');
    });
    const bytes = etcd.reduce((n, p) => n + p.sizeBytes, 0);
    const etcdFindings = ctx.findings.filter((f) => f.facts.some((x) => x.subject.collection === 'greptime.etcd'));
    items.push(ctx.group(ETCD_SEGMENT, 'etcd', `${count(etcd.length, 'prefixes')} · ${(bytes / 1024 / 1024).toFixed(1)} MiB`, etcdFindings, 'database'));
    return list(items, (n) => n);
  }
  if (path.length > 1) return null;
  if (path[0] === ETCD_SEGMENT) {
    const prefixes = [...ctx.col('greptime.etcd').values()].sort((a, b) => a.prefix.localeCompare(b.prefix));
    return list(prefixes, (p) => ctx.entity('greptime.etcd', p.key, p.prefix, `${count(p.keyCount, 'keys')} · ${formatCount(p.sizeBytes)} bytes`, false, 'key'));
  }
  const procs = byTable.get(path[0]);
  if (!procs) return null;
  procs.sort((a, b) => a.startTime - b.startTime || a.key.localeCompare(b.key));
  return list(procs, (p) =>
    ctx.entity('greptime.procedures', p.key, p.procedureId, `${p.typeName.replace(/^metasrv-procedure::/, '')} · ${p.status} · ${p.retries} retries`, false, 'gear'),
  );
}

// -------------------------------------------------------------- regions --

function regionChildren(ctx: Context, path: string[]): Children | null {
  const stores = new Map<number, EntityOf<'tikv.regions'>[]>();
  for (const b of ctx.col('tikv.writeBatches').values()) if (!stores.has(b.storeId)) stores.set(b.storeId, []);
  for (const r of ctx.col('tikv.regions').values()) {
    const list = stores.get(r.storeId);
    if (list) list.push(r);
    else stores.set(r.storeId, [r]);
  }
  if (path.length === 0) {
    const ids = [...stores.keys()].sort((a, b) => a - b);
    return list(ids, (id) => {
      const key = KEYS.writeBatch.format(id);
      return ctx.group(key, key, count(stores.get(id)!.length, 'cached regions'), ctx.groupFindings(key), 'server');
    });
  }
  const storeId = KEYS.writeBatch.parse(path[0])?.storeId;
  const regions = storeId === undefined ? undefined : stores.get(storeId);
  if (storeId === undefined || !regions || path.length > 1) return null;
  regions.sort((a, b) => a.regionId - b.regionId);
  const batch = ctx.col('tikv.writeBatches').get(KEYS.writeBatch.format(storeId));
  const batchNodes = batch
    ? [
        ctx.entity(
          'tikv.writeBatches',
          batch.key,
          'write batch',
          `current ${batch.currentRegion ?? 'none'} · written [${batch.writtenRegions.join(', ')}]${batch.atCommitBoundary ? ' · at commit boundary' : ''}`,
          false,
          'layers',
        ),
      ]
    : [];
  return {
    count: batchNodes.length + regions.length,
    make: (i) => {
      if (i < batchNodes.length) return batchNodes[i];
      const r = regions[i - batchNodes.length];
      return ctx.entity('tikv.regions', r.key, `region ${r.regionId}`, `${r.state === 'Active' ? 'cached' : r.state}${r.isWritten ? ' · prepared for write' : ''}`, false, 'symbol-array');
    },
  };
}

// ----------------------------------------------------------- partitions --

function partitionChildren(ctx: Context, path: string[]): Children | null {
  const topics = new Map<string, EntityOf<'fluvio.partitions'>[]>();
  for (const p of ctx.col('fluvio.partitions').values()) {
    const list = topics.get(p.topic);
    if (list) list.push(p);
    else topics.set(p.topic, [p]);
  }
  if (path.length === 0) {
    return list([...topics.keys()].sort(), (t) => ctx.group(t, t, count(topics.get(t)!.length, 'partitions'), ctx.groupFindings(t), 'list-unordered'));
  }
  const partitions = topics.get(path[0]);
  if (!partitions || path.length > 1) return null;
  partitions.sort((a, b) => a.partition - b.partition);
  const reports = ctx.col('fluvio.spuReports');
  return list(partitions, (p) => {
    const report = reports.get(KEYS.spuReport.format(p.leader.spu, p.topic, p.partition));
    const spu = report ? `SPU ${report.spuId}: ${report.storageFull ? 'storage full' : (report.freeBytes === null ? 'storage not full' : `${formatCount(report.freeBytes)} bytes free`)}` : `SPU ${p.leader.spu}: no report`;
    return ctx.entity('fluvio.partitions', p.key, `partition ${p.partition}`, `SC ${p.resolution} · ${spu}`, false, 'symbol-event');
  });
}

// ----------------------------------------------------------- first view --

/**
 * The views before the first sync ends, from `cluster.summary`: the same group nodes (same ids, so
 * an expanded group stays expanded when the entities arrive) with the cluster's counts. Below the
 * groups the summary knows nothing: a message says the entities are on their way.
 */
class FirstView {
  constructor(
    readonly session: ClusterSession,
    readonly summary: SummaryResult,
    readonly parentId: string,
  ) {}

  /** The groups of a collection, by name. */
  groups(c: CollectionName): Map<string, { count: number; states?: Record<string, number> }> {
    return new Map((this.summary.collections[c]?.groups ?? []).map((g) => [g.group, g]));
  }

  total(c: CollectionName): number {
    return this.summary.collections[c]?.total ?? 0;
  }

  group(segment: string, label: string, description: string, icon: string): TreeNode {
    const progress = this.session.syncProgress;
    return {
      id: childId(this.parentId, segment),
      kind: 'group',
      label,
      description,
      tooltip: `Counted by the cluster; the entities arrive when the sync ends${progress ? ` (${syncedText(progress)})` : ''}`,
      health: 'none',
      icon,
      hasChildren: true,
      cluster: this.session.name,
    };
  }

  /** What a group holds is not known before the sync ends. */
  loading(): Children {
    const progress = this.session.syncProgress;
    const label = `Loading: the entities arrive when the sync ends${progress ? ` (${syncedText(progress)})` : ''}`;
    return list([message(this.parentId, this.session.name, label, 'none')], (n) => n);
  }
}

function firstViewChildren(fv: FirstView, subsystem: Subsystem, path: string[]): Children | null {
  if (path.length > 0 && !(subsystem === 'shards' && path.length < 3)) return fv.loading();
  switch (subsystem) {
    case 'shards':
      return firstViewShards(fv, path);
    case 'wal': {
      const nodes = new Map<string, number>();
      for (const [g, { count: n }] of fv.groups('milvus.wals')) nodes.set(g, n);
      for (const g of fv.groups('milvus.channelMetas').keys()) if (!nodes.has(g)) nodes.set(g, 0);
      const ids = [...nodes.keys()].sort((a, b) => (KEYS.node.parse(a)?.serverId ?? 0) - (KEYS.node.parse(b)?.serverId ?? 0));
      return list(ids, (id) => fv.group(id, id, count(nodes.get(id)!, 'WALs'), 'vm'));
    }
    case 'ddl': {
      const tables = fv.groups('greptime.procedures');
      const items = [...tables.keys()].sort().map((t) => {
        const g = tables.get(t)!;
        const finished = (g.states?.Done ?? 0) + (g.states?.Failed ?? 0);
        return fv.group(t, t, `${count(g.count, 'procedures')} · ${formatCount(g.count - finished)} unfinished`, 'table');
      });
      items.push(fv.group(ETCD_SEGMENT, 'etcd', count(fv.total('greptime.etcd'), 'prefixes'), 'database'));
      return list(items, (n) => n);
    }
    case 'regions': {
      const stores = fv.groups('tikv.regions');
      const ids = [...stores.keys()].sort((a, b) => (KEYS.writeBatch.parse(a)?.storeId ?? 0) - (KEYS.writeBatch.parse(b)?.storeId ?? 0));
      return list(ids, (id) => fv.group(id, id, count(stores.get(id)!.count, 'cached regions'), 'server'));
    }
    case 'partitions': {
      const topics = fv.groups('fluvio.partitions');
      return list([...topics.keys()].sort(), (t) => fv.group(t, t, count(topics.get(t)!.count, 'partitions'), 'list-unordered'));
    }
  }
}

/** Index → source → counts per component, as `shardIndex` builds them from entities. */
function firstViewShards(fv: FirstView, path: string[]): Children | null {
  type Counts = { metastore: number; controlPlane: number; ingesters: Map<string, number> };
  const index = new Map<string, Map<string, Counts>>();
  const slot = (indexUid: string, sourceId: string): Counts => {
    let sources = index.get(indexUid);
    if (!sources) index.set(indexUid, (sources = new Map()));
    let s = sources.get(sourceId);
    if (!s) sources.set(sourceId, (s = { metastore: 0, controlPlane: 0, ingesters: new Map() }));
    return s;
  };
  for (const [g, { count: n }] of fv.groups('quickwit.metastore.shards')) {
    const k = KEYS.shardSource.parse(g);
    if (k) slot(k.indexUid, k.sourceId).metastore += n;
  }
  for (const [g, { count: n }] of fv.groups('quickwit.controlPlane.shards')) {
    const k = KEYS.shardSource.parse(g);
    if (k) slot(k.indexUid, k.sourceId).controlPlane += n;
  }
  for (const [g, { count: n }] of fv.groups('quickwit.ingester.shards')) {
    const k = KEYS.ingesterSource.parse(g);
    if (k) slot(k.indexUid, k.sourceId).ingesters.set(k.ingesterId, n);
  }
  if (path.length === 0) {
    return list([...index.keys()].sort(), (uid) => {
      const sources = index.get(uid)!;
      let n = 0;
      for (const s of sources.values()) n += s.metastore;
      return fv.group(uid, uid, `${count(sources.size, 'sources')} · ${count(n, 'metastore shards')}`, 'database');
    });
  }
  const sources = index.get(path[0]);
  if (!sources) return null;
  if (path.length === 1) {
    return list([...sources.keys()].sort(), (source) => {
      const s = sources.get(source)!;
      return fv.group(source, source, `metastore ${formatCount(s.metastore)} · control plane ${formatCount(s.controlPlane)}`, 'symbol-namespace');
    });
  }
  const source = sources.get(path[1]);
  if (!source) return null;
  const components = [
    { segment: 'metastore', label: 'metastore', n: source.metastore },
    { segment: 'control-plane', label: 'control plane', n: source.controlPlane },
    ...[...source.ingesters.keys()].sort().map((id) => ({ segment: `ingester:${id}`, label: id, n: source.ingesters.get(id)! })),
  ];
  return list(components, (c) => fv.group(c.segment, c.label, count(c.n, 'shards'), 'server'));
}
