/** The rule table and `runChecks`: which check implements which rule id. */
import { RULES, ruleReadiness, type Finding, type RuleId, type Subsystem } from '../../protocol';
import type { ClusterModel } from '../model';
import type { Check, CheckOptions } from './common';
import { checkDdlBacklog, checkDuplicateProcedures } from './ddl';
import { checkUnreadableRecords } from './gateway';
import { checkOnlineOutOfStorage } from './partitions';
import { checkStalePreparedRegions } from './regions';
import { checkDanglingShards, checkOrphanedShards } from './shards';
import { checkForbiddenTransitions } from './timeline';
import { checkCloseBlockedWals } from './wal';

export type { Check, CheckContext, CheckOptions } from './common';
export { checkForbiddenTransitions, forbiddenTransitions, FORBIDDEN_KINDS, type ForbiddenKind, type ForbiddenTransition } from './timeline';
export { checkDdlBacklog, checkDuplicateProcedures, ETCD_QUOTA_WARN_RATIO, isUnfinished } from './ddl';
export { checkUnreadableRecords } from './gateway';
export { checkOnlineOutOfStorage } from './partitions';
export { checkStalePreparedRegions, staleMarkReason } from './regions';
export { checkDanglingShards, checkOrphanedShards, holdsData, isSafeToDeleteShard, orphanMayHoldUnpublished } from './shards';
export { checkCloseBlockedWals } from './wal';
export {
  checkDanglingShardsFromCounts,
  checkDdlBacklogFromCounts,
  checkOrphanedShardsFromCounts,
  runSummaryChecks,
  SUMMARY_CHECKS,
  type SummaryCheck,
} from './summary';

/** Every rule's check. `satisfies` makes a rule without a check a compile error. */
export const CHECKS = {
  'shards/dangling': checkDanglingShards,
  'shards/orphaned': checkOrphanedShards,
  'wal/close-blocked': checkCloseBlockedWals,
  'ddl/backlog': checkDdlBacklog,
  'ddl/duplicate': checkDuplicateProcedures,
  'regions/stale-prepared': checkStalePreparedRegions,
  'partitions/online-out-of-space': checkOnlineOutOfStorage,
  'timeline/forbidden-transition': checkForbiddenTransitions,
  'gateway/unreadable-record': checkUnreadableRecords,
} as const satisfies Record<RuleId, Check>;

/** Runs every check (or those of one subsystem) and returns grouped findings, sorted by id. */
export function runChecks(model: ClusterModel, options: CheckOptions & { subsystem?: Subsystem } = {}): Finding[] {
  const findings: Finding[] = [];
  for (const rule of Object.keys(CHECKS) as RuleId[]) {
    // A rule of no single subsystem (null) runs for each, keeping the findings of the one asked for.
    const ruleSubsystem: Subsystem | null = RULES[rule].subsystem;
    if (options.subsystem && ruleSubsystem !== null && ruleSubsystem !== options.subsystem) continue;
    const severity = options.severities?.[rule] ?? RULES[rule].severity;
    // An 'off' rule is not run at all: no cost for a rule the user silenced.
    if (severity === 'off') continue;
    // A rule whose collections are not all known now, or whose bug this version cannot have, is not run.
    if (ruleReadiness(rule, model.status).state !== 'checked') continue;
    for (const f of CHECKS[rule](model, { timeline: options.timeline })) {
      if (options.subsystem && f.subsystem !== options.subsystem) continue;
      findings.push(severity === f.severity ? f : { ...f, severity });
    }
  }
  return findings.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
