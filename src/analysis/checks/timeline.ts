/**
 * `timeline/forbidden-transition`: transitions of the recorded timeline that the modelled systems
 * forbid (docs/model.md), as findings with their cluster time. A pure function of the model and
 * the timeline.
 *
 * A transition is a finding while its entity still holds the state it reached that way (no later
 * transition of it, and the model agrees): once repaired, or moved on by the system itself, the
 * finding goes, and the transition stays in the timeline, marked (`forbiddenTransitions`).
 *
 * The timeline can have gaps (a resync after a dropped link records nothing of what it missed), so
 * an entity's history counts as continuous only while each transition starts where the previous
 * one ended; a check that needs history starts again at a break.
 */
import {
  COLLECTIONS,
  KEYS,
  keys,
  MAX_FINDING_SAMPLES,
  type CollectionName,
  type EntityRef,
  type Finding,
  type Transition,
} from '../../protocol';
import { formatClusterTime, plural, type ClusterClock } from '../../protocol/format';
import { groupOf } from '../grouping';
import type { ClusterModel } from '../model';
import { batchStateOf, describeTransition, isPrepared, regionStateOf, SPACE_FREE, stateLabel, walStateOf } from '../timeline';
import { facts, factsPer, makeFinding, pushSample, type CheckContext } from './common';
import { staleMarkReason } from './regions';

/** The kinds of forbidden transition, each with what the model allows instead. */
export const FORBIDDEN_KINDS = {
  'out-of-storage-cleared': 'Only a new report of the leader SPU may clear OutOfStorage, never the SC’s election logic (fluvio #4528).',
  'prepared-not-current':
    'Only regions the write batch in progress prepared may be marked prepared for write (all of them stay marked until it is written), and none at a commit boundary (tikv #17700).',
  'region-state':
    'Region cache states move Pending→Loading→Active|LoadingCanceled|Evicting, Active→PendingEvict, LoadingCanceled→PendingEvict|Evicting, PendingEvict→Evicting.',
  'wal-term': "A WAL's term only increases, and (t, unavailable) never becomes (t, available) (milvus #41307).",
  'procedure-reopened': 'A finished procedure (Done, Failed) never runs again.',
  'shard-reopened': 'A closed shard is never opened again.',
} as const;
export type ForbiddenKind = keyof typeof FORBIDDEN_KINDS;

export interface ForbiddenTransition {
  kind: ForbiddenKind;
  /** The recorded transition: the entity's own, or (a stale prepared mark) the write batch's that left it stale. */
  transition: Transition;
  /** The entity the finding is about. */
  entity: { collection: CollectionName; key: string };
  /** Why it is forbidden, in words. */
  reason: string;
  /** Whether the entity still holds the state the transition led to. */
  holds: (model: ClusterModel) => boolean;
}

const REGION_NEXT: Record<string, readonly string[]> = {
  Pending: ['Loading'],
  Loading: ['Active', 'LoadingCanceled', 'Evicting'],
  Active: ['PendingEvict'],
  LoadingCanceled: ['PendingEvict', 'Evicting'],
  PendingEvict: ['Evicting'],
  Evicting: [],
};
const FINISHED_PROCEDURE = new Set(['Done', 'Failed']);
const SHARD_COLLECTIONS = new Set<CollectionName>([
  'quickwit.metastore.shards',
  'quickwit.controlPlane.shards',
  'quickwit.ingester.shards',
]);

/** Every transition of the timeline that the model forbids, in timeline order. */
export function forbiddenTransitions(model: ClusterModel | null, timeline: readonly Transition[]): ForbiddenTransition[] {
  const found: ForbiddenTransition[] = [];
  const latestSeq = new Map<string, number>();
  for (const t of timeline) latestSeq.set(entityId(t.collection, t.key), t.seq);
  /** The entity has no later transition and the model still shows it in `label`. */
  const stillIn = (collection: CollectionName, key: string, seq: number, label: string | null) => (m: ClusterModel) => {
    if ((latestSeq.get(entityId(collection, key)) ?? -1) > seq) return false;
    const e = m.collections[collection].get(key);
    return e !== undefined && stateLabel(collection, e) === label;
  };
  const local = (t: Transition, kind: ForbiddenKind, reason: string) =>
    found.push({
      kind,
      transition: t,
      entity: { collection: t.collection, key: t.key },
      reason,
      holds: stillIn(t.collection, t.key, t.seq, t.to),
    });

  for (const t of timeline) {
    if (t.from === null || t.to === null) continue;
    if (t.collection === 'tikv.regions') {
      const [a, b] = [regionStateOf(t.from), regionStateOf(t.to)];
      if (a !== b && !(REGION_NEXT[a] ?? []).includes(b)) local(t, 'region-state', `${a} never moves to ${b}`);
    } else if (t.collection === 'milvus.wals') {
      const [a, b] = [walStateOf(t.from), walStateOf(t.to)];
      if (a && b && b.term < a.term) local(t, 'wal-term', `its term went back from ${a.term} to ${b.term}`);
      else if (a && b && a.term === b.term && !a.available && b.available)
        local(t, 'wal-term', `it became available again at term ${a.term} without a new term`);
    } else if (t.collection === 'greptime.procedures') {
      if (FINISHED_PROCEDURE.has(t.from) && t.to !== t.from) local(t, 'procedure-reopened', `it had finished (${t.from})`);
    } else if (SHARD_COLLECTIONS.has(t.collection)) {
      if (t.from === 'closed' && t.to !== 'closed') local(t, 'shard-reopened', 'it had been closed');
    }
  }
  found.push(...outOfStorageCleared(model, timeline, stillIn));
  found.push(...stalePreparedMarks(model, timeline, latestSeq));
  return found.sort((a, b) => a.transition.seq - b.transition.seq);
}

/** The clock of the model's cluster (a timeline without a model: the simulator's logical one). */
const clockOf = (model: ClusterModel | null): ClusterClock => model?.status ?? { scenario: '' };

function entityId(collection: string, key: string): string {
  return `${collection}\u0000${key}`;
}

type StillIn = (collection: CollectionName, key: string, seq: number, label: string | null) => (m: ClusterModel) => boolean;

/**
 * Fluvio: a partition that became Online while it was OutOfStorage and no report of its leader
 * SPU said space was freed since (a recorded report that turned `space free`, or the model's report
 * saying so at a time after it went OutOfStorage).
 */
function outOfStorageCleared(model: ClusterModel | null, timeline: readonly Transition[], stillIn: StillIn): ForbiddenTransition[] {
  const found: ForbiddenTransition[] = [];
  /** Per partition key: its last recorded label, and since when it is OutOfStorage (null: since before the timeline). */
  const partitions = new Map<string, { last: string | null; outOfStorageSince: number | null | undefined }>();
  const leaderOf = (key: string) => model?.collections['fluvio.partitions'].get(key)?.leader.spu;
  for (const t of timeline) {
    if (t.collection === 'fluvio.spuReports') {
      const r = KEYS.spuReport.parse(t.key);
      if (!r || t.to !== SPACE_FREE) continue;
      const key = keys.partition(r.topic, r.partition);
      const leader = leaderOf(key);
      const p = partitions.get(key);
      if (p && (leader === undefined || leader === r.spuId)) p.outOfStorageSince = undefined;
      continue;
    }
    if (t.collection !== 'fluvio.partitions') continue;
    let p = partitions.get(t.key);
    if (!p || p.last !== t.from) {
      // First seen, or a break in its history: only the state it starts from is known.
      p = { last: t.from, outOfStorageSince: t.from === 'OutOfStorage' ? null : undefined };
      partitions.set(t.key, p);
    }
    if (t.to === 'OutOfStorage') p.outOfStorageSince = t.time;
    else if (t.to === null) p.outOfStorageSince = undefined;
    else if (t.to === 'Online' && p.outOfStorageSince !== undefined && !freedSince(model, t.key, p.outOfStorageSince, t.time)) {
      const leader = leaderOf(t.key);
      const since =
        p.outOfStorageSince === null
          ? 'since before the timeline begins'
          : `since ${formatClusterTime(p.outOfStorageSince, clockOf(model))}`;
      found.push({
        kind: 'out-of-storage-cleared',
        transition: t,
        entity: { collection: t.collection, key: t.key },
        reason: `it was OutOfStorage ${since}, and no report of ${leader === undefined ? 'its leader SPU' : keys.spu(leader)} said space was freed`,
        holds: stillIn(t.collection, t.key, t.seq, t.to),
      });
    }
    p.last = t.to;
  }
  return found;
}

/** Whether the model's report of the partition's leader says space is free, reported within `[since, at]`. */
function freedSince(model: ClusterModel | null, partitionKey: string, since: number | null, at: number): boolean {
  const p = model?.collections['fluvio.partitions'].get(partitionKey);
  const report = p && model?.collections['fluvio.spuReports'].get(keys.spuReport(p.leader.spu, p.topic, p.partition));
  return report !== undefined && !report.storageFull && report.reportedAt <= at && (since === null || report.reportedAt >= since);
}

/**
 * TiKV: replays each store's regions and write batch, and at the end of every step of the
 * cluster's clock (a prepare, its write and the commit happen within one) flags each region that
 * is marked prepared while the batch is not on it, or is at a commit boundary, once per marking.
 */
function stalePreparedMarks(
  model: ClusterModel | null,
  timeline: readonly Transition[],
  latestSeq: Map<string, number>,
): ForbiddenTransition[] {
  const found: ForbiddenTransition[] = [];
  const regionLabels = new Map<string, string | null>();
  const batchLabels = new Map<number, string | null>();
  /** Regions flagged since they were last marked. */
  const flagged = new Set<string>();
  /** Per store touched in the current step: its transitions of the step. */
  let step = new Map<number, Transition[]>();
  const batchOf = (storeId: number) => {
    if (batchLabels.has(storeId)) return batchStateOf(batchLabels.get(storeId)!);
    const b = model?.collections['tikv.writeBatches'].get(keys.writeBatch(storeId));
    return b && { currentRegion: b.currentRegion, atCommitBoundary: b.atCommitBoundary, writtenRegions: b.writtenRegions };
  };
  const endStep = () => {
    for (const [storeId, transitions] of step) {
      const batch = batchOf(storeId);
      if (!batch) continue;
      for (const [key, label] of regionLabels) {
        const region = KEYS.region.parse(key);
        if (!region || region.storeId !== storeId || !isPrepared(label) || flagged.has(key)) continue;
        const why = staleMarkReason({ isWritten: true, regionId: region.regionId }, batch);
        if (!why) continue;
        flagged.add(key);
        const own = transitions.filter((t) => t.key === key);
        const t = own[own.length - 1] ?? transitions[transitions.length - 1]!;
        const marked = own.length ? 'marked prepared for write' : 'still marked prepared for write';
        found.push({
          kind: 'prepared-not-current',
          transition: t,
          entity: { collection: 'tikv.regions', key },
          reason: `region ${region.regionId} was ${marked} at the end of ${formatClusterTime(t.time, clockOf(model))}, but ${why}`,
          holds: (m) => stalePreparedHolds(m, key, storeId, t.seq, latestSeq),
        });
      }
    }
    step = new Map();
  };
  let time: number | undefined;
  for (const t of timeline) {
    if (t.collection !== 'tikv.regions' && t.collection !== 'tikv.writeBatches') continue;
    if (time !== undefined && t.time !== time) endStep();
    time = t.time;
    let storeId: number | undefined;
    if (t.collection === 'tikv.regions') {
      storeId = KEYS.region.parse(t.key)?.storeId;
      if (!regionLabels.has(t.key)) regionLabels.set(t.key, t.from);
      regionLabels.set(t.key, t.to);
      if (!isPrepared(t.to)) flagged.delete(t.key);
    } else {
      storeId = KEYS.writeBatch.parse(t.key)?.storeId;
      if (storeId !== undefined) batchLabels.set(storeId, t.to);
    }
    if (storeId === undefined) continue;
    const list = step.get(storeId);
    if (list) list.push(t);
    else step.set(storeId, [t]);
  }
  endStep();
  return found;
}

/** The region is still marked and stale, and has not been unmarked (or marked again) since. */
function stalePreparedHolds(m: ClusterModel, key: string, storeId: number, seq: number, latestSeq: Map<string, number>): boolean {
  const r = m.collections['tikv.regions'].get(key);
  const b = m.collections['tikv.writeBatches'].get(keys.writeBatch(storeId));
  if (!r || !b || staleMarkReason(r, b) === undefined) return false;
  return (latestSeq.get(entityId('tikv.regions', key)) ?? -1) <= seq;
}

/** `timeline/forbidden-transition`: one finding per kind and entity group, for the transitions whose result still holds. */
export function checkForbiddenTransitions(model: ClusterModel, context: CheckContext = {}): Finding[] {
  const timeline = context.timeline;
  if (!timeline?.length) return [];
  const groups = new Map<string, { kind: ForbiddenKind; items: ForbiddenTransition[] }>();
  const seen = new Set<string>();
  for (const f of forbiddenTransitions(model, timeline)) {
    const id = entityId(f.entity.collection, f.entity.key);
    if (seen.has(id) || !f.holds(model)) continue;
    seen.add(id);
    const entity = model.collections[f.entity.collection].get(f.entity.key);
    const group = `${f.kind}:${(entity && groupOf(f.entity.collection, entity)) ?? f.entity.key}`;
    const g = groups.get(group);
    if (g) g.items.push(f);
    else groups.set(group, { kind: f.kind, items: [f] });
  }
  const findings: Finding[] = [];
  const fact = facts(model.status);
  for (const [group, { kind, items }] of groups) {
    const samples: EntityRef[] = [];
    for (const f of items) {
      const e = model.collections[f.entity.collection].get(f.entity.key);
      if (e) pushSample(samples, f.entity.collection, e);
    }
    if (!samples.length) continue;
    const first = items[0]!;
    const collection = first.entity.collection;
    const t = first.transition;
    const more =
      items.length > 1 ? ` (and ${plural(items.length - 1, 'other entity', 'other entities')} of ${group.slice(kind.length + 1)})` : '';
    findings.push({
      ...makeFinding(
        'timeline/forbidden-transition',
        {
          group,
          message: `${first.entity.key} ${t.key === first.entity.key ? `went ${t.from} → ${t.to}` : `stayed ${labelOf(model, collection, first.entity.key)} while ${t.key} went ${t.from} → ${t.to}`} at ${formatClusterTime(t.time, model.status)}${more}, which ${COLLECTIONS[collection].component} must never do: ${first.reason}.`,
          count: items.length,
          samples,
          facts: factsPer(
            items,
            (f) => {
              const e = model.collections[f.entity.collection].get(f.entity.key);
              const says = `${describeTransition(f.transition, model.status)}: ${f.reason}.`;
              return e
                ? fact.entity(f.entity.collection, e, says, { since: f.transition.time })
                : fact.record(f.entity.collection, f.entity.key, says, { since: f.transition.time });
            },
            (rest) =>
              fact.group(
                collection,
                group,
                rest.length,
                undefined,
                `${plural(rest.length, 'other entity', 'other entities')} of the group made the same forbidden transition: ${FORBIDDEN_KINDS[kind]}`,
              ),
          ),
          repairs: [],
        },
        COLLECTIONS[collection].subsystem,
      ),
      transitions: items.slice(0, MAX_FINDING_SAMPLES).map((f) => f.transition),
    });
  }
  return findings;
}

function labelOf(model: ClusterModel, collection: CollectionName, key: string): string {
  const e = model.collections[collection].get(key);
  return (e && stateLabel(collection, e)) ?? 'as it was';
}
