/**
 * `cluster.summary`: how many entities each collection holds, per group and per state, without
 * the entities. A client shows it (the trees' groups with their counts) before the full sync has
 * read 763,471 shards page by page. The groups are those of `grouping.ts`, the states those of
 * `STATE_FIELD`: the same `GROUP BY` a real metastore answers in SQL.
 */
import { z } from 'zod';
import { COLLECTION_NAMES, CollectionName, type AnyEntity } from './collections';
import { groupIterator, isGrouped, STATE_FIELD, stateOf } from './grouping';

/** Most groups one collection's summary lists; the largest are kept, the rest counted in `groupsOmitted`. */
export const MAX_SUMMARY_GROUPS = 10_000;

const count = z.number().int().nonnegative();
/** State → how many entities are in it (the collection's `STATE_FIELD`; states are enum values). */
export const StateCounts = z.record(z.string().max(256), count);
export type StateCounts = z.infer<typeof StateCounts>;

export const GroupCount = z.object({
  group: z.string().max(1024),
  count,
  states: StateCounts.optional(),
});
export type GroupCount = z.infer<typeof GroupCount>;

export const CollectionSummary = z.object({
  total: count,
  /** Per state, over the whole collection; absent for a collection without a state field. */
  states: StateCounts.optional(),
  /** Per group (`groupOf`), largest first; absent for a collection that is never grouped. */
  groups: z.array(GroupCount).max(MAX_SUMMARY_GROUPS).optional(),
  /** Groups left out past `MAX_SUMMARY_GROUPS` (their entities are in `total`). */
  groupsOmitted: count.optional(),
});
export type CollectionSummary = z.infer<typeof CollectionSummary>;

export const SummaryResult = z.object({
  /** The cluster's sequence number when the counts were read. */
  seq: count,
  /** Every collection the cluster serves; one it cannot count yet is absent. */
  collections: z.partialRecord(CollectionName, CollectionSummary),
});
export type SummaryResult = z.infer<typeof SummaryResult>;

/** Counts under construction: a group's (or the collection's) states. */
function bump(states: Record<string, number> | undefined, state: string | undefined): void {
  if (states && state !== undefined) states[state] = (states[state] ?? 0) + 1;
}

/**
 * A collection's summary from its entities, in one pass (nothing is copied: a cluster passes its
 * store's own iterator). Consecutive entities of one group reuse its counter (`groupIterator`).
 */
export function summariseCollection(collection: CollectionName, entities: Iterable<AnyEntity>): CollectionSummary {
  const hasState = STATE_FIELD[collection] !== undefined;
  const grouped = isGrouped(collection);
  const groupOfNext = groupIterator(collection);
  const states: Record<string, number> | undefined = hasState ? {} : undefined;
  const groups = new Map<string, GroupCount>();
  let last: GroupCount | undefined;
  let lastName: string | undefined;
  let total = 0;
  for (const e of entities) {
    total++;
    const state = hasState ? stateOf(collection, e) : undefined;
    bump(states, state);
    if (!grouped) continue;
    const name = groupOfNext(e)!;
    if (name !== lastName || !last) {
      lastName = name;
      last = groups.get(name);
      if (!last) groups.set(name, (last = { group: name, count: 0, ...(hasState ? { states: {} } : {}) }));
    }
    last.count++;
    bump(last.states, state);
  }
  return summaryOf(total, states, grouped ? [...groups.values()] : undefined);
}

/** A collection's summary from counts already made (a SQL `GROUP BY`): the largest groups kept, in a stable order. */
export function summaryOf(total: number, states: StateCounts | undefined, groups: GroupCount[] | undefined): CollectionSummary {
  const summary: CollectionSummary = { total };
  if (states) summary.states = states;
  if (groups) {
    groups.sort((a, b) => b.count - a.count || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    summary.groups = groups.slice(0, MAX_SUMMARY_GROUPS);
    if (groups.length > MAX_SUMMARY_GROUPS) summary.groupsOmitted = groups.length - MAX_SUMMARY_GROUPS;
  }
  return summary;
}

/** Every collection's summary from a model's maps (what a full sync gives): the tests compare a cluster's answer with it. */
export function summariseCollections(collections: {
  [C in CollectionName]?: { values(): Iterable<AnyEntity> };
}): SummaryResult['collections'] {
  const out: SummaryResult['collections'] = {};
  for (const c of COLLECTION_NAMES) {
    const map = collections[c];
    if (map) out[c] = summariseCollection(c, map.values());
  }
  return out;
}

/** How many entities a summary counts in all. */
export function summaryTotal(summary: SummaryResult): number {
  let n = 0;
  for (const c of COLLECTION_NAMES) n += summary.collections[c]?.total ?? 0;
  return n;
}
