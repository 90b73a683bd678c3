/**
 * The Partitions view (Fluvio): topic → its partitions, each with its leader SPU's report. The
 * summary knows the topics (the groups of their partitions).
 */
import { KEYS, PARTITIONS, SPU_REPORTS, formatCount, type EntityOf } from '../../protocol';
import { collectionOf, count, list, type GroupMaker, type TreeLayout } from './layout';

/** The topics by name, for both views. */
function topicGroups(g: GroupMaker, topics: Map<string, number>) {
  return list([...topics.keys()].sort(), (t) => g.group(t, t, count(topics.get(t)!, 'partitions'), 'list-unordered', g.groupFindings(t)));
}

export const partitionsLayout: TreeLayout = {
  children(ctx, path) {
    const topics = new Map<string, EntityOf<typeof PARTITIONS>[]>();
    for (const p of ctx.col(PARTITIONS).values()) {
      const list = topics.get(p.topic);
      if (list) list.push(p);
      else topics.set(p.topic, [p]);
    }
    if (path.length === 0) return topicGroups(ctx, new Map([...topics].map(([t, ps]) => [t, ps.length])));
    const partitions = topics.get(path[0]);
    if (!partitions || path.length > 1) return null;
    partitions.sort((a, b) => a.partition - b.partition);
    const reports = ctx.col(SPU_REPORTS);
    return list(partitions, (p) => {
      const report = reports.get(KEYS.spuReport.format(p.leader.spu, p.topic, p.partition));
      const spu = report
        ? `SPU ${report.spuId}: ${report.storageFull ? 'storage full' : report.freeBytes === null ? 'storage not full' : `${formatCount(report.freeBytes)} bytes free`}`
        : `SPU ${p.leader.spu}: no report`;
      return ctx.entity(PARTITIONS, p.key, `partition ${p.partition}`, `SC ${p.resolution} · ${spu}`, false, 'symbol-event');
    });
  },

  firstViewDepth: 1,
  firstView(fv) {
    return topicGroups(fv, new Map([...fv.groups(PARTITIONS)].map(([t, g]) => [t, g.count])));
  },

  /** Partitions only: SPUs and their reports show in the partitions' descriptions. */
  entityPath(model, collection, key) {
    if (collection !== PARTITIONS) return undefined;
    const p = collectionOf(model, collection).get(key);
    return p ? [p.topic] : undefined;
  },
};
