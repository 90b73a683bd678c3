/**
 * Checks that run on counts: the cluster's `cluster.summary` (per collection, group and state),
 * before the full sync has read a single page. At 763,471 shards the sync takes seconds; these
 * take microseconds, so the editor can say "763,471 shards in the metastore, 3,000 in the control
 * plane" as soon as it connects.
 *
 * Each check draws only the conclusion its counts prove. Its finding is therefore one the full
 * check makes too, on a model read at the summary's seq: the same id, and a `count` that is a lower
 * bound of the full finding's. Such a finding is `provisional`: its facts are counts, not entities,
 * so it offers no repair (a repair names the versions of the entities it was planned from), and the
 * full check's findings replace it when the sync ends. Rules that need the entities themselves (a
 * WAL's appends, a region's marks, an SPU's report) have no check here.
 */
import {
  KEYS,
  RULES,
  ruleReadiness,
  UNFINISHED_PROCEDURE_STATUSES,
  type ClusterStatus,
  type CollectionName,
  type CollectionSummary,
  type Fact,
  type Finding,
  type GroupCount,
  type RuleId,
  type SummaryResult,
} from '../../protocol';
import { formatCount, plural } from '../../protocol/format';
import { facts, factsPer, isAre, makeFinding, type CheckOptions, type FindingParts } from './common';
import { backlogCauses, causeFacts } from './ddl';
import { CONTROL_PLANE, INGESTER, METASTORE, PROCEDURES } from '../../protocol/systems';

/** One rule's check on counts: a pure function of the cluster's summary and its status (config, time, epoch). */
export type SummaryCheck = (summary: SummaryResult, status: ClusterStatus) => Finding[];

/** A provisional finding: no samples (no entity was read), no repairs; the diagnostic sits on its collection's section. */
function provisionalFinding(
  rule: RuleId,
  collection: CollectionName,
  parts: Omit<FindingParts, 'samples' | 'repairs' | 'anchor'>,
): Finding {
  // The anchor names the group, not an entity (version 0: none was read); it locates nothing but the section.
  const anchor = { collection, key: parts.group, version: 0 };
  return { ...makeFinding(rule, { ...parts, anchor, samples: [], repairs: [] }), provisional: true };
}

/**
 * A collection's count per group: the group's count, 0 for a group it does not list when it lists
 * every group, undefined when the group may be among those left out (`groupsOmitted`).
 */
function groupCounter(s: CollectionSummary): (group: string) => number | undefined {
  const byGroup = new Map<string, GroupCount>((s.groups ?? []).map((g) => [g.group, g]));
  return (group) => byGroup.get(group)?.count ?? (s.groupsOmitted ? undefined : 0);
}

/** Ingester shards per source (`index/source`), and per ingester of it; undefined when some groups were left out. */
function ingesterShardsBySource(s: CollectionSummary): Map<string, { count: number; byIngester: Map<string, number> }> | undefined {
  if (s.groupsOmitted) return undefined;
  const out = new Map<string, { count: number; byIngester: Map<string, number> }>();
  for (const g of s.groups ?? []) {
    const parts = KEYS.ingesterSource.parse(g.group);
    if (!parts) continue;
    const source = KEYS.shardSource.format(parts.indexUid, parts.sourceId);
    let slot = out.get(source);
    if (!slot) out.set(source, (slot = { count: 0, byIngester: new Map() }));
    slot.count += g.count;
    slot.byIngester.set(parts.ingesterId, (slot.byIngester.get(parts.ingesterId) ?? 0) + g.count);
  }
  return out;
}

/** "index X, source Y" for a shard group, or the group itself if it is not `index/source`. */
function sourceText(group: string): string {
  const parts = KEYS.shardSource.parse(group);
  return parts ? `index ${parts.indexUid}, source ${parts.sourceId}` : group;
}

/**
 * `shards/dangling` from counts: per source, the metastore's non-closed shards beyond all the
 * control plane knows and all the ingesters hold. Each shard the control plane knows or an ingester
 * holds accounts for at most one metastore shard, so `open − known − held` of them are known to
 * neither, at least: the full check finds that many or more (fewer shards counted twice, by the
 * control plane and an ingester, make the true number larger).
 */
export function checkDanglingShardsFromCounts(summary: SummaryResult, status: ClusterStatus): Finding[] {
  const metastore = summary.collections[METASTORE];
  const controlPlane = summary.collections[CONTROL_PLANE];
  const ingesters = summary.collections[INGESTER];
  if (!metastore?.groups || !controlPlane || !ingesters) return [];
  const knownOf = groupCounter(controlPlane);
  const held = ingesterShardsBySource(ingesters);
  if (!held) return [];
  const fact = facts(status);
  const epoch = status.controlPlaneEpoch;
  const findings: Finding[] = [];
  for (const g of metastore.groups) {
    // Without per-state counts the closed shards (never dangling) cannot be told apart.
    if (!g.states) continue;
    const open = g.count - (g.states.closed ?? 0);
    const known = knownOf(g.group);
    if (known === undefined) continue;
    const holding = held.get(g.group);
    const heldCount = holding?.count ?? 0;
    const atLeast = open - known - heldCount;
    if (atLeast <= 0) continue;
    const on = holding ? ` on ${plural(holding.byIngester.size, 'ingester')}` : '';
    findings.push(
      provisionalFinding('shards/dangling', METASTORE, {
        group: g.group,
        message:
          `At least ${plural(atLeast, 'shard')} of ${sourceText(g.group)} ${isAre(atLeast)} in the metastore, but the control plane ` +
          `does not know ${atLeast === 1 ? 'it' : 'them'} and no ingester holds ${atLeast === 1 ? 'it' : 'them'}: ` +
          `${formatCount(open)} not closed in the metastore, ${formatCount(known)} in the control plane, ${formatCount(heldCount)} on ingesters.`,
        count: atLeast,
        facts: [
          fact.group(
            METASTORE,
            g.group,
            open,
            undefined,
            `The metastore counts ${plural(open, 'shard')} of ${g.group} that ${isAre(open)} not closed.`,
          ),
          fact.group(
            CONTROL_PLANE,
            g.group,
            known,
            undefined,
            `The control plane (epoch ${epoch}) counts ${formatCount(known)} of ${g.group}.`,
            { epoch },
          ),
          fact.group(INGESTER, g.group, heldCount, undefined, `Ingesters count ${formatCount(heldCount)} of ${g.group}${on}.`),
          fact.group(
            METASTORE,
            g.group,
            atLeast,
            undefined,
            `So at least ${formatCount(atLeast)} of the metastore's are known to neither (counted by the cluster at seq ${summary.seq}; ` +
              'which ones, and their repairs, come with the full sync).',
          ),
        ],
      }),
    );
  }
  return findings;
}

/**
 * `shards/orphaned` from counts: per source, shards the control plane knows, or one ingester holds,
 * beyond all the metastore has of that source. At most that many of them can be in the metastore,
 * so the rest are orphans, at least.
 */
export function checkOrphanedShardsFromCounts(summary: SummaryResult, status: ClusterStatus): Finding[] {
  const metastore = summary.collections[METASTORE];
  const controlPlane = summary.collections[CONTROL_PLANE];
  const ingesters = summary.collections[INGESTER];
  if (!metastore || !controlPlane || !ingesters) return [];
  const inMetastore = groupCounter(metastore);
  const held = ingesterShardsBySource(ingesters) ?? new Map<string, { count: number; byIngester: Map<string, number> }>();
  // A group the control plane's summary left out counts 0 here: fewer orphans, never a wrong one.
  const knownBy = new Map((controlPlane.groups ?? []).map((g) => [g.group, g.count]));
  const sources = new Set<string>([...knownBy.keys(), ...held.keys()]);
  const fact = facts(status);
  const epoch = status.controlPlaneEpoch;
  const findings: Finding[] = [];
  for (const group of [...sources].sort()) {
    const has = inMetastore(group);
    if (has === undefined) continue;
    const known = knownBy.get(group) ?? 0;
    const fromControlPlane = Math.max(0, known - has);
    const ingesterExcess = [...(held.get(group)?.byIngester ?? new Map<string, number>())]
      .filter(([, n]) => n > has)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const atLeast = fromControlPlane + ingesterExcess.reduce((sum, [, n]) => sum + n - has, 0);
    if (atLeast <= 0) continue;
    const evidence: Fact[] = [fact.group(METASTORE, group, has, undefined, `The metastore counts ${plural(has, 'shard')} of ${group}.`)];
    if (fromControlPlane > 0) {
      evidence.push(
        fact.group(CONTROL_PLANE, group, known, undefined, `The control plane (epoch ${epoch}) counts ${formatCount(known)} of ${group}.`, {
          epoch,
        }),
      );
    }
    evidence.push(
      ...factsPer(
        ingesterExcess,
        ([id, n]) => fact.group(INGESTER, `${group} on ${id}`, n, undefined, `Ingester ${id} counts ${formatCount(n)} of ${group}.`),
        (rest) =>
          fact.group(
            INGESTER,
            group,
            rest.reduce((sum, [, n]) => sum + n, 0),
            undefined,
            `${plural(rest.length, 'other ingester')} count more of ${group} than the metastore has.`,
          ),
      ),
    );
    const where = [
      fromControlPlane > 0 ? `the control plane knows ${formatCount(known)}` : '',
      ingesterExcess.length > 0
        ? `${ingesterExcess
            .map(([id, n]) => `${id} holds ${formatCount(n)}`)
            .slice(0, 3)
            .join(', ')}${ingesterExcess.length > 3 ? ', …' : ''}`
        : '',
    ]
      .filter(Boolean)
      .join(' and ');
    findings.push(
      provisionalFinding('shards/orphaned', METASTORE, {
        group,
        message: `At least ${plural(atLeast, 'shard')} of ${group} ${isAre(atLeast)} missing from the metastore: it has ${formatCount(has)}, but ${where}.`,
        count: atLeast,
        facts: evidence,
      }),
    );
  }
  return findings;
}

/**
 * `ddl/backlog` from counts: unfinished procedures (per status, over the collection) above
 * `max_running_procedures`. The other half of the rule, etcd near its quota, needs the prefixes'
 * sizes, which a summary does not add up: without a backlog of procedures, nothing is concluded.
 */
export function checkDdlBacklogFromCounts(summary: SummaryResult, status: ClusterStatus): Finding[] {
  const procedures = summary.collections[PROCEDURES];
  if (!procedures?.states) return [];
  const unfinishedIn = (states: Record<string, number> | undefined) =>
    UNFINISHED_PROCEDURE_STATUSES.reduce((n, s) => n + (states?.[s] ?? 0), 0);
  const { maxRunningProcedures } = status.config;
  const unfinished = unfinishedIn(procedures.states);
  if (unfinished <= maxRunningProcedures) return [];
  const finished = (procedures.states.Done ?? 0) + (procedures.states.Failed ?? 0);
  const causes = backlogCauses((procedures.groups ?? []).map((g) => [g.group, unfinishedIn(g.states)] as const));
  const top = causes.slice(0, 5).map(([t, n]) => `${t} (${formatCount(n)})`);
  const fact = facts(status);
  return [
    provisionalFinding('ddl/backlog', PROCEDURES, {
      group: 'metasrv',
      message:
        `DDL procedures are piling up in metasrv: ${formatCount(unfinished)} unfinished procedures (max_running_procedures = ${maxRunningProcedures}).` +
        (top.length ? ` Most are for ${top.join(', ')}.` : ''),
      count: unfinished,
      facts: [
        fact.group(
          PROCEDURES,
          'unfinished',
          unfinished,
          undefined,
          `Metasrv counts ${plural(unfinished, 'unfinished procedure')} (${UNFINISHED_PROCEDURE_STATUSES.join('/')}); max_running_procedures is ${maxRunningProcedures}.`,
        ),
        fact.group(
          PROCEDURES,
          'finished',
          finished,
          undefined,
          `${plural(finished, 'finished procedure')} (Done/Failed) ${isAre(finished)} still in etcd.`,
        ),
        ...causeFacts(fact, causes, () => undefined),
      ],
    }),
  ];
}

/** The rules that can be checked on counts, and how. */
export const SUMMARY_CHECKS = {
  'shards/dangling': checkDanglingShardsFromCounts,
  'shards/orphaned': checkOrphanedShardsFromCounts,
  'ddl/backlog': checkDdlBacklogFromCounts,
} as const satisfies Partial<Record<RuleId, SummaryCheck>>;

/**
 * Every check on counts, with the user's severities (an `off` rule is not run), sorted by id like
 * `runChecks`. A rule whose collections the cluster cannot see now (not configured, unavailable,
 * not read) is skipped, as in `runChecks`: its counts are not its state.
 */
export function runSummaryChecks(summary: SummaryResult, status: ClusterStatus, options: CheckOptions = {}): Finding[] {
  const findings: Finding[] = [];
  for (const rule of Object.keys(SUMMARY_CHECKS) as (keyof typeof SUMMARY_CHECKS)[]) {
    const severity = options.severities?.[rule] ?? RULES[rule].severity;
    if (severity === 'off') continue;
    if (ruleReadiness(rule, status).state !== 'checked') continue;
    for (const f of SUMMARY_CHECKS[rule](summary, status)) findings.push(severity === f.severity ? f : { ...f, severity });
  }
  return findings.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
