/**
 * The Shards view (Quickwit): index → source → component (metastore, control plane, each
 * ingester) → shard. The summary knows the first three levels.
 */
import { CONTROL_PLANE, INGESTER, KEYS, METASTORE, formatCount, type CollectionName, type EntityOf } from '../../protocol';
import type { ClusterModel, EntityMap } from '../../analysis/model';
import { collectionOf, count, list, type Children, type Context, type FirstView, type GroupMaker, type TreeLayout } from './layout';

/** A source's shards per component: their keys (synced) or their counts (first view). */
interface SourceShards<T> {
  metastore: T;
  controlPlane: T;
  ingesters: Map<string, T>;
}
/** Index → source → its shards. */
type ShardIndex<T> = Map<string, Map<string, SourceShards<T>>>;

const METASTORE_SEGMENT = 'metastore';
const CONTROL_PLANE_SEGMENT = 'control-plane';
const ingesterSegment = (ingesterId: string) => `ingester:${ingesterId}`;

/** The slot of a source in `index`, made on first use. */
function slotIn<T>(index: ShardIndex<T>, empty: () => T) {
  return (indexUid: string, sourceId: string): SourceShards<T> => {
    let sources = index.get(indexUid);
    if (!sources) index.set(indexUid, (sources = new Map()));
    let s = sources.get(sourceId);
    if (!s) sources.set(sourceId, (s = { metastore: empty(), controlPlane: empty(), ingesters: new Map() }));
    return s;
  };
}

/** A source's components, in the order shown: metastore, control plane, then the ingesters by id. */
function componentsOf<T>(s: SourceShards<T>): Array<{ segment: string; label: string; shards: T; collection: CollectionName }> {
  return [
    { segment: METASTORE_SEGMENT, label: 'metastore', shards: s.metastore, collection: METASTORE },
    { segment: CONTROL_PLANE_SEGMENT, label: 'control plane', shards: s.controlPlane, collection: CONTROL_PLANE },
    ...[...s.ingesters.keys()]
      .sort()
      .map((id) => ({ segment: ingesterSegment(id), label: id, shards: s.ingesters.get(id)!, collection: INGESTER as CollectionName })),
  ];
}

/** The group levels (indexes, sources, components), for both views: `size` counts a component's shards. */
function shardGroups<T>(g: GroupMaker, index: ShardIndex<T>, size: (shards: T) => number, path: string[]): Children | null {
  if (path.length === 0) {
    const uids = [...index.keys()].sort();
    return list(uids, (uid) => {
      const sources = index.get(uid)!;
      let n = 0;
      for (const s of sources.values()) n += size(s.metastore);
      return g.group(uid, uid, `${count(sources.size, 'sources')} · ${count(n, 'metastore shards')}`, 'database', g.groupFindings(uid));
    });
  }
  const sources = index.get(path[0]);
  if (!sources) return null;
  if (path.length === 1) {
    return list([...sources.keys()].sort(), (source) => {
      const s = sources.get(source)!;
      const desc = `metastore ${formatCount(size(s.metastore))} · control plane ${formatCount(size(s.controlPlane))}`;
      return g.group(source, source, desc, 'symbol-namespace', g.groupFindings(KEYS.shardSource.format(path[0], source)));
    });
  }
  const source = sources.get(path[1]);
  if (!source) return null;
  const findings = g.groupFindings(KEYS.shardSource.format(path[0], path[1]));
  return list(componentsOf(source), (c) =>
    g.group(
      c.segment,
      c.label,
      count(size(c.shards), 'shards'),
      'server',
      findings.filter((f) => f.facts.some((x) => x.subject.collection === c.collection)),
    ),
  );
}

/** Built once per model generation: grouping 760,000 shards per request would be too slow to page. */
const shardIndexCache = new WeakMap<ClusterModel, { generation: number; index: ShardIndex<string[]> }>();

function shardIndex(ctx: Context): ShardIndex<string[]> {
  const generation = ctx.cluster.session.generation;
  const cached = shardIndexCache.get(ctx.model);
  if (cached && cached.generation === generation) return cached.index;
  const index: ShardIndex<string[]> = new Map();
  const slot = slotIn(index, () => []);
  for (const s of ctx.col(METASTORE).values()) slot(s.indexUid, s.sourceId).metastore.push(s.key);
  for (const s of ctx.col(CONTROL_PLANE).values()) slot(s.indexUid, s.sourceId).controlPlane.push(s.key);
  for (const s of ctx.col(INGESTER).values()) {
    const ingesters = slot(s.indexUid, s.sourceId).ingesters;
    const list = ingesters.get(s.ingesterId);
    if (list) list.push(s.key);
    else ingesters.set(s.ingesterId, [s.key]);
  }
  shardIndexCache.set(ctx.model, { generation, index });
  return index;
}

export const shardsLayout: TreeLayout = {
  children(ctx, path) {
    const index = shardIndex(ctx);
    if (path.length < 3) return shardGroups(ctx, index, (keys) => keys.length, path);
    const source = index.get(path[0])?.get(path[1]);
    const component = source && componentsOf(source).find((c) => c.segment === path[2]);
    if (!component || path.length > 3) return null;
    return list(component.shards, (key) => {
      const shard = (ctx.model.collections[component.collection] as EntityMap<{ shardId: string; shardState: string }>).get(key);
      return ctx.entity(component.collection, key, shard?.shardId ?? key, shard?.shardState ?? 'gone');
    });
  },

  firstViewDepth: 3,
  firstView(fv: FirstView, path) {
    const index: ShardIndex<number> = new Map();
    const slot = slotIn(index, () => 0);
    for (const [g, { count: n }] of fv.groups(METASTORE)) {
      const k = KEYS.shardSource.parse(g);
      if (k) slot(k.indexUid, k.sourceId).metastore += n;
    }
    for (const [g, { count: n }] of fv.groups(CONTROL_PLANE)) {
      const k = KEYS.shardSource.parse(g);
      if (k) slot(k.indexUid, k.sourceId).controlPlane += n;
    }
    for (const [g, { count: n }] of fv.groups(INGESTER)) {
      const k = KEYS.ingesterSource.parse(g);
      if (k) slot(k.indexUid, k.sourceId).ingesters.set(k.ingesterId, n);
    }
    return shardGroups(fv, index, (n) => n, path);
  },

  entityPath(model, collection, key) {
    if (collection !== METASTORE && collection !== CONTROL_PLANE && collection !== INGESTER) return undefined;
    const s = collectionOf(model, collection).get(key);
    if (!s) return undefined;
    const component =
      collection === METASTORE
        ? METASTORE_SEGMENT
        : collection === CONTROL_PLANE
          ? CONTROL_PLANE_SEGMENT
          : ingesterSegment((s as EntityOf<typeof INGESTER>).ingesterId);
    return [s.indexUid, s.sourceId, component];
  },
};
