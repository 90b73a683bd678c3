/**
 * What `Cluster: Show Timeline` shows: the recorded transitions of a cluster or of one entity,
 * filtered by subsystem and state, the newest first, each marked when the model forbids it; and
 * the same as text for a read-only document. Pure: the model and the timeline in, data out.
 */
import {
  COLLECTIONS,
  SUBSYSTEMS,
  type Finding,
  type Subsystem,
  type TimelineEntry,
  type TimelineResult,
  type Transition,
} from '../protocol';
import { formatClusterTime, formatCount, isWallClock, plural, type ClusterClock } from '../protocol/format';
import { forbiddenTransitions } from './checks/timeline';
import type { ClusterModel } from './model';
import { describeTransition, matchesFilter, timelineFacets, type TimelineFilter } from './timeline';

export interface TimelineQuery extends TimelineFilter {
  /** At most this many, the most recent. */
  limit: number;
}

export interface TimelineSource {
  /** Oldest first. */
  transitions: readonly Transition[];
  capacity: number;
  dropped: number;
}

/** The transitions of `source` that match `query`, newest first, with the filter's choices and the text. */
export function queryTimeline(
  clusterName: string,
  model: ClusterModel | null,
  source: TimelineSource,
  query: TimelineQuery,
  findings: readonly Finding[] = [],
): TimelineResult {
  const forbidden = new Map<Transition, string>();
  for (const f of forbiddenTransitions(model, source.transitions)) {
    // A transition forbidden for two reasons shows both.
    const before = forbidden.get(f.transition);
    forbidden.set(f.transition, before ? `${before}; ${f.reason}` : f.reason);
  }
  const scope: TimelineFilter = { collection: query.collection, key: query.key };
  const scoped = source.transitions.filter((t) => matchesFilter(t, scope));
  const facets = timelineFacets(scoped);
  const matching = scoped.filter((t) => matchesFilter(t, query));
  const newest: TimelineEntry[] = [];
  for (let i = matching.length - 1; i >= 0 && newest.length < query.limit; i--) {
    const t = matching[i]!;
    const why = forbidden.get(t);
    newest.push(why === undefined ? { ...t } : { ...t, forbidden: why });
  }
  const result = {
    transitions: newest,
    matched: matching.length,
    recorded: scoped.length,
    capacity: source.capacity,
    dropped: source.dropped,
    facets: {
      subsystems: Object.fromEntries(SUBSYSTEMS.filter((s) => facets.subsystems[s]).map((s) => [s, facets.subsystems[s]!])),
      states: facets.states,
    },
  };
  const earlier = earlierFacts(findings, query, source.transitions[0]?.time);
  return { ...result, text: renderTimelineText(clusterName, query, result, model?.status ?? LOGICAL_CLOCK, earlier) };
}

/** A fact of a current finding that was already so before the first recorded transition. */
export interface EarlierFact {
  since: number;
  says: string;
  rule: string;
  subsystem: Subsystem;
}

/**
 * What the timeline cannot show: an incident already there when the cluster was connected made no
 * transition since. Its findings' facts with their own time (`since`) before the first recorded
 * transition (all of them when none is recorded) say when it began; oldest first. None under a
 * state filter (a fact has no state to match); for one entity, only the facts about it.
 */
export function earlierFacts(findings: readonly Finding[], query: TimelineQuery, firstTime: number | undefined): EarlierFact[] {
  if (query.states?.length) return [];
  const out: EarlierFact[] = [];
  for (const f of findings) {
    if (query.subsystems?.length && !query.subsystems.includes(f.subsystem)) continue;
    for (const fact of f.facts) {
      if (fact.since === undefined || (firstTime !== undefined && fact.since >= firstTime)) continue;
      if (query.key !== undefined && !(fact.subject.kind === 'entity' && fact.subject.key === query.key)) continue;
      out.push({ since: fact.since, says: fact.says, rule: f.rule, subsystem: f.subsystem });
    }
  }
  return out.sort((a, b) => a.since - b.since);
}

/** The clock of a cluster not connected (no model): the simulator's logical one. */
const LOGICAL_CLOCK: ClusterClock = { scenario: '' };

/** The timeline as a read-only document: a header that says what it holds, then one line per transition, at times on `clock`. */
export function renderTimelineText(
  clusterName: string,
  query: TimelineQuery,
  r: Omit<TimelineResult, 'text'>,
  clock: ClusterClock = LOGICAL_CLOCK,
  earlier: readonly EarlierFact[] = [],
): string {
  const of = query.key !== undefined ? `${query.collection ?? 'entity'} ${query.key} on ${clusterName}` : clusterName;
  const filters = [
    query.subsystems?.length ? `subsystem ${query.subsystems.join(' or ')}` : '',
    query.states?.length ? `state ${query.states.join(' or ')}` : '',
  ].filter(Boolean);
  const lines = [
    `# Timeline of ${of}: ${r.transitions.length < r.matched ? `the newest ${formatCount(r.transitions.length)} of ` : ''}${plural(r.matched, 'transition')}` +
      `${filters.length ? ` (${filters.join(', ')}; ${formatCount(r.recorded)} recorded)` : ''}, newest first.`,
    `# Times are ${isWallClock(clock) ? 'wall-clock (UTC)' : "the cluster's logical clock (t=seconds)"}, of the change events; states are each collection's state label.`,
    `# The server keeps the last ${plural(r.capacity, 'transition')} per cluster (clusterDebugger.timeline.maxTransitions)` +
      `${r.dropped ? `; ${formatCount(r.dropped)} older ones were dropped` : ''}. "FORBIDDEN" marks a transition the model does not allow.`,
    '',
  ];
  if (!r.transitions.length)
    lines.push(
      r.recorded
        ? '(no transition matches the filter)'
        : '(no transition recorded yet: transitions come from the change events after the cluster was connected)',
    );
  for (const t of r.transitions) {
    const subsystem: Subsystem = COLLECTIONS[t.collection].subsystem;
    lines.push(`${describeTransition(t, clock)}  [${subsystem}]${t.forbidden ? `  FORBIDDEN: ${t.forbidden}` : ''}`);
  }
  if (earlier.length) {
    lines.push(
      '',
      `# Already so before ${r.recorded ? 'the first recorded transition' : 'the timeline began'}: the current findings' facts, at their own times, oldest first.`,
    );
    for (const e of earlier) lines.push(`${formatClusterTime(e.since, clock)}  ${e.says}  [${e.subsystem}] (${e.rule})`);
  }
  return lines.join('\n') + '\n';
}
