/**
 * Scenarios: each is built by running the mechanism from a seed (arm the
 * fault, drive the workload, tick the clock), never by placing bad rows.
 * Afterwards the clock stops: the cluster is quiet until someone ticks it.
 */
import type { ScenarioName, ScenarioSize } from '../protocol';
import type { Sizes } from './context';

export const DEFAULT_SIZES: Sizes = {
  danglingShards: 300,
  liveShards: 60,
  ddlRetries: 300,
  regions: 30,
  partitions: 12,
};

/** The real incident (quickwit #5008): 763,471 shards in the metastore, ~3,000 in the control plane. */
export const INCIDENT_SIZES: ScenarioSize = {
  danglingShards: 763_471 - 3_000,
  liveShards: 3_000,
};

export function resolveSizes(size: ScenarioSize | undefined): Sizes {
  return { ...DEFAULT_SIZES, ...Object.fromEntries(Object.entries(size ?? {}).filter(([, v]) => v !== undefined)) };
}

/** Which incidents a scenario arms. */
export interface ScenarioPlan {
  quickwit: boolean;
  milvus: boolean;
  greptime: boolean;
  tikv: boolean;
  fluvio: boolean;
}

export function planOf(scenario: ScenarioName): ScenarioPlan {
  const all = scenario === 'incident-all';
  return {
    quickwit: all || scenario === 'quickwit-dangling-shards',
    milvus: all || scenario === 'milvus-wal-close-blocked',
    greptime: all || scenario === 'greptime-ddl-backlog',
    tikv: all || scenario === 'tikv-stale-prepared-region',
    fluvio: all || scenario === 'fluvio-out-of-space-reverted',
  };
}

/** Ticks of ordinary operation before any fault (everything settles). */
export const WARMUP_TICKS = 10;
/** Ticks the cluster runs after the incidents began: ten minutes, far past a 30 s grace period. */
export const TAIL_TICKS = 600;
/** Ticks over which the load-driven incidents (shard leak, DDL backlog) build up. */
export const LOAD_TICKS = 30;

/**
 * How much of `total` to drive on tick `t` of `ticks`, given that each tick
 * already adds `background` by itself, so that the sum is exactly `total`.
 */
export function share(total: number, ticks: number, t: number, background: number): number {
  const driven = Math.max(0, total - background * ticks);
  return Math.floor((driven * (t + 1)) / ticks) - Math.floor((driven * t) / ticks);
}
