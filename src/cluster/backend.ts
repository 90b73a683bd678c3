/**
 * What a cluster is to the protocol server: the simulator, or a gateway over
 * the real systems' metadata stores. The server (`server.ts`) and the
 * JSON-RPC dispatch (`rpc.ts`) serve any backend; the `sim.*` control methods
 * exist only where the backend has `control`.
 */
import type {
  AuditPreviewParams,
  BugMode,
  BugSettings,
  Caller,
  ClusterStatus,
  CollectionName,
  EntityOf,
  EventsNotification,
  Fault,
  JournalReadResult,
  ListResult,
  PageEncoding,
  RepairParams,
  RepairResult,
  ScenarioName,
  ScenarioSize,
  SimInitShardsResult,
  SimTraceHashResult,
  SummaryResult,
} from '../protocol';
import type { z } from 'zod';
import type { Telemetry } from './telemetry';

export interface ClusterBackend {
  /** `serverName` in `initialize`'s result, and the realm of a refused upgrade. */
  readonly serverName: string;
  status(): ClusterStatus;
  /** A page of a collection; `encoding` is the one this connection negotiated in `initialize` (absent: objects). */
  list(collection: CollectionName, cursor: string | null | undefined, limit: number, encoding?: PageEncoding): ListResult;
  get(collection: CollectionName, keys: string[]): { items: unknown[]; seq: number };
  /**
   * `cluster.summary`: counts per collection, group and state, without reading entities out. Absent:
   * the method is not listed in `initialize` and not found (clients then sync in full at once).
   */
  summary?(): SummaryResult | Promise<SummaryResult>;
  /**
   * A conditional repair (see `RepairParams`); a gateway's answers once its store has decided.
   * `caller`: who sent it (absent: an in-process caller, as a test's).
   */
  repair(params: RepairParams, caller?: Caller): RepairResult | Promise<RepairResult>;
  /** Change events as `cluster.events` notifications; returns the unsubscribe. */
  onEvents(listener: (n: EventsNotification) => void): () => void;
  /** The simulator's own control API (`sim.*`). Absent: those methods are not found. */
  readonly control?: SimControl;
  /** Repairs and reads counted for `/metrics`. Absent: those metrics are not served. */
  readonly telemetry?: Telemetry;
  /** Each collection as served, read-only (not copied): `/metrics` runs the checks on them. Absent: no finding metrics. */
  collections?<C extends CollectionName>(c: C): ReadonlyMap<string, EntityOf<C>>;
  /** The cluster's own audit journal. Absent: `journal.read` and `audit.preview` are not listed in `initialize`, and not found. */
  readonly journal?: ClusterJournal;
  /** Stops whatever the backend runs (watches, polls, connections). */
  close?(): Promise<void>;
}

/** A cluster's own audit journal, as the protocol serves it (a gateway's `journal` config). */
export interface ClusterJournal {
  /** `journal.read`: the valid lines after line `after` (1-based), at most `limit`. */
  read(after: number, limit: number): Promise<JournalReadResult>;
  /** `audit.preview`: journals that `caller` previewed a repair. */
  preview(params: AuditPreviewParams, caller?: Caller): Promise<void>;
}

export interface SimControl {
  reset(opts: { scenario: ScenarioName; seed?: number; bugs?: BugMode | BugSettings; size?: ScenarioSize }): ClusterStatus;
  /** Advances the clock `ticks` times, yielding to the event loop; `signal` ends it early. */
  run(ticks: number, signal?: AbortSignal): Promise<ClusterStatus>;
  setBugs(bugs: BugMode | BugSettings): ClusterStatus;
  inject(fault: Fault, target?: string): ClusterStatus;
  traceHash(): z.infer<typeof SimTraceHashResult>;
  /** An outside writer makes metastore shards live (their leader initialises them, the control plane learns them). */
  initShards(keys: string[]): z.infer<typeof SimInitShardsResult>;
}
