/**
 * The reference cluster simulator: five subsystem modules over one entity
 * store, a seeded PRNG and a logical clock. Deterministic: the same scenario,
 * seed and bug settings give the same event trace (see `traceHash`).
 *
 * Every public method that changes state flushes the resulting change events
 * to the `onEvents` listeners as `cluster.events` notifications.
 */
import { randomUUID } from 'node:crypto';
import {
  COLLECTION_NAMES,
  ErrorCodes,
  RpcException,
  SUBSYSTEMS,
  type BugMode,
  type BugSettings,
  type ClusterConfig,
  type ClusterStatus,
  type CollectionName,
  type EntityOf,
  type Fault,
  type RepairParams,
  type RepairResult,
  type ScenarioName,
  type ScenarioSize,
  type Subsystem,
} from '../protocol';
import type { SimContext, Sizes, SubsystemSim } from './context';
import { FluvioSim } from './fluvio';
import { GreptimeSim } from './greptime';
import { MilvusSim } from './milvus';
import { Prng } from './prng';
import { QuickwitSim } from './quickwit';
import type { SimControl } from '../cluster/backend';
import { refuseAll, StoreBackend } from '../cluster/store-backend';
import { LOAD_TICKS, planOf, resolveSizes, share, TAIL_TICKS, WARMUP_TICKS } from './scenarios';
import { Store } from '../cluster/store';
import { TikvSim } from './tikv';
import { TraceHash } from './trace';

export const DEFAULT_CONFIG: ClusterConfig = {
  maxRunningProcedures: 128,
  maxRetryTimes: 3,
  etcdQuotaBytes: 2 * 1024 ** 3, // etcd's default --quota-backend-bytes
};

/** How long `run` advances the clock before it yields to the event loop. */
const TICK_SLICE_MS = 20;

export interface ResetOptions {
  scenario: ScenarioName;
  seed?: number;
  bugs?: BugMode | BugSettings;
  size?: ScenarioSize;
}

function bugsFrom(bugs: BugMode | BugSettings | undefined, base: Record<Subsystem, BugMode>): Record<Subsystem, BugMode> {
  if (bugs === undefined) return { ...base };
  if (typeof bugs === 'string') return Object.fromEntries(SUBSYSTEMS.map((s) => [s, bugs])) as Record<Subsystem, BugMode>;
  return { ...base, ...bugs };
}

interface Modules {
  quickwit: QuickwitSim;
  milvus: MilvusSim;
  greptime: GreptimeSim;
  tikv: TikvSim;
  fluvio: FluvioSim;
}

export class Simulator extends StoreBackend implements SimControl {
  readonly serverName = 'cluster-sim';
  /** The simulator is its own control API (`sim.*`). */
  readonly control: SimControl = this;
  readonly clusterName: string;
  readonly config: ClusterConfig = { ...DEFAULT_CONFIG };
  private scenario: ScenarioName = 'healthy';
  private seed = 1;
  private bugs: Record<Subsystem, BugMode> = bugsFrom('buggy', {} as Record<Subsystem, BugMode>);
  private clock = 0;
  private trace = new TraceHash();
  protected store = new Store(this.trace);
  private rng = new Prng(1);
  private modules!: Modules;
  /** Bumped by every reset; a `run` in progress stops when it changes. */
  private generation = 0;
  /**
   * Tells this process from the next one started with the same seed: the
   * model is deterministic (same keys, same versions), so only this says a
   * plan was made on another run. Not part of the model or its trace.
   */
  private readonly bootId = randomUUID();

  constructor(opts: { clusterName?: string } = {}) {
    super();
    this.clusterName = opts.clusterName ?? 'sim';
    this.reset({ scenario: 'healthy' });
  }

  // -------------------------------------------------------- control API --

  /** Replaces the whole cluster with `scenario` built from `seed`. Subscribers get one `reset` notification. */
  reset(opts: ResetOptions): ClusterStatus {
    this.generation++;
    this.scenario = opts.scenario;
    this.seed = opts.seed ?? 1;
    this.bugs = bugsFrom(opts.bugs ?? 'buggy', this.bugs);
    const size = resolveSizes(opts.size);
    this.clock = 0;
    this.trace = new TraceHash();
    this.store = new Store(this.trace, this.store.seq);
    this.rng = new Prng(this.seed);
    this.repairCache.clear();
    const ctx = this.context();
    this.modules = {
      quickwit: new QuickwitSim(ctx),
      milvus: new MilvusSim(ctx),
      greptime: new GreptimeSim(ctx),
      tikv: new TikvSim(ctx),
      fluvio: new FluvioSim(ctx),
    };
    this.trace.record(`reset ${this.scenario} seed=${this.seed} bugs=${JSON.stringify(this.bugs)} size=${JSON.stringify(size)}`);
    // The bulk build emits no per-entity events (it is still traced): subscribers resync once.
    this.store.bulk = true;
    try {
      this.build(size);
    } finally {
      this.store.bulk = false;
    }
    this.store.markReset();
    this.publish();
    return this.status();
  }

  tick(ticks = 1): ClusterStatus {
    for (let i = 0; i < ticks; i++) this.advance();
    this.publish();
    return this.status();
  }

  /**
   * Advances the clock `ticks` times in slices of about `TICK_SLICE_MS`,
   * yielding to the event loop between them: a long run (a buggy backlog makes
   * each tick dearer) neither stalls other clients nor delays a shutdown.
   * Subscribers get each slice's events as it ends. A reset in between ends the
   * run early, and the status says how far the clock got.
   */
  async run(ticks: number, signal?: AbortSignal): Promise<ClusterStatus> {
    const generation = this.generation;
    let done = 0;
    while (done < ticks && generation === this.generation && !signal?.aborted) {
      // Wall time only decides where a slice ends, never what the model does.
      const sliceEnd = performance.now() + TICK_SLICE_MS;
      do {
        this.advance();
        done++;
      } while (done < ticks && performance.now() < sliceEnd);
      this.publish();
      if (done < ticks) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return this.status();
  }

  inject(fault: Fault, target?: string): ClusterStatus {
    const m = this.moduleForFault(fault);
    const what = m.inject(fault, target);
    this.trace.record(`inject ${fault} ${target ?? '-'} t=${this.time}: ${what}`);
    this.publish();
    return this.status();
  }

  setBugs(bugs: BugMode | BugSettings): ClusterStatus {
    this.bugs = bugsFrom(bugs, this.bugs);
    this.trace.record(`bugs ${JSON.stringify(this.bugs)} t=${this.time}`);
    return this.status();
  }

  /** A writer makes metastore shards live: their leader ingesters initialise them and the control plane learns them. */
  initShards(keys: string[]): { initialised: string[]; skipped: Array<{ key: string; reason: string }>; seq: number } {
    const result = this.modules.quickwit.initShards(keys);
    this.trace.record(`initShards ${keys.length} t=${this.time}: ${result.initialised.length} initialised`);
    this.publish();
    return { ...result, seq: this.store.seq };
  }

  traceHash(): { traceHash: string; events: number; time: number } {
    return { traceHash: this.trace.digest(), events: this.trace.events, time: this.time };
  }

  // -------------------------------------------------------------- reads --

  status(): ClusterStatus {
    const counts: Partial<Record<CollectionName, number>> = {};
    for (const c of COLLECTION_NAMES) counts[c] = this.store.size(c);
    return {
      clusterName: this.clusterName,
      scenario: this.scenario,
      seed: this.seed,
      bugs: { ...this.bugs },
      time: this.time,
      seq: this.store.seq,
      controlPlaneEpoch: this.modules.quickwit.controlPlaneEpoch,
      incarnation: this.incarnation,
      counts: counts as Record<CollectionName, number>,
      config: { ...this.config },
    };
  }

  /** Every entity of a collection, for in-process readers (benches, tests); the wire pages with `list`. */
  entities<C extends CollectionName>(collection: C): IterableIterator<EntityOf<C>> {
    return this.store.values(collection);
  }

  // ------------------------------------------------------------ repairs --

  /** This run of this cluster: another process, or a reset, is another incarnation. */
  get incarnation(): string {
    return `${this.bootId}.${this.generation}`;
  }

  /**
   * Runs a conditional repair. A retry with the same `requestId` returns the first result and applies
   * nothing. A repair planned on another incarnation is refused whole; one whose preconditions no
   * longer all hold is refused item by item, in the same step as the write would have been.
   */
  repair(params: RepairParams): RepairResult {
    const replay = this.admitRepair(params);
    if (replay) return replay;
    const failed = this.failedPrecondition(params.repair.preconditions ?? []);
    const items = failed
      ? refuseAll(params.repair, `not applied: ${failed}; re-check and plan again`)
      : this.moduleForCommand(params.repair.command).repair(params.repair);
    const result = this.finishRepair(params, items);
    this.trace.record(
      `repair ${params.requestId} ${params.repair.command} t=${this.clock}: ${result.applied}/${result.refused}/${items.length - result.applied - result.refused}`,
    );
    return result;
  }

  protected get time(): number {
    return this.clock;
  }

  protected epochOf(component: 'quickwit.controlPlane'): number | undefined {
    return component === 'quickwit.controlPlane' ? this.modules.quickwit.controlPlaneEpoch : undefined;
  }

  // ---------------------------------------------------------- internals --

  private context(): SimContext {
    // Getters so that modules always see the simulator's current clock and bug settings.
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below have their own `this`
    const sim = this;
    return {
      get store() {
        return sim.store;
      },
      get rng() {
        return sim.rng;
      },
      get trace() {
        return sim.trace;
      },
      get config() {
        return sim.config;
      },
      get time() {
        return sim.time;
      },
      get bugs() {
        return sim.bugs;
      },
    };
  }

  private all(): SubsystemSim[] {
    const m = this.modules;
    return [m.quickwit, m.milvus, m.greptime, m.tikv, m.fluvio];
  }

  private advance(): void {
    this.clock++;
    this.trace.record(`tick ${this.time} rng=${this.rng.state()}`);
    for (const m of this.all()) m.tick();
  }

  private build(size: Sizes): void {
    const m = this.modules;
    for (const mod of this.all()) mod.build(size);
    for (let i = 0; i < WARMUP_TICKS; i++) this.advance();
    const plan = planOf(this.scenario);
    // Incidents that unfold on their own once triggered.
    if (plan.milvus) m.milvus.inject('milvus.rollingUpgrade', undefined);
    if (plan.tikv) m.tikv.inject('tikv.commitOnlyMessage', undefined);
    if (plan.fluvio) {
      m.fluvio.inject('fluvio.diskFull', undefined);
      this.advance();
      this.advance();
      m.fluvio.inject('fluvio.scSpuLinkFlap', undefined);
    }
    for (let i = 0; i < TAIL_TICKS; i++) this.advance();
    // Incidents driven by load; the fault is armed for the window, which ends the scenario.
    const leak = plan.quickwit ? size.danglingShards : 0;
    const writes = plan.greptime ? size.ddlRetries : 0;
    if (leak > 0) m.quickwit.inject('quickwit.ingesterInitFails', undefined);
    if (writes > 0) m.greptime.inject('greptime.remoteWalUnavailable', undefined);
    if (leak > 0 || writes > 0) {
      for (let t = 0; t < LOAD_TICKS; t++) {
        // Each tick adds one attempt of each by itself while its fault is armed.
        if (leak > 0) m.quickwit.applyLoad(share(leak, LOAD_TICKS, t, 1));
        if (writes > 0) m.greptime.applyWrites(share(writes, LOAD_TICKS, t, 1));
        this.advance();
      }
    }
  }

  private moduleForFault(fault: Fault): SubsystemSim {
    const prefix = fault.split('.')[0] as keyof Modules;
    return this.modules[prefix];
  }

  private moduleForCommand(command: RepairParams['repair']['command']): SubsystemSim {
    const m = this.all().find((mod) => (mod.commands as readonly string[]).includes(command));
    if (!m) throw new RpcException(ErrorCodes.MethodNotFound, `no subsystem runs ${command}`);
    return m;
  }
}
