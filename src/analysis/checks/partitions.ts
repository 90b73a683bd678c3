/**
 * Fluvio: only the leader SPU's report may clear OutOfStorage; the SC's
 * election logic must never turn an OutOfStorage partition Online (fluvio #4528).
 */
import { keys, type EntityRef, type Finding, type ScPartition, type SpuReport } from '../../protocol';
import { formatBytes, plural } from '../../protocol/format';
import type { ClusterModel } from '../model';
import { batchedOption, facts, factsPer, isAre, makeFinding, pushSample, stillAt, TargetBatcher } from './common';

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

  const fact = facts(model.status);
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
    const names =
      items
        .slice(0, 5)
        .map(({ partition }) => partition.key)
        .join(', ') + (items.length > 5 ? ', …' : '');
    findings.push(
      makeFinding('partitions/online-out-of-space', {
        group: topic,
        message:
          `Topic ${topic}: ${plural(items.length, 'partition')} (${names}) ${items.length === 1 ? 'is' : 'are'} Online at the SC, ` +
          `but the leader SPU reports its storage full: producers are writing to a full disk.`,
        count: items.length,
        samples,
        anchor: samples[0],
        facts: factsPer(
          items,
          ({ partition, report }) => [
            fact.entity(
              'fluvio.partitions',
              partition,
              `SC says ${partition.key} is Online (leader SPU ${partition.leader.spu}, hw ${partition.leader.hw}, leo ${partition.leader.leo}).`,
            ),
            fact.entity(
              'fluvio.spuReports',
              report,
              `SPU ${report.spuId}'s last report (${fact.at(report.reportedAt)}) says its storage is full${report.freeBytes === null ? '' : `, ${formatBytes(report.freeBytes)} free`}.`,
              { component: `SPU ${report.spuId}`, since: report.reportedAt },
            ),
          ],
          (rest) =>
            fact.group(
              'fluvio.partitions',
              topic,
              rest.length,
              rest[0]!.partition.key,
              `SC says ${plural(rest.length, 'other partition')} of ${topic} ${isAre(rest.length)} Online too, and their leader SPUs report storage full.`,
            ),
        ),
        repairs: batchedOption(
          {
            id: 'restore-from-spu-report',
            title: `Restore OutOfStorage on ${plural(items.length, 'partition')} of topic ${topic} from the SPU report`,
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
