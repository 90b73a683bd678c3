/**
 * What every check shares: building a finding from its rule's registry entry,
 * severity overrides, bounded samples, and splitting targets into repair
 * batches the protocol accepts.
 */
import {
  MAX_FINDING_SAMPLES,
  MAX_PRECONDITIONS,
  MAX_REPAIR_TARGETS,
  RULES,
  type CollectionName,
  COLLECTIONS,
  type ClusterStatus,
  type EntityRef,
  type Fact,
  type Expectation,
  type Finding,
  type Precondition,
  type RepairCommand,
  type RepairCommandName,
  type RepairOption,
  type RuleId,
  type Severity,
  type Subsystem,
  type Transition,
} from '../../protocol';
import { undoability } from '../../protocol/undo';
import { formatClusterTime, formatCount } from '../../protocol/format';
import type { ClusterModel } from '../model';

export interface CheckOptions extends CheckContext {
  /** Per-rule severity override, or 'off'. */
  severities?: Partial<Record<RuleId, Severity | 'off'>>;
}

/** What a check may read besides the model. */
export interface CheckContext {
  /** The recorded state transitions, oldest first (`src/analysis/timeline.ts`); absent: none recorded. */
  timeline?: readonly Transition[];
}

/** One rule's check: a pure function of the model (and, for timeline rules, of the recorded transitions). */
export type Check = (model: ClusterModel, context?: CheckContext) => Finding[];

export interface FindingParts {
  group: string;
  message: string;
  count: number;
  samples: EntityRef[];
  /** Defaults to the first sample. */
  anchor?: EntityRef;
  facts: Fact[];
  repairs: RepairOption[];
}

/**
 * A finding of `rule` with its default severity (overrides are applied once, in runChecks).
 * `subsystem`: for a rule of no single subsystem (`RULES[rule].subsystem` null), the finding's own.
 */
export function makeFinding(rule: RuleId, parts: FindingParts, subsystem?: Subsystem): Finding {
  const anchor = parts.anchor ?? parts.samples[0];
  if (!anchor) throw new Error(`finding ${rule}:${parts.group} has neither anchor nor samples`);
  const of = subsystem ?? RULES[rule].subsystem;
  if (!of) throw new Error(`finding ${rule}:${parts.group} needs a subsystem (its rule spans subsystems)`);
  return {
    id: `${rule}:${parts.group}`,
    rule,
    severity: RULES[rule].severity,
    subsystem: of,
    group: parts.group,
    message: parts.message,
    count: parts.count,
    samples: parts.samples,
    anchor,
    facts: parts.facts,
    repairs: parts.repairs,
  };
}

export function ref(collection: CollectionName, e: { key: string; version: number }): EntityRef {
  return { collection, key: e.key, version: e.version };
}

/** Adds a sample while fewer than MAX_FINDING_SAMPLES are held. */
export function pushSample(samples: EntityRef[], collection: CollectionName, e: { key: string; version: number }): void {
  if (samples.length < MAX_FINDING_SAMPLES) samples.push(ref(collection, e));
}

/** Entities a finding names one fact each (regions, partitions, WALs); past that, one fact counts the rest. */
export const MAX_FACT_ENTITIES = 5;

/** What a fact adds to its sentence: another name for the component, its epoch, the entity's own time. */
export interface FactOptions {
  /** Defaults to the collection's component (`COLLECTIONS`). */
  component?: string;
  epoch?: number;
  since?: number;
}

/**
 * Builds the facts of one model's findings, all read at the model's time. One per check run:
 * `const fact = facts(model.status)`.
 */
export function facts(status: Pick<ClusterStatus, 'time' | 'scenario'>) {
  const base = (collection: CollectionName, says: string, o: FactOptions) => ({
    component: o.component ?? COLLECTIONS[collection].component,
    ...(o.epoch !== undefined ? { epoch: o.epoch } : {}),
    readAt: status.time,
    ...(o.since !== undefined ? { since: o.since } : {}),
    says,
  });
  return {
    /** A time of this cluster in a fact's sentence: "t=120 s" on the simulator, the UTC date and time on a gateway. */
    at: (t: number): string => formatClusterTime(t, status),
    /** What one entity, at the version read, says. */
    entity(collection: CollectionName, e: { key: string; version: number }, says: string, o: FactOptions = {}): Fact {
      return { ...base(collection, says, o), subject: { kind: 'entity', collection, key: e.key, version: e.version } };
    },
    /** What `count` entities of a collection say together; `key`: one of them, where the fact links to. */
    group(collection: CollectionName, group: string, count: number, key: string | undefined, says: string, o: FactOptions = {}): Fact {
      const subject = { kind: 'group' as const, collection, group, count, ...(key !== undefined ? { key } : {}) };
      return { ...base(collection, says, o), subject };
    },
    /** A record of a system's own store that is no entity (it did not decode). */
    record(collection: CollectionName, key: string, says: string, o: FactOptions = {}): Fact {
      return { ...base(collection, says, o), subject: { kind: 'record', collection, key } };
    },
  };
}

/** Facts per item for the first MAX_FACT_ENTITIES items, then one fact about all the others, if any. */
export function factsPer<T>(items: readonly T[], each: (item: T) => Fact | Fact[], others: (rest: readonly T[]) => Fact): Fact[] {
  const out = items.slice(0, MAX_FACT_ENTITIES).flatMap(each);
  if (items.length > MAX_FACT_ENTITIES) out.push(others(items.slice(MAX_FACT_ENTITIES)));
  return out;
}

/** "1 is" / "2 are": a sentence's verb after a count. */
/** The first `max` names, then "…": "a, b, c, …" (a fix title names its targets without growing without bound). */
export function nameList(names: readonly string[], max = 3): string {
  return names.slice(0, max).join(', ') + (names.length > max ? ', …' : '');
}

export function isAre(n: number): string {
  return n === 1 ? 'is' : 'are';
}

/** Commands whose targets are plain expectations (undo's own commands carry more, and no check plans them). */
type TargetCommand = Exclude<Extract<RepairCommand, { targets: Expectation[] }>['command'], 'fluvio.restoreResolution'>;

/**
 * Collects a repair's targets as two packed arrays (key strings the model
 * already holds, versions as small integers): no object per target while
 * checking. The `{key, version}` expectations and their batches of
 * MAX_REPAIR_TARGETS are built once, only when something reads the
 * operations (executing the repair, serialising the finding).
 */
export class TargetBatcher {
  private readonly keys: string[] = [];
  private readonly versions: number[] = [];
  /** Per target, the other component's fact its repair rests on (only for checks that name one). */
  private facts: (Precondition | undefined)[] | undefined;

  /**
   * `shared`: the facts of other components' views that every target's repair rests on (a
   * component's epoch, the versions of the entities the finding read), sent with every batch.
   */
  constructor(
    readonly command: TargetCommand,
    private readonly shared: readonly Precondition[] = [],
  ) {
    if (shared.length > MAX_SHARED_PRECONDITIONS) throw new Error(`${command}: more than ${MAX_SHARED_PRECONDITIONS} shared preconditions`);
  }

  get count(): number {
    return this.keys.length;
  }

  /** A target at the version seen, and optionally the fact of another view that its repair rests on. */
  add(e: { key: string; version: number }, fact?: Precondition): void {
    if (fact) (this.facts ??= new Array(this.keys.length))[this.keys.length] = fact;
    this.keys.push(e.key);
    this.versions.push(e.version);
  }

  /**
   * The commands, each within the protocol's batch limit, conditional on the versions seen when
   * planning and on the facts they rest on (the shared ones, and the batch's own, each once).
   */
  operations(): RepairCommand[] {
    const ops: RepairCommand[] = [];
    for (let start = 0; start < this.keys.length; start += MAX_REPAIR_TARGETS) {
      const end = Math.min(start + MAX_REPAIR_TARGETS, this.keys.length);
      const targets: Expectation[] = new Array(end - start);
      for (let i = start; i < end; i++) targets[i - start] = { key: this.keys[i]!, version: this.versions[i]! };
      const preconditions = [...this.shared, ...this.batchFacts(start, end)];
      ops.push({ command: this.command, targets, ...(preconditions.length ? { preconditions } : {}) } as RepairCommand);
    }
    return ops;
  }

  private batchFacts(start: number, end: number): Precondition[] {
    if (!this.facts) return [];
    const seen = new Map<string, Precondition>();
    for (let i = start; i < end; i++) {
      const f = this.facts[i];
      if (f) seen.set(preconditionKey(f), f);
    }
    return [...seen.values()];
  }
}

/** Facts shared by every batch: the rest of MAX_PRECONDITIONS is for one fact per target. */
export const MAX_SHARED_PRECONDITIONS = MAX_PRECONDITIONS - MAX_REPAIR_TARGETS;

function preconditionKey(p: Precondition): string {
  return 'epoch' in p ? `epoch:${p.epoch}` : `${p.collection}:${p.key}`;
}

/** The fact "this entity is still at this version". */
export function stillAt(collection: CollectionName, e: { key: string; version: number }): Precondition {
  return { collection, key: e.key, version: e.version };
}

/** The fact "the control plane has not reloaded its view" (its epoch). */
export function controlPlaneAt(epoch: number): Precondition {
  return { epoch: 'quickwit.controlPlane', value: epoch };
}

/** What a check writes of a repair option; whether it can be undone follows from its commands. */
export type OptionText = Omit<RepairOption, 'operations' | 'targetCount' | 'undoable' | 'undoNote'>;

/** `undoable` (and why not) for a plan of these commands, from the protocol's `REPAIR_COMMANDS`. */
export function undoFields(commands: readonly { command: RepairCommandName }[]): Pick<RepairOption, 'undoable' | 'undoNote'> {
  const u = undoability(commands);
  return u.undoable ? { undoable: true } : { undoable: false, undoNote: u.reason };
}

/** A repair option of fixed operations (a restart), its undoability filled in. */
export function fixedOption(option: OptionText & { targetCount: number }, operations: RepairCommand[]): RepairOption {
  return { ...option, operations, ...undoFields(operations) };
}

/** A repair option, or nothing when it would act on no target (the protocol refuses empty batches). */
export function repairOption(option: OptionText, operations: RepairCommand[], targetCount: number): RepairOption[] {
  if (operations.length === 0 || targetCount === 0) return [];
  return [fixedOption({ ...option, targetCount }, operations)];
}

/**
 * A repair option from a batcher, with `operations` as an enumerable getter
 * that builds the batches on first read and then keeps them (JSON, zod and
 * deep equality all read it like a plain property).
 */
export function batchedOption(option: OptionText, b: TargetBatcher): RepairOption[] {
  if (b.count === 0) return [];
  const repair = { ...option, targetCount: b.count, ...undoFields([{ command: b.command }]) } as RepairOption;
  Object.defineProperty(repair, 'operations', {
    enumerable: true,
    configurable: true,
    get() {
      const operations = b.operations();
      Object.defineProperty(repair, 'operations', { value: operations, enumerable: true, writable: true, configurable: true });
      return operations;
    },
  });
  return [repair];
}

/** Per-state counts as "760,000 open, 12 unavailable" (largest first). */
export function describeCounts(counts: Map<string, number>): string {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([state, n]) => `${formatCount(n)} ${state}`)
    .join(', ');
}

export function increment(counts: Map<string, number>, k: string, by = 1): void {
  counts.set(k, (counts.get(k) ?? 0) + by);
}
