/**
 * Findings and repair plans: what the checks produce and what crosses to the
 * editor, the CLI's JSON/SARIF output and the tests. Defined once here.
 */
import { z } from 'zod';
import { CollectionName, Subsystem } from './collections';
import { RepairCommand } from './methods';
import { Transition } from './timeline';

export const RULES = {
  'shards/dangling': {
    subsystem: 'shards',
    severity: 'error',
    summary: 'A non-closed metastore shard that the control plane does not know and no ingester holds.',
  },
  'shards/orphaned': {
    subsystem: 'shards',
    severity: 'warning',
    summary: 'A shard known to the control plane or an ingester but absent from the metastore.',
  },
  'wal/close-blocked': {
    subsystem: 'wal',
    severity: 'error',
    summary: 'A node asked to stop, past its grace period, whose WAL is recovering with appends in flight.',
  },
  'ddl/backlog': {
    subsystem: 'ddl',
    severity: 'error',
    summary: 'Unfinished procedures above max_running_procedures, or etcd near its quota.',
  },
  'ddl/duplicate': {
    subsystem: 'ddl',
    severity: 'warning',
    summary: 'More than one unfinished procedure for the same table.',
  },
  'regions/stale-prepared': {
    subsystem: 'regions',
    severity: 'error',
    summary: "A region marked prepared for write that is not the write batch's current region, or at a commit boundary.",
  },
  'partitions/online-out-of-space': {
    subsystem: 'partitions',
    severity: 'error',
    summary: 'A partition the SC says is Online while its leader SPU reports its storage full.',
  },
  'timeline/forbidden-transition': {
    // Any subsystem: each finding names the one of the entity that made the transition.
    subsystem: null,
    severity: 'warning',
    summary: 'An entity still holds a state it reached by a transition its system forbids, as recorded in the timeline (with its time).',
  },
  'gateway/unreadable-record': {
    // Any subsystem a gateway reads: each finding names its own (`Finding.subsystem`).
    subsystem: null,
    severity: 'warning',
    summary: "A record of a system's own store that the gateway could not decode: it is missing from the views and from every check.",
  },
} as const satisfies Record<string, { subsystem: Subsystem | null; severity: 'error' | 'warning'; summary: string }>;

export type RuleId = keyof typeof RULES;
export const RULE_IDS = Object.keys(RULES) as RuleId[];
export const RuleId = z.enum(RULE_IDS as [RuleId, ...RuleId[]]);

export const Severity = z.enum(['error', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

export const EntityRef = z.object({ collection: CollectionName, key: z.string(), version: z.number().int() });
export type EntityRef = z.infer<typeof EntityRef>;

/** What one component says about the finding's entities: the views that disagree. */
export const ComponentView = z.object({
  component: z.string(),
  collection: CollectionName,
  says: z.string(),
});
export type ComponentView = z.infer<typeof ComponentView>;

export const RepairSafety = z.enum(['safe', 'may-lose-data']);
export type RepairSafety = z.infer<typeof RepairSafety>;

export const RepairOption = z.object({
  /** Stable within its finding, e.g. `delete-uninitialised`. */
  id: z.string(),
  title: z.string(),
  safety: RepairSafety,
  /** What it does and why it is safe (or what it may lose). */
  description: z.string(),
  /** How many entities it acts on. */
  targetCount: z.number().int().nonnegative(),
  /** The exact operations it would send, in order, each already within the protocol's batch limit. */
  operations: z.array(RepairCommand),
});
export type RepairOption = z.infer<typeof RepairOption>;

export const Finding = z.object({
  /** Stable across re-checks while the same problem persists: `rule:group`. */
  id: z.string(),
  rule: RuleId,
  severity: Severity,
  subsystem: Subsystem,
  /** The grouping key, e.g. `otel-logs-v0_7:01HXYZ/_ingest-source` for shards. */
  group: z.string(),
  /** One line an operator understands. */
  message: z.string(),
  /** How many entities are in this group (760,000 dangling shards are one finding). */
  count: z.number().int().nonnegative(),
  /** Up to `MAX_FINDING_SAMPLES` of the entities involved. */
  samples: z.array(EntityRef),
  /** The entity whose document line the diagnostic sits on. */
  anchor: EntityRef,
  views: z.array(ComponentView),
  evidence: z.array(z.string()),
  repairs: z.array(RepairOption),
  /** A timeline rule's forbidden transitions (up to `MAX_FINDING_SAMPLES`), each with its cluster time. */
  transitions: z.array(Transition).optional(),
});
export type Finding = z.infer<typeof Finding>;

export const MAX_FINDING_SAMPLES = 20;
