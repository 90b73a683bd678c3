/**
 * The DDL Tasks view (GreptimeDB): table → its procedures, and etcd → its prefixes. The summary
 * knows the tables (with the procedures' states) and how many prefixes etcd has.
 */
import { ETCD, PROCEDURES, formatCount, type EntityOf, type Finding, type TreeNode } from '../../protocol';
import { collectionOf, count, list, type Children, type GroupMaker, type TreeLayout } from './layout';

/** The etcd group's segment, beside the tables'. */
const ETCD_SEGMENT = '@etcd';

/** The root level, for both views: the tables by name, then etcd. */
function rootGroups(
  g: GroupMaker,
  tables: Map<string, { procedures: number; unfinished: number }>,
  etcdDescription: string,
  etcdFindings: Finding[],
): Children {
  const items: TreeNode[] = [...tables.keys()].sort().map((t) => {
    const { procedures, unfinished } = tables.get(t)!;
    return g.group(t, t, `${count(procedures, 'procedures')} · ${formatCount(unfinished)} unfinished`, 'table', g.groupFindings(t));
  });
  items.push(g.group(ETCD_SEGMENT, 'etcd', etcdDescription, 'database', etcdFindings));
  return list(items, (n) => n);
}

export const ddlLayout: TreeLayout = {
  children(ctx, path) {
    const byTable = new Map<string, EntityOf<typeof PROCEDURES>[]>();
    for (const p of ctx.col(PROCEDURES).values()) {
      const list = byTable.get(p.table);
      if (list) list.push(p);
      else byTable.set(p.table, [p]);
    }
    if (path.length === 0) {
      const tables = new Map(
        [...byTable].map(([t, procs]) => [
          t,
          { procedures: procs.length, unfinished: procs.filter((p) => !['Done', 'Failed'].includes(p.status)).length },
        ]),
      );
      const etcd = [...ctx.col(ETCD).values()];
      const bytes = etcd.reduce((n, p) => n + p.sizeBytes, 0);
      const etcdFindings = ctx.findings.filter((f) => f.facts.some((x) => x.subject.collection === ETCD));
      return rootGroups(ctx, tables, `${count(etcd.length, 'prefixes')} · ${(bytes / 1024 / 1024).toFixed(1)} MiB`, etcdFindings);
    }
    if (path.length > 1) return null;
    if (path[0] === ETCD_SEGMENT) {
      const prefixes = [...ctx.col(ETCD).values()].sort((a, b) => a.prefix.localeCompare(b.prefix));
      return list(prefixes, (p) =>
        ctx.entity(ETCD, p.key, p.prefix, `${count(p.keyCount, 'keys')} · ${formatCount(p.sizeBytes)} bytes`, false, 'key'),
      );
    }
    const procs = byTable.get(path[0]);
    if (!procs) return null;
    procs.sort((a, b) => a.startTime - b.startTime || a.key.localeCompare(b.key));
    return list(procs, (p) =>
      ctx.entity(
        PROCEDURES,
        p.key,
        p.procedureId,
        `${p.typeName.replace(/^metasrv-procedure::/, '')} · ${p.status} · ${p.retries} retries`,
        false,
        'gear',
      ),
    );
  },

  firstViewDepth: 1,
  firstView(fv) {
    const groups = fv.groups(PROCEDURES);
    const tables = new Map(
      [...groups].map(([t, g]) => [t, { procedures: g.count, unfinished: g.count - ((g.states?.Done ?? 0) + (g.states?.Failed ?? 0)) }]),
    );
    return rootGroups(fv, tables, count(fv.total(ETCD), 'prefixes'), []);
  },

  entityPath(model, collection, key) {
    if (collection === PROCEDURES) {
      const p = collectionOf(model, collection).get(key);
      return p ? [p.table] : undefined;
    }
    if (collection === ETCD) return collectionOf(model, collection).has(key) ? [ETCD_SEGMENT] : undefined;
    return undefined;
  },
};
