/**
 * Tree children for the extension's views, grouped the way an operator of
 * each system thinks, and paged: a level never returns more than `limit`
 * nodes, then a `loadMore` node with a cursor. Nodes are made only for the
 * requested page, so 760,000 shards never become 760,000 TreeNodes.
 *
 * Ids are stable: `<subsystem>:<cluster>` for the root, then `/`-separated,
 * URI-encoded segments. A parent id is therefore a path we can walk back.
 *
 * This file is what every view shares (paging, messages, the cluster's root node, ids); each
 * subsystem's levels are its layout, ./<subsystem>.ts (`TreeLayout`, ./layout.ts).
 */
import { COLLECTIONS, SUBSYSTEM_TITLES, type CollectionName, type Subsystem, type TreeNode } from '../../protocol';
import type { ClusterModel } from '../../analysis/model';
import { formatCount, percentDone, plural, ruleNotes } from '../../protocol';
import { childId, Context, FirstView, healthOf, message, syncedText, type Children, type TreeCluster, type TreeLayout } from './layout';
import { ddlLayout } from './ddl';
import { partitionsLayout } from './partitions';
import { regionsLayout } from './regions';
import { shardsLayout } from './shards';
import { walLayout } from './wal';

export { syncedText, type TreeCluster } from './layout';

export const NO_CLUSTER_MESSAGE = "No cluster connected — run 'Cluster: Start Bundled Simulator' or 'Cluster: Connect…'";

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
function pageOf(
  children: Children,
  parentId: string,
  cluster: string,
  cursor: string | null | undefined,
  limit: number,
  first: readonly TreeNode[] = [],
): TreeNode[] {
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
 * The id of an entity's node in its subsystem's view, from its fields, as its layout places it
 * (`TreeLayout.entityPath`); undefined when the view does not show it (its collection, or a parent it lacks).
 */
export function entityTreeId(cluster: string, model: ClusterModel, collection: CollectionName, key: string): string | undefined {
  const segments = LAYOUTS[COLLECTIONS[collection].subsystem].entityPath(model, collection, key);
  return segments && treeNodeId(COLLECTIONS[collection].subsystem, cluster, [...segments, key]);
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
      icon:
        failed || unavailable
          ? 'error'
          : stale
            ? 'debug-disconnect'
            : notConfigured
              ? 'circle-slash'
              : status?.readOnly
                ? 'lock'
                : 'server-environment',
      hasChildren: true,
      cluster: session.name,
      findingIds: findings.map((f) => f.id),
    } satisfies TreeNode;
  });
}

// -------------------------------------------------------------- layouts --

/** Each subsystem's view (./<subsystem>.ts). */
const LAYOUTS: Record<Subsystem, TreeLayout> = {
  shards: shardsLayout,
  wal: walLayout,
  ddl: ddlLayout,
  regions: regionsLayout,
  partitions: partitionsLayout,
};

function childrenOf(ctx: Context, path: string[]): Children | null {
  return LAYOUTS[ctx.subsystem].children(ctx, path);
}

/** Before the first sync ends: the groups the summary knows; below them, a message that the entities are on their way. */
function firstViewChildren(fv: FirstView, subsystem: Subsystem, path: string[]): Children | null {
  const layout = LAYOUTS[subsystem];
  return path.length >= layout.firstViewDepth ? fv.loading() : layout.firstView(fv, path);
}
