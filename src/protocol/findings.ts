/**
 * Findings and repair plans: what the checks produce and what crosses to the
 * editor, the CLI's JSON/SARIF output and the tests. Defined once here.
 */
import { z } from 'zod';
import { CollectionName, Subsystem } from './collections';
import { LogicalTime } from './entities';
import { formatClusterTime, formatCount, percentDone, type ClusterClock } from './format';
import { RepairCommand } from './repair-command';
import { Transition } from './timeline';

export const RULES = {
  'shards/dangling': {
    subsystem: 'shards',
    severity: 'error',
    reads: ['quickwit.metastore.shards', 'quickwit.controlPlane.shards', 'quickwit.ingester.shards', 'quickwit.ingesters'],
    summary: 'A non-closed metastore shard that the control plane does not know and no ingester holds.',
  },
  'shards/orphaned': {
    subsystem: 'shards',
    severity: 'warning',
    reads: ['quickwit.metastore.shards', 'quickwit.controlPlane.shards', 'quickwit.ingester.shards'],
    summary: 'A shard known to the control plane or an ingester but absent from the metastore.',
  },
  'wal/close-blocked': {
    subsystem: 'wal',
    severity: 'error',
    // Not milvus.appends: a real cluster's store does not hold them (the node's memory). The check
    // uses them as evidence where they were read, and otherwise sees the unconfirmed close itself.
    reads: ['milvus.nodes', 'milvus.wals'],
    summary:
      'A node asked to stop, past its grace period, whose WAL close cannot finish: recovering with appends in flight, or (seen from the store) its close not confirmed.',
  },
  'ddl/backlog': {
    subsystem: 'ddl',
    severity: 'error',
    reads: ['greptime.procedures', 'greptime.etcd'],
    summary: 'Unfinished procedures above max_running_procedures, or etcd near its quota.',
  },
  'ddl/duplicate': {
    subsystem: 'ddl',
    severity: 'warning',
    reads: ['greptime.procedures'],
    summary: 'More than one unfinished procedure for the same table.',
  },
  'regions/stale-prepared': {
    subsystem: 'regions',
    severity: 'error',
    reads: ['tikv.regions', 'tikv.writeBatches'],
    summary:
      'A region still marked prepared for write after the write batch that prepared it moved on (no batch in progress prepared it, or at a commit boundary).',
  },
  'partitions/online-out-of-space': {
    subsystem: 'partitions',
    severity: 'error',
    reads: ['fluvio.partitions', 'fluvio.spuReports'],
    summary: 'A partition the SC says is Online while its leader SPU reports its storage full.',
  },
  'timeline/forbidden-transition': {
    // Any subsystem: each finding names the one of the entity that made the transition.
    subsystem: null,
    severity: 'warning',
    reads: [],
    summary: 'An entity still holds a state it reached by a transition its system forbids, as recorded in the timeline (with its time).',
  },
  'gateway/unreadable-record': {
    // Any subsystem a gateway reads: each finding names its own (`Finding.subsystem`).
    subsystem: null,
    severity: 'warning',
    reads: [],
    summary: "A record of a system's own store that the gateway could not decode: it is missing from the views and from every check.",
  },
} as const satisfies Record<
  string,
  {
    subsystem: Subsystem | null;
    severity: 'error' | 'warning';
    /**
     * The collections the rule compares: it is checked only when each was read successfully in its
     * subsystem's current state (`ClusterStatus.subsystems[s].collections`); one unknown, and the
     * rule says "not checked" instead of reading it as empty. Empty: the rule needs no collection read.
     */
    reads: readonly CollectionName[];
    summary: string;
  }
>;

export type RuleId = keyof typeof RULES;
export const RULE_IDS = Object.keys(RULES) as RuleId[];
export const RuleId = z.enum(RULE_IDS as [RuleId, ...RuleId[]]);

export const Severity = z.enum(['error', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

export const EntityRef = z.object({ collection: CollectionName, key: z.string(), version: z.number().int() });
export type EntityRef = z.infer<typeof EntityRef>;

/**
 * What a fact is about: one entity of a component's view (at the version read), a group of a
 * collection's entities (how many, and one of them whose line stands for the group in the
 * documents), or a record of a system's own store that is no entity (it did not decode).
 */
export const FactSubject = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('entity'),
    collection: CollectionName,
    key: z.string(),
    /** The entity's version when the check read it. */
    version: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal('group'),
    collection: CollectionName,
    /** Which entities: a grouping key (`index/source`, a table, a topic), or the collection's name for all of it. */
    group: z.string(),
    count: z.number().int().nonnegative(),
    /** An entity of the group, whose line (or group line) stands for it; absent: the collection's section. */
    key: z.string().optional(),
  }),
  z.object({
    kind: z.literal('record'),
    collection: CollectionName,
    /** The record's key in the system's own store. */
    key: z.string(),
  }),
]);
export type FactSubject = z.infer<typeof FactSubject>;

/**
 * One fact a finding rests on: what one component's view says, about what, at which version and
 * when. A finding's facts are its evidence: the editor's hover lists them ("because …") and links
 * each to its entity's line, and `cluster-check` prints them (JSON `facts`, SARIF `relatedLocations`).
 */
export const Fact = z.object({
  /** Whose view it is: the component (`COLLECTIONS[c].component`, e.g. `control plane`, `SPU`) or the gateway. */
  component: z.string(),
  subject: FactSubject,
  /** The component's own version of its whole view, when it has one: the Quickwit control plane's epoch. */
  epoch: z.number().int().nonnegative().optional(),
  /** When the check read it: the cluster's logical time (`ClusterStatus.time`, seconds) of the model checked. */
  readAt: LogicalTime,
  /** The entity's own time for what it says, when it has one: an SPU's report, a stop request, a procedure's start. */
  since: LogicalTime.optional(),
  /** One sentence an operator reads, e.g. "SPU 5001's last report (t=120 s) says its storage is full." */
  says: z.string(),
});
export type Fact = z.infer<typeof Fact>;

/**
 * Where a fact's version and time come from, in words, its time on the cluster's clock
 * (`formatClusterTime`): `control plane, epoch 7, shard-1 v3, read at t=120 s`.
 */
export function factProvenance(f: Fact, clock: ClusterClock): string {
  const parts = [f.component];
  if (f.epoch !== undefined) parts.push(`epoch ${f.epoch}`);
  if (f.subject.kind === 'entity') parts.push(`${f.subject.key} v${f.subject.version}`);
  else if (f.subject.kind === 'group') parts.push(`${f.subject.collection}: ${formatCount(f.subject.count)}`);
  else parts.push(`${f.subject.collection} record ${f.subject.key}`);
  parts.push(`read at ${formatClusterTime(f.readAt, clock)}`);
  return parts.join(', ');
}

/** The evidence lines of a finding: its facts' sentences (what `cluster-check` printed before facts were structured). */
export function evidenceOf(f: { facts: readonly Fact[] }): string[] {
  return f.facts.map((x) => x.says);
}

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
  /** Whether `Cluster: Undo Repair…` can take it back (from the journal's before-images); see `REPAIR_COMMANDS`. */
  undoable: z.boolean(),
  /** Why it cannot be undone (with `undoable: false`), said before it runs. */
  undoNote: z.string().optional(),
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
  /** What the finding rests on, one fact per component's view (and per entity, up to a few). */
  facts: z.array(Fact),
  repairs: z.array(RepairOption),
  /** A timeline rule's forbidden transitions (up to `MAX_FINDING_SAMPLES`), each with its cluster time. */
  transitions: z.array(Transition).optional(),
  /**
   * Set on a finding from the cluster's counts (`cluster.summary`), before the first full sync
   * ended: its facts are counts, not entities, so it offers no repair (a repair names the entity
   * versions it was planned from) and its `count` is a lower bound. The full check's finding of the
   * same id replaces it when the sync ends. Absent on every finding of a synced model.
   */
  provisional: z.literal(true).optional(),
});
export type Finding = z.infer<typeof Finding>;

/**
 * What a provisional finding adds to what it says: that it rests on counts, and how far the sync
 * that brings the full findings is (`done` of `total` entities read), e.g. `from counts; the full
 * sync is 42% done`.
 */
export function provisionalNote(sync: { done: number; total: number } | null | undefined): string {
  if (!sync) return 'from counts; the full findings come with the sync';
  return `from counts; the full sync is ${percentDone(sync)}% done`;
}

export const MAX_FINDING_SAMPLES = 20;
