/**
 * The WAL Nodes view (Milvus): streaming node → its WALs and channel assignments → a WAL's appends.
 * The summary knows the nodes (the groups of their WALs and assignments), not the nodes' own entities.
 */
import { APPENDS, CHANNEL_METAS, KEYS, STREAMING_NODES, WALS, type TreeNode } from '../../protocol';
import type { ClusterModel } from '../../analysis/model';
import { formatClusterTime } from '../../protocol/format';
import { collectionOf, count, list, type TreeLayout } from './layout';

const NODE_ICON = 'vm';
const walCount = (n: number) => count(n, 'WALs');

/** The node key of a streaming node that exists, or undefined. */
function nodeOf(model: ClusterModel, serverId: number): string | undefined {
  const node = KEYS.node.format(serverId);
  return collectionOf(model, STREAMING_NODES).has(node) ? node : undefined;
}

export const walLayout: TreeLayout = {
  children(ctx, path) {
    const nodes = [...ctx.col(STREAMING_NODES).values()].sort((a, b) => a.serverId - b.serverId);
    if (path.length === 0) {
      return list(nodes, (n) => {
        const wals = [...ctx.col(WALS).values()].filter((w) => w.serverId === n.serverId);
        const node = ctx.entity(
          STREAMING_NODES,
          n.key,
          `${n.key} (${n.address})`,
          `${n.lifecycle} · ${n.build} · ${walCount(wals.length)}`,
          true,
          NODE_ICON,
        );
        const groupFindings = ctx.groupFindings(n.key);
        if (groupFindings.length) node.health = ctx.health(groupFindings);
        node.findingIds = [...new Set([...(node.findingIds ?? []), ...groupFindings.map((f) => f.id)])];
        return node;
      });
    }
    const node = ctx.col(STREAMING_NODES).get(path[0]);
    if (!node) return null;
    if (path.length === 1) {
      const wals = [...ctx.col(WALS).values()].filter((w) => w.serverId === node.serverId);
      const metas = [...ctx.col(CHANNEL_METAS).values()].filter((m) => m.node === node.serverId);
      const items: TreeNode[] = [
        ...wals.map((w) => {
          const desc = `term ${w.term} · ${w.available ? 'available' : 'unavailable'}${w.recovering ? ' · recovering' : ''}${w.closing ? ' · closing' : ''} · ${w.inFlightAppends === null ? 'in flight: not observable' : `${w.inFlightAppends} in flight`}`;
          return ctx.entity(
            WALS,
            w.key,
            `WAL ${w.channel}`,
            desc,
            (w.inFlightAppends ?? 0) > 0 || (w.inFlightAppends === null && w.closing),
            'output',
          );
        }),
        ...metas.map((m) =>
          ctx.entity(CHANNEL_METAS, m.key, `assignment ${m.channel}`, `${m.state} · term ${m.term}`, false, 'references'),
        ),
      ];
      return list(items, (n) => n);
    }
    const wal = ctx.col(WALS).get(path[1]);
    if (!wal || path.length > 2) return null;
    const appends = [...ctx.col(APPENDS).values()].filter((a) => a.serverId === wal.serverId && a.channel === wal.channel);
    return list(appends, (a) =>
      ctx.entity(
        APPENDS,
        a.key,
        `append ${a.appendId}`,
        `${a.phase} · since ${formatClusterTime(a.startedAt, ctx.model.status)} · term ${a.term}`,
        false,
        'arrow-right',
      ),
    );
  },

  firstViewDepth: 1,
  /** The nodes as groups: the summary counts WALs and assignments per node, but has no node entity. */
  firstView(fv) {
    const nodes = new Map<string, number>();
    for (const [g, { count: n }] of fv.groups(WALS)) nodes.set(g, n);
    for (const g of fv.groups(CHANNEL_METAS).keys()) if (!nodes.has(g)) nodes.set(g, 0);
    const ids = [...nodes.keys()].sort((a, b) => (KEYS.node.parse(a)?.serverId ?? 0) - (KEYS.node.parse(b)?.serverId ?? 0));
    return list(ids, (id) => fv.group(id, id, walCount(nodes.get(id)!), NODE_ICON));
  },

  entityPath(model, collection, key) {
    switch (collection) {
      case STREAMING_NODES:
        return collectionOf(model, collection).has(key) ? [] : undefined;
      case WALS: {
        const node = nodeOf(model, collectionOf(model, collection).get(key)?.serverId ?? NaN);
        return node === undefined ? undefined : [node];
      }
      case CHANNEL_METAS: {
        const node = nodeOf(model, collectionOf(model, collection).get(key)?.node ?? NaN);
        return node === undefined ? undefined : [node];
      }
      case APPENDS: {
        const a = collectionOf(model, collection).get(key);
        const node = a && nodeOf(model, a.serverId);
        const wal = a && KEYS.wal.format(a.serverId, a.channel);
        return node === undefined || wal === undefined || !collectionOf(model, WALS).has(wal) ? undefined : [node, wal];
      }
      default:
        return undefined;
    }
  },
};
