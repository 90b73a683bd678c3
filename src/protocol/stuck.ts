/**
 * Stuck Work: everything in a cluster that waits, and on what, since when.
 * One item per piece of stuck work (a group of entities, never one item per
 * shard), with the chain of what it waits on: `close(node-1) ← append(ch-3)
 * ← recovery(ch-3)`. Computed by `stuckWork` (src/analysis/stuck.ts), served
 * by the language server (`clusterDebugger/stuckWork`), shown by the Stuck
 * Work view.
 */
import { z } from 'zod';
import { CollectionName, Subsystem } from './collections';
import { LogicalTime } from './entities';
import { RepairSafety } from './findings';
import { formatClusterTime, formatCount, formatDuration, type ClusterClock } from './format';

/** A repair the tool can run on a step: one repair of one current finding (`clusterDebugger.applyRepair`'s arguments, less the cluster). */
export const StuckRepair = z.object({
  findingId: z.string(),
  repairId: z.string(),
  title: z.string(),
  safety: RepairSafety,
});
export type StuckRepair = z.infer<typeof StuckRepair>;

/** One link of a chain: something that waits, or that is waited on. */
export const StuckStep = z.object({
  /** `kind(target)`, e.g. `close(node-1)`, `append(by-dev-rootcoord-dml_1)`, `recovery(by-dev-rootcoord-dml_1)`. */
  label: z.string(),
  /** How many entities the step stands for (760,000 dangling shards of one source are one step). */
  count: z.number().int().nonnegative(),
  /** One line: what the components say about it. */
  detail: z.string(),
  /** Logical time since which it has been so, from the entities' own timestamps; null when they carry none. */
  since: LogicalTime.nullable(),
  /** An entity of the step (the oldest, or the first of its group). */
  entity: z.object({ collection: CollectionName, key: z.string() }).optional(),
  /** What the tool can do about this step, from the checks' findings. */
  repair: StuckRepair.optional(),
});
export type StuckStep = z.infer<typeof StuckStep>;

export const StuckItem = z.object({
  /** Stable while the same work stays stuck, e.g. `wal:close:node-1/by-dev-rootcoord-dml_1`. */
  id: z.string(),
  subsystem: Subsystem,
  /** The first step's `since`. */
  since: LogicalTime.nullable(),
  /** Seconds of the cluster's time (`ClusterStatus.time − since`); null when no timestamp says. */
  age: z.number().int().nonnegative().nullable(),
  /** What waits first, then what it waits on, and so on: each step waits on the next. */
  chain: z.array(StuckStep).min(1),
});
export type StuckItem = z.infer<typeof StuckItem>;

/** Most items one cluster's answer carries; the rest are counted in `omitted`. */
export const MAX_STUCK_ITEMS = 1000;

/** A cluster's stuck work, oldest first (items of unknown age last). */
export const StuckWork = z.object({
  /** The cluster's time the ages are measured at. */
  time: LogicalTime,
  /** The cluster's scenario (`ClusterStatus.scenario`): which clock `time` and every `since` are on (`formatClusterTime`). */
  scenario: z.string(),
  items: z.array(StuckItem).max(MAX_STUCK_ITEMS),
  /** Items beyond `MAX_STUCK_ITEMS`, not sent. */
  omitted: z.number().int().nonnegative(),
});
export type StuckWork = z.infer<typeof StuckWork>;

/** A chain in one line, each step waiting on the next: `close(node-1) ← append(ch-3) ×5 ← recovery(ch-3)`. */
export function chainText(chain: readonly Pick<StuckStep, 'label' | 'count'>[]): string {
  return chain.map(stepText).join(' ← ');
}

/** A step's label with its count when it stands for more than one entity: `append(ch-3) ×5`. */
export function stepText(step: Pick<StuckStep, 'label' | 'count'>): string {
  return step.count > 1 ? `${step.label} ×${formatCount(step.count)}` : step.label;
}

/** How long an item has been stuck: "10m32s", or that no timestamp says. */
export function ageText(item: Pick<StuckItem, 'age'>): string {
  return item.age === null ? 'age unknown' : formatDuration(item.age);
}

/** Since when a step has been so, on its cluster's clock: "since 2023-11-14 22:23:30 UTC", "since t=610 s"; undefined when no timestamp says. */
export function sinceText(step: Pick<StuckStep, 'since'>, clock: ClusterClock): string | undefined {
  return step.since === null ? undefined : `since ${formatClusterTime(step.since, clock)}`;
}
