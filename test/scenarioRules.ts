/**
 * What each scenario breaks, as the rule ids a user sees: the one expectation
 * the simulator, server, CLI, integration and UI suites check against. Written
 * out by hand, not derived from `src/`, so that a check or scenario that
 * drifts fails the tests.
 */
import type { RuleId } from '../src/protocol/findings';
import type { ScenarioName } from '../src/protocol/methods';

export const SCENARIO_RULES = {
  'quickwit-dangling-shards': ['shards/dangling'],
  'milvus-wal-close-blocked': ['wal/close-blocked'],
  'greptime-ddl-backlog': ['ddl/backlog', 'ddl/duplicate'],
  'tikv-stale-prepared-region': ['regions/stale-prepared'],
  'fluvio-out-of-space-reverted': ['partitions/online-out-of-space'],
} as const satisfies Record<Exclude<ScenarioName, 'healthy' | 'incident-all'>, readonly RuleId[]>;

export type IncidentScenario = keyof typeof SCENARIO_RULES;
export type IncidentRule = (typeof SCENARIO_RULES)[IncidentScenario][number];

/** `incident-all`: the five incidents at once, their rule ids sorted. */
export const INCIDENT_RULES: readonly IncidentRule[] = [...new Set(Object.values(SCENARIO_RULES).flat())].sort();
