/**
 * The timeline recorder: each entity's state changes, kept in a ring buffer bounded by a count
 * (`clusterDebugger.timeline.maxTransitions`), the oldest dropped first. Pure data: the engine
 * feeds it the before/after of every entity a `cluster.events` notification changed; the checks,
 * the snapshot file and `clusterDebugger/timeline` read it.
 *
 * A state is a short label per collection (`stateLabel`): the fields the system's own state
 * machine is about (a shard's state, a WAL's term and availability, a procedure's status, a
 * region's state and prepared mark, a partition's resolution, whether an SPU's report says its
 * storage is full). An event that changes anything else (a position, a size) records nothing.
 */
import { COLLECTIONS, type AnyEntity, type CollectionName, type EntityOf, type Subsystem, type Transition } from '../protocol';
import { formatClusterTime, type ClusterClock } from '../protocol/format';

type LabelFn<C extends CollectionName> = (e: EntityOf<C>) => string;

/** The parts of a label, in order, joined with `LABEL_SEPARATOR`. */
export const LABEL_SEPARATOR = ', ';
const join = (...parts: (string | false)[]) => parts.filter((p): p is string => p !== false).join(LABEL_SEPARATOR);

/** Token of a region's label while it is marked prepared for write (`is_written`). */
export const PREPARED = 'prepared';
/** Labels of an SPU report: whether it says the partition's storage is full. */
export const STORAGE_FULL = 'storage full';
export const SPACE_FREE = 'space free';

const WAL_LABEL = /^term (\d+), (available|unavailable)/;
const BATCH_LABEL = /^(?:current region (-?\d+)|no current region), (at commit boundary|writing)$/;

/** Each collection's state label; a collection without one (etcd prefixes: only sizes) records nothing. */
const LABELS: { [C in CollectionName]?: LabelFn<C> } = {
  'quickwit.metastore.shards': (e) => e.shardState,
  'quickwit.controlPlane.shards': (e) => e.shardState,
  'quickwit.ingester.shards': (e) => e.shardState,
  'quickwit.ingesters': (e) => e.status,
  'milvus.nodes': (e) => e.lifecycle,
  'milvus.wals': (e) =>
    join(`term ${e.term}`, e.available ? 'available' : 'unavailable', e.recovering === true && 'recovering', e.closing && 'closing'),
  'milvus.appends': (e) => e.phase,
  'milvus.channelMetas': (e) => join(e.state, `node ${e.node}`, `term ${e.term}`),
  'greptime.procedures': (e) => e.status,
  'tikv.regions': (e) => join(e.state, e.isWritten && PREPARED),
  'tikv.writeBatches': (e) =>
    join(
      e.currentRegion === null ? 'no current region' : `current region ${e.currentRegion}`,
      e.atCommitBoundary ? 'at commit boundary' : 'writing',
    ),
  'fluvio.partitions': (e) => e.resolution,
  'fluvio.spuReports': (e) => (e.storageFull ? STORAGE_FULL : SPACE_FREE),
  'fluvio.spus': (e) => join(e.status, !e.connected && 'disconnected'),
};

/** The entity's state label, or undefined for a collection whose entities have no state. */
export function stateLabel(collection: CollectionName, entity: AnyEntity): string | undefined {
  const fn = LABELS[collection] as ((e: AnyEntity) => string) | undefined;
  return fn?.(entity);
}

export function hasStates(collection: CollectionName): boolean {
  return LABELS[collection] !== undefined;
}

/** The parts of a label (`Active, prepared` → `Active`, `prepared`): what the state filter matches. */
export function labelParts(label: string | null): string[] {
  return label === null ? [] : label.split(LABEL_SEPARATOR);
}

/** A WAL's `(term, available)` from its label (`term 3, available, recovering`), or undefined. */
export function walStateOf(label: string | null): { term: number; available: boolean } | undefined {
  const m = label === null ? null : WAL_LABEL.exec(label);
  return m ? { term: Number(m[1]), available: m[2] === 'available' } : undefined;
}

/** A write batch's current region and commit boundary from its label, or undefined. */
export function batchStateOf(label: string | null): { currentRegion: number | null; atCommitBoundary: boolean } | undefined {
  const m = label === null ? null : BATCH_LABEL.exec(label);
  return m ? { currentRegion: m[1] === undefined ? null : Number(m[1]), atCommitBoundary: m[2] === 'at commit boundary' } : undefined;
}

/** A region's state (`Active`) from its label (`Active, prepared`). */
export function regionStateOf(label: string): string {
  return labelParts(label)[0] ?? '';
}

export function isPrepared(label: string | null): boolean {
  return labelParts(label).includes(PREPARED);
}

/** What changed one entity: an applied `cluster.events` event, with the entity before and after (undefined: absent). */
export interface StateChange {
  seq: number;
  time: number;
  collection: CollectionName;
  key: string;
  before: AnyEntity | undefined;
  after: AnyEntity | undefined;
}

/** The recorder: a ring buffer of at most `capacity` transitions. */
export class Timeline {
  private ring: (Transition | undefined)[] = [];
  /** Where the next transition goes (the oldest, once full). */
  private head = 0;
  private count = 0;
  /** Transitions recorded and later dropped to stay within the capacity. */
  dropped = 0;

  constructor(private max: number) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`a timeline's capacity must be a non-negative integer, not ${max}`);
  }

  get capacity(): number {
    return this.max;
  }

  get size(): number {
    return this.count;
  }

  /** Records the change's transition, if its state label changed. Returns whether it recorded one. */
  observe(change: StateChange): boolean {
    if (!hasStates(change.collection)) return false;
    const from = change.before ? (stateLabel(change.collection, change.before) ?? null) : null;
    const to = change.after ? (stateLabel(change.collection, change.after) ?? null) : null;
    if (from === to) return false;
    this.record({ seq: change.seq, time: change.time, collection: change.collection, key: change.key, from, to });
    return true;
  }

  record(t: Transition): void {
    if (this.max === 0) {
      this.dropped++;
      return;
    }
    if (this.count < this.max) {
      this.ring[(this.head + this.count) % this.max] = t;
      this.count++;
      return;
    }
    this.ring[this.head] = t;
    this.head = (this.head + 1) % this.max;
    this.dropped++;
  }

  /** Keeps the newest `max` transitions. */
  setCapacity(max: number): void {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`a timeline's capacity must be a non-negative integer, not ${max}`);
    if (max === this.max) return;
    const all = this.toArray();
    const kept = all.slice(Math.max(0, all.length - max));
    this.dropped += all.length - kept.length;
    this.max = max;
    this.ring = kept;
    this.head = 0;
    this.count = kept.length;
  }

  clear(): void {
    this.ring = [];
    this.head = 0;
    this.count = 0;
    this.dropped = 0;
  }

  /** The transitions, oldest first. */
  toArray(): Transition[] {
    const out: Transition[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.ring[(this.head + i) % this.max]!;
    return out;
  }
}

// ----------------------------------------------------------------- filter --

export interface TimelineFilter {
  /** One entity. */
  collection?: CollectionName;
  key?: string;
  /** Any of these subsystems (all when absent or empty). */
  subsystems?: readonly Subsystem[];
  /** Transitions from or to a state with any of these parts (all when absent or empty). */
  states?: readonly string[];
}

export function matchesFilter(t: Transition, f: TimelineFilter): boolean {
  if (f.collection !== undefined && t.collection !== f.collection) return false;
  if (f.key !== undefined && t.key !== f.key) return false;
  if (f.subsystems?.length && !f.subsystems.includes(COLLECTIONS[t.collection].subsystem)) return false;
  if (f.states?.length) {
    const parts = [...labelParts(t.from), ...labelParts(t.to)];
    if (!f.states.some((s) => parts.includes(s))) return false;
  }
  return true;
}

/** How many transitions each subsystem and each state part has: the choices of a filter. */
export function timelineFacets(timeline: readonly Transition[]): {
  subsystems: Partial<Record<Subsystem, number>>;
  states: Record<string, number>;
} {
  const subsystems: Partial<Record<Subsystem, number>> = {};
  const states = new Map<string, number>();
  for (const t of timeline) {
    const s = COLLECTIONS[t.collection].subsystem;
    subsystems[s] = (subsystems[s] ?? 0) + 1;
    for (const p of new Set([...labelParts(t.from), ...labelParts(t.to)])) states.set(p, (states.get(p) ?? 0) + 1);
  }
  return { subsystems, states: Object.fromEntries([...states.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) };
}

/**
 * A transition as one line of text, its time on the cluster's clock (`formatClusterTime`):
 * `t=120 s seq 5012  fluvio.partitions orders-0: LeaderOffline → Online` on the simulator.
 */
export function describeTransition(t: Transition, clock: ClusterClock): string {
  return `${formatClusterTime(t.time, clock)} seq ${t.seq}  ${t.collection} ${t.key}: ${t.from ?? '(new)'} → ${t.to ?? '(deleted)'}`;
}
