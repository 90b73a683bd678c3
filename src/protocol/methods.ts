/**
 * Every method of the cluster protocol: params and result schemas, one place.
 *
 * Three namespaces, deliberately separate:
 *  - `initialize`, `cluster.*`: read the components' views, subscribe to changes;
 *  - `repair`: conditional, idempotent repair commands named per subsystem;
 *  - `sim.*`: the simulator's own control API (clock, faults, scenario, bugs).
 *    A real-cluster gateway would not implement it.
 */
import { z } from 'zod';
import { CollectionName, Subsystem } from './collections';
import { LogicalTime } from './entities';
import { PageEncoding } from './pages';
import { SummaryResult } from './summary';
import { MAX_REPAIR_TARGETS, RepairCommand } from './repair-command';
import { AuditPreviewParams, JournalReadParams, JournalReadResult } from './journal';

export { Expectation, MAX_PRECONDITIONS, MAX_REPAIR_TARGETS, Precondition, RepairCommand, type RepairCommandName } from './repair-command';

export const PROTOCOL_VERSION = 1;
/** Largest page a client may ask for. 5,000 shards are about 1.3 MB of JSON. */
export const MAX_PAGE_LIMIT = 5000;
export const DEFAULT_PAGE_LIMIT = 1000;

// ------------------------------------------------------------- handshake --

/**
 * `cluster.events` encodings besides objects. `deletes-v1`: a run of deletions from one
 * collection comes as two arrays, keys and versions (`EventsNotification.deleted`), instead of
 * one object per event: a bulk repair's 760,000 delete events in about half the bytes, parsed
 * and checked as arrays. See `encodeDeletes` / `eventsOf` in `events.ts`.
 */
export const EVENT_ENCODINGS = ['deletes-v1'] as const;
export const EventEncoding = z.enum(EVENT_ENCODINGS);
export type EventEncoding = z.infer<typeof EventEncoding>;

export const InitializeParams = z.object({
  protocolVersion: z.number().int(),
  clientName: z.string().max(200),
  /**
   * Page encodings of `cluster.list` the client reads, best first (see `pages.ts`). Absent or
   * empty: pages come as objects (`items`), as in protocol version 1 before encodings existed.
   * Names this server does not know are ignored, so a newer client can offer newer ones.
   */
  encodings: z.array(z.string().max(64)).max(16).optional(),
  /**
   * `cluster.events` encodings the client reads besides objects (`EVENT_ENCODINGS`), best first.
   * Absent or empty: every event as an object. Unknown names are ignored.
   */
  eventEncodings: z.array(z.string().max(64)).max(16).optional(),
});
export type InitializeParams = z.infer<typeof InitializeParams>;

export const BugMode = z.enum(['buggy', 'fixed']);
export type BugMode = z.infer<typeof BugMode>;
export const BugSettings = z.record(Subsystem, BugMode);
export type BugSettings = z.infer<typeof BugSettings>;

/** Limits and settings of the cluster that checks need (from the real systems' config). */
export const ClusterConfig = z.object({
  /** greptime `procedure.max_running_procedures` (upstream default 128). */
  maxRunningProcedures: z.number().int().positive(),
  /** greptime `procedure.max_retry_times`. */
  maxRetryTimes: z.number().int().nonnegative(),
  /** etcd `--quota-backend-bytes`. */
  etcdQuotaBytes: z.number().int().positive(),
});
export type ClusterConfig = z.infer<typeof ClusterConfig>;

/** A record of a real store that does not decode into an entity: reported, never skipped in silence. */
export const UnreadableRecord = z.object({
  collection: CollectionName,
  /** The store's own key (an etcd key, a table row's id, a file path). */
  key: z.string().max(1024),
  reason: z.string().max(1024),
});
export type UnreadableRecord = z.infer<typeof UnreadableRecord>;

/**
 * Whether one collection of a subsystem was read successfully in the subsystem's current state.
 * `unread`: not read yet; `unavailable`: its last read failed (the store or API answered an error,
 * or is not ready). Either way its mirror is unknown, never empty: no finding compares it.
 */
export const CollectionHealth = z.object({
  state: z.enum(['ok', 'unread', 'unavailable']),
  reason: z.string().max(2048).optional(),
});
export type CollectionHealth = z.infer<typeof CollectionHealth>;

/**
 * The upstream version a subsystem's store or API says it runs (`_sqlx_migrations`, PD's
 * `version`, the Milvus session's `Version`, …). `version` is the comparable part (`0.9.0`,
 * `8.5.7`, `migration 28`); `from` says where it was read, for the Clusters view's tooltip.
 */
export const SystemVersion = z.object({
  /** The upstream project: `Quickwit`, `Milvus`, `GreptimeDB`, `TiKV`, `Fluvio`. */
  system: z.string().max(64),
  version: z.string().max(128),
  from: z.string().max(512),
});
export type SystemVersion = z.infer<typeof SystemVersion>;

export const SubsystemHealth = z.object({
  state: z.enum(['ok', 'not-configured', 'unavailable']),
  /** Per collection, whether its last read succeeded. Absent (or a collection absent): read, `ok`. */
  collections: z.partialRecord(CollectionName, CollectionHealth).optional(),
  /** The upstream version the store or API says it runs, where it says so. */
  version: SystemVersion.optional(),
  /**
   * Repair commands (`RepairCommandName`) the cluster refuses now, each with why and the
   * operator's remedy: a write the running owner would ignore or overwrite from memory is not
   * safe. Previews, quick fixes and Repair All Safe say "refused by the gateway" for them.
   */
  refuses: z.record(z.string().max(128), z.string().max(2048)).optional(),
  /** Why it is not ok, in words (the store's error, "no greptime section in the gateway config"). */
  reason: z.string().max(2048).optional(),
  /**
   * What the operator should know even while it is ok: a connection whose certificate is not
   * checked (`tls.verify: false`), a PostgreSQL connection in plaintext. Absent: none.
   */
  warnings: z.array(z.string().max(2048)).max(16).optional(),
  /** Records that did not decode: the first ones, and how many in all. */
  unreadable: z.array(UnreadableRecord).max(100).optional(),
  unreadableCount: z.number().int().nonnegative().optional(),
});
export type SubsystemHealth = z.infer<typeof SubsystemHealth>;

export const ClusterStatus = z.object({
  clusterName: z.string(),
  scenario: z.string(),
  seed: z.number().int(),
  bugs: BugSettings,
  /** The logical clock, in seconds. */
  time: LogicalTime,
  /** Sequence number of the last change event. */
  seq: z.number().int().nonnegative(),
  /** The Quickwit control plane's epoch; bumps on restart. `quickwit.restartControlPlane` expects it. */
  controlPlaneEpoch: z.number().int().nonnegative(),
  /**
   * This run of the cluster: a boot id, or the store's own cluster id and
   * revision. It changes when the cluster restarts or is reset, even where
   * entity versions repeat (a deterministic simulator gives them again).
   * Every repair names the incarnation it was planned on. Absent in snapshots.
   */
  incarnation: z.string().min(1).max(128).optional(),
  /** The cluster refuses every repair (a gateway without `"repairs": true`). Absent: repairs are accepted. */
  readOnly: z.boolean().optional(),
  /**
   * Per subsystem, whether the cluster can see it at all (a gateway reads each
   * from its own store; one that is not configured, or cannot be reached,
   * says so here instead of failing the others). Absent: all are `ok`.
   */
  subsystems: z.partialRecord(Subsystem, SubsystemHealth).optional(),
  counts: z.record(CollectionName, z.number().int().nonnegative()),
  config: ClusterConfig,
});
export type ClusterStatus = z.infer<typeof ClusterStatus>;

/**
 * Methods a cluster may or may not serve, beyond the ones every cluster of this protocol version
 * has. A cluster lists those it serves in `InitializeResult.methods`; a client calls one only if
 * listed, so an older cluster (which lists nothing) keeps working with a newer client.
 */
export const OPTIONAL_METHODS = ['cluster.summary', 'journal.read', 'audit.preview'] as const;
export const OptionalMethod = z.enum(OPTIONAL_METHODS);
export type OptionalMethod = z.infer<typeof OptionalMethod>;

/** A team gateway's roles (per-user tokens): `viewer` reads and previews; `operator` also repairs and undoes. */
export const ROLES = ['viewer', 'operator'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** Who a connection is: the user whose token authenticated it. */
export const Caller = z.object({ user: z.string().min(1).max(64), role: Role });
export type Caller = z.infer<typeof Caller>;

export const InitializeResult = z.object({
  protocolVersion: z.number().int(),
  serverName: z.string(),
  simulator: z.boolean(),
  status: ClusterStatus,
  /** The page encoding this connection's `cluster.list` uses, one the client offered. Absent: objects. */
  encoding: PageEncoding.optional(),
  /**
   * The optional methods this cluster serves (`OPTIONAL_METHODS`; names a client does not know are
   * kept as strings and ignored). Absent: none, as from a cluster from before they existed.
   */
  methods: z.array(z.string().max(64)).max(64).optional(),
  /** The `cluster.events` encoding this connection gets, one the client offered. Absent: objects. */
  eventEncoding: EventEncoding.optional(),
  /** Who this connection is, on a cluster with per-user tokens (a team gateway's `users`). Absent: one shared token. */
  caller: Caller.optional(),
});
export type InitializeResult = z.infer<typeof InitializeResult>;

// ------------------------------------------------------------------ reads --

export const ListParams = z.object({
  collection: CollectionName,
  /** Opaque; from the previous page's `nextCursor`. */
  cursor: z.string().max(1024).nullish(),
  limit: z.number().int().positive().max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
});
export type ListParams = z.input<typeof ListParams>;

const pageCommon = {
  collection: CollectionName,
  nextCursor: z.string().nullable(),
  /** The cluster's sequence number when the page was read. */
  seq: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
};

/** A page as objects: `items` are validated per collection by the client (see `COLLECTIONS[c].schema`). */
export const ObjectsListResult = z.object({ ...pageCommon, items: z.array(z.unknown()) });
/**
 * A page in the `columns-v1` encoding (only to a client that offered it). `page` is a `ColumnsPage`:
 * `decodeColumnsPage` checks it (and says what is wrong in words), then the entities are validated like `items`.
 */
export const ColumnsListResult = z.object({ ...pageCommon, encoding: z.literal('columns-v1'), page: z.unknown() });
export const ListResult = z.union([ColumnsListResult, ObjectsListResult]);
export type ListResult = z.infer<typeof ListResult>;

export const GetParams = z.object({ collection: CollectionName, keys: z.array(z.string()).max(MAX_PAGE_LIMIT) });
export const GetResult = z.object({ items: z.array(z.unknown()), seq: z.number().int().nonnegative() });

// ------------------------------------------------------------ subscribing --

export const SubscribeParams = z.object({});
export const SubscribeResult = z.object({ seq: z.number().int().nonnegative() });

export const ChangeEvent = z.discriminatedUnion('op', [
  z.object({
    seq: z.number().int().positive(),
    op: z.literal('upsert'),
    collection: CollectionName,
    key: z.string(),
    item: z.unknown(),
  }),
  z.object({
    seq: z.number().int().positive(),
    op: z.literal('delete'),
    collection: CollectionName,
    key: z.string(),
    /** The entity's version at deletion. */
    version: z.number().int().nonnegative(),
  }),
]);
export type ChangeEvent = z.infer<typeof ChangeEvent>;

/** A run of deletions from one collection (`deletes-v1`): `keys[i]` was at `versions[i]`. */
export const DeletedRun = z
  .object({
    collection: CollectionName,
    keys: z.array(z.string()),
    versions: z.array(z.number().int().nonnegative()),
  })
  .refine((d) => d.keys.length === d.versions.length && d.keys.length > 0, { message: 'keys and versions must be as many, and not none' });
export type DeletedRun = z.infer<typeof DeletedRun>;

/**
 * Notification `cluster.events`: consecutive events. `events[i].seq` is
 * `fromSeq + i`; a client whose last seen seq is not `fromSeq - 1` has a gap
 * and must resync. `reset` means the whole cluster was replaced (sim.reset).
 * With `deleted` (only to a client that negotiated `deletes-v1`), `events` is
 * empty and the `i`-th deletion has seq `fromSeq + i`.
 */
export const EventsNotification = z
  .object({
    fromSeq: z.number().int().positive(),
    events: z.array(ChangeEvent),
    time: LogicalTime,
    reset: z.boolean().optional(),
    deleted: DeletedRun.optional(),
  })
  .refine((n) => !n.deleted || n.events.length === 0, { message: 'a notification carries events or a run of deletions, not both' });
export type EventsNotification = z.infer<typeof EventsNotification>;

// ---------------------------------------------------------------- repairs --

/**
 * Which items a repair's answer lists. `all`: every target's result. `exceptions`: only the
 * targets not applied (refused, with the reason, or unchanged), with `applied` counting the
 * others: a batch of 5,000 deletions is answered in a few hundred bytes instead of 5,000 results.
 */
export const RepairItemResults = z.enum(['all', 'exceptions']);
export type RepairItemResults = z.infer<typeof RepairItemResults>;

/**
 * Who asked for a repair and why, as the client's own journal records it: a gateway's audit journal
 * records the client's repair faithfully from it (one record per `repair` id, whatever the batch),
 * instead of one anonymous record per request. Absent (an older client): one record per request.
 * `rule` and `safety` are plain bounded strings, so a client that knows a newer rule is not refused;
 * a cluster keeps what it knows of them.
 */
export const RepairAudit = z.object({
  /** The client's repair id (its journal's): every batch of one repair carries the same. */
  repair: z.string().min(1).max(128),
  /** This request's batch index in the repair (0 for the first). */
  batch: z.number().int().nonnegative(),
  findingId: z.string().max(1024),
  rule: z.string().max(128).optional(),
  /** The finding's repair option the plan is (`RepairOption.id`). */
  option: z.string().max(128).optional(),
  title: z.string().max(1024),
  safety: z.string().max(64),
  undoable: z.boolean(),
  undoNote: z.string().max(2048).optional(),
  /** Set on an undo: the repair id it takes back. */
  undoOf: z.string().max(128).optional(),
  /** The Repair All run the repair is one of. */
  run: z.string().max(128).optional(),
  /** The plan: per operation, its command and how many entities it acts on. */
  plan: z
    .array(z.object({ command: z.string().max(128), targets: z.number().int().nonnegative() }))
    .max(100_000)
    .optional(),
});
export type RepairAudit = z.infer<typeof RepairAudit>;

export const RepairParams = z.object({
  /** Client-chosen; a retry with the same id returns the first result and does nothing again. */
  requestId: z.string().min(1).max(128),
  /** The `ClusterStatus.incarnation` the repair was planned on; any other is refused with WrongIncarnation. */
  incarnation: z.string().min(1).max(128),
  repair: RepairCommand,
  /**
   * Absent: `all`, what a client that predates the option gets. A cluster that predates it ignores
   * it and lists every item; its answer then has no `itemResults`, which says so.
   */
  itemResults: RepairItemResults.optional(),
  /** The client's repair this request is a batch of (see `RepairAudit`). A cluster without a journal ignores it. */
  audit: RepairAudit.optional(),
});
export type RepairParams = z.infer<typeof RepairParams>;

export const RepairItemResult = z.object({
  key: z.string(),
  status: z.enum(['applied', 'refused', 'unchanged']),
  /** Why it was refused, or what was done, in words an operator understands. */
  message: z.string(),
  /** The entity's version after an applied change (its undo expects it), when the cluster knows it. */
  version: z.number().int().nonnegative().optional(),
});
export type RepairItemResult = z.infer<typeof RepairItemResult>;

export const RepairResult = z.object({
  requestId: z.string(),
  command: z.string(),
  /** True when this is a replay of an earlier request with the same id. */
  replayed: z.boolean(),
  applied: z.number().int().nonnegative(),
  refused: z.number().int().nonnegative(),
  /** Every target's result, or with `itemResults: 'exceptions'` only those not applied. */
  items: z.array(RepairItemResult),
  /** `exceptions` when `items` leaves out the applied ones (the request asked for that); absent: every item. */
  itemResults: z.literal('exceptions').optional(),
  summary: z.string(),
  seq: z.number().int().nonnegative(),
});
export type RepairResult = z.infer<typeof RepairResult>;

// ------------------------------------------------- simulator control API --

export const SCENARIOS = [
  'healthy',
  'quickwit-dangling-shards',
  'milvus-wal-close-blocked',
  'greptime-ddl-backlog',
  'tikv-stale-prepared-region',
  'fluvio-out-of-space-reverted',
  'incident-all',
] as const;
export const ScenarioName = z.enum(SCENARIOS);
export type ScenarioName = z.infer<typeof ScenarioName>;

/** Sizes are parameters. Defaults are small enough for a quick demo. */
export const ScenarioSize = z.object({
  /** Shards leaked into the metastore by failed `init_shards`. The incident: 763,471 − ~3,000. */
  danglingShards: z.number().int().nonnegative().max(5_000_000).optional(),
  /** Healthy shards the control plane knows (~3,000 in the incident). */
  liveShards: z.number().int().nonnegative().max(1_000_000).optional(),
  /** Failed auto-create writes that each add a CreateTable procedure. */
  ddlRetries: z.number().int().nonnegative().max(1_000_000).optional(),
  regions: z.number().int().nonnegative().max(1_000_000).optional(),
  partitions: z.number().int().nonnegative().max(1_000_000).optional(),
});
export type ScenarioSize = z.infer<typeof ScenarioSize>;

export const SimResetParams = z.object({
  scenario: ScenarioName,
  seed: z.number().int().default(1),
  bugs: z.union([BugMode, BugSettings]).optional(),
  size: ScenarioSize.optional(),
});
export const SimTickParams = z.object({ ticks: z.number().int().positive().max(10_000).default(1) });
export const SimSetBugsParams = z.object({ bugs: z.union([BugMode, BugSettings]) });
export const Fault = z.enum([
  'quickwit.ingesterInitFails',
  'quickwit.autoCreateIndexFails',
  'quickwit.ingesterRollingRestart',
  'milvus.rollingUpgrade',
  'greptime.remoteWalUnavailable',
  'tikv.commitOnlyMessage',
  'fluvio.diskFull',
  'fluvio.scSpuLinkFlap',
]);
export type Fault = z.infer<typeof Fault>;
export const SimInjectParams = z.object({ fault: Fault, target: z.string().optional() });
export const SimTraceHashResult = z.object({ traceHash: z.string(), events: z.number().int(), time: LogicalTime });
/**
 * A writer, as the Quickwit control plane is one: it retries `init_shards` for
 * metastore shards, and each one the leader ingester opens is added to the
 * control plane's model. The shard is live from then on.
 */
export const SimInitShardsParams = z.object({ keys: z.array(z.string().max(1024)).min(1).max(MAX_REPAIR_TARGETS) });
export const SimInitShardsResult = z.object({
  /** Metastore shard keys now held by their leader ingester and known to the control plane. */
  initialised: z.array(z.string()),
  /** The others, and why (no such shard, closed, already held, leader restarting). */
  skipped: z.array(z.object({ key: z.string(), reason: z.string() })),
  seq: z.number().int().nonnegative(),
});

/** Method name → params / result schema. The server dispatches from this table; clients type from it. */
export const METHODS = {
  initialize: { params: InitializeParams, result: InitializeResult },
  'cluster.status': { params: z.object({}).optional(), result: ClusterStatus },
  'cluster.list': { params: ListParams, result: ListResult },
  'cluster.get': { params: GetParams, result: GetResult },
  /** Counts per collection, group and state, no entities (optional: only if `initialize` listed it). */
  'cluster.summary': { params: z.object({}).optional(), result: SummaryResult },
  'cluster.subscribe': { params: SubscribeParams.optional(), result: SubscribeResult },
  'cluster.unsubscribe': { params: z.object({}).optional(), result: z.object({}) },
  repair: { params: RepairParams, result: RepairResult },
  /** The cluster's own audit journal, a page of lines (optional: only if `initialize` listed it, i.e. it keeps one). */
  'journal.read': { params: JournalReadParams, result: JournalReadResult },
  /** A client computed a repair preview: the cluster journals who (optional: listed only with a journal). */
  'audit.preview': { params: AuditPreviewParams, result: z.object({}) },
  'sim.reset': { params: SimResetParams, result: ClusterStatus },
  'sim.tick': { params: SimTickParams, result: ClusterStatus },
  'sim.setBugs': { params: SimSetBugsParams, result: ClusterStatus },
  'sim.inject': { params: SimInjectParams, result: ClusterStatus },
  'sim.traceHash': { params: z.object({}).optional(), result: SimTraceHashResult },
  'sim.initShards': { params: SimInitShardsParams, result: SimInitShardsResult },
} as const;
export type MethodName = keyof typeof METHODS;
export type ParamsOf<M extends MethodName> = z.input<(typeof METHODS)[M]['params']>;
export type ResultOf<M extends MethodName> = z.infer<(typeof METHODS)[M]['result']>;

export const NOTIFICATIONS = {
  'cluster.events': EventsNotification,
} as const;
