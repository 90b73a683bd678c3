/**
 * Fluvio: only the leader SPU's report may clear OutOfStorage; the SC's
 * election logic must never turn an OutOfStorage partition Online (fluvio #4528).
 */
import { keys, type EntityRef, type Finding, type ScPartition, type SpuReport } from '../../protocol';
import { formatBytes, plural } from '../../protocol/format';
import type { ClusterModel } from '../model';
import { batchedOption, makeFinding, pushSample, stillAt, TargetBatcher } from './common';

/** The leader SPU's report that says storage full, for a partition the SC says is Online; else undefined. */
export function fullLeaderReport(p: ScPartition, reports: ReadonlyMap<string, SpuReport>): SpuReport | undefined {
  if (p.resolution !== 'Online') return undefined;
  const report = reports.get(keys.spuReport(p.leader.spu, p.topic, p.partition));
  return report?.storageFull ? report : undefined;
}

/** `partitions/online-out-of-space`: Online at the SC while the leader SPU reports its storage full. Grouped by topic. */
export function checkOnlineOutOfStorage(model: ClusterModel): Finding[] {
  const { collections } = model;
  const reports = collections['fluvio.spuReports'];
  const byTopic = new Map<string, { partition: ScPartition; report: SpuReport }[]>();
  for (const p of collections['fluvio.partitions'].values()) {
    const report = fullLeaderReport(p, reports);
    if (!report) continue;
    const list = byTopic.get(p.topic);
    if (list) list.push({ partition: p, report });
    else byTopic.set(p.topic, [{ partition: p, report }]);
  }

  const findings: Finding[] = [];
  for (const [topic, items] of byTopic) {
    const samples: EntityRef[] = [];
    const restore = new TargetBatcher('fluvio.restoreFromSpuReport');
    for (const { partition, report } of items) {
      pushSample(samples, 'fluvio.partitions', partition);
      pushSample(samples, 'fluvio.spuReports', report);
      // Rests on the leader SPU's report saying what it said: storage full.
      restore.add(partition, stillAt('fluvio.spuReports', report));
    }
    const names = items.slice(0, 5).map(({ partition }) => partition.key).join(', ') + (items.length > 5 ? ', …' : '');
    const spus = [...new Set(items.map(({ report }) => report.spuId))].sort((a, b) => a - b).join(', ');
    findings.push(
      makeFinding('partitions/online-out-of-space', {
        group: topic,
        message:
          `Topic ${topic}: ${plural(items.length, 'partition')} (${names}) ${items.length === 1 ? 'is' : 'are'} Online at the SC, ` +
          `but the leader SPU reports its storage full: producers are writing to a full disk.`,
        count: items.length,
        samples,
        anchor: samples[0],
        views: [
          { component: 'SC', collection: 'fluvio.partitions', says: 'resolution Online' },
          { component: 'SPU', collection: 'fluvio.spuReports', says: `SPU ${spus}: storage full` },
        ],
        evidence: items
          .slice(0, 10)
          .map(
            ({ partition, report }) =>
              `${partition.key}: SC resolution Online (leader SPU ${partition.leader.spu}, hw ${partition.leader.hw}, leo ${partition.leader.leo}); ` +
              `SPU ${report.spuId} reported storage full at t=${report.reportedAt}, ${formatBytes(report.freeBytes)} free`,
          ),
        repairs: batchedOption(
          {
            id: 'restore-from-spu-report',
            title: `Restore OutOfStorage on ${plural(items.length, 'partition')} from the SPU report`,
            safety: 'safe',
            description:
              "Sets the SC's resolution back to what the leader SPU last reported (OutOfStorage), so producers stop " +
              'writing to a full disk. Idempotent. Once space is freed (retention), the SPU re-reports and the partition comes back Online.',
          },
          restore,
        ),
      }),
    );
  }
  return findings;
}
