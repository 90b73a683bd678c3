/**
 * Custom LSP requests and notifications between the extension (client) and the
 * language server (engine). The extension never talks to a cluster itself.
 */
import { z } from 'zod';
import { CollectionName, Subsystem } from './collections';
import { Finding, RepairSafety, Severity } from './findings';
import { Caller, ClusterStatus } from './methods';
import { PreviewParams, PreviewResult, ProtectionLevel } from './preview';
import { RepairHistoryEntry } from './journal';
import { StuckWork } from './stuck';
import { TopologyParams, TopologyResult } from './topology';
import { MAX_TIMELINE_TRANSITIONS } from './config';
import { Transition } from './timeline';

export const CONNECTION_STATES = ['connecting', 'syncing', 'live', 'stale', 'disconnected'] as const;
export const ConnectionState = z.enum(CONNECTION_STATES);
export type ConnectionState = z.infer<typeof ConnectionState>;

/** How far a cluster's full sync has got (while `syncing`): entities read, of how many, and how fast. */
export const SyncProgress = z.object({
  done: z.number().int().nonnegative(),
  /** From `cluster.summary`, else the status's counts: the cluster may change meanwhile, so `done` can pass it. */
  total: z.number().int().nonnegative(),
  entitiesPerSecond: z.number().nonnegative(),
});
export type SyncProgress = z.infer<typeof SyncProgress>;

export const ClusterInfo = z.object({
  name: z.string(),
  url: z.string(),
  state: ConnectionState,
  /** Last connection or sync error, for the tree's error node. */
  error: z.string().nullable(),
  status: ClusterStatus.nullable(),
  /** Findings per subsystem, for view badges. */
  problems: z.record(Subsystem, z.number().int().nonnegative()),
  errors: z.number().int().nonnegative(),
  warnings: z.number().int().nonnegative(),
  /** Its protection level as set (`effectiveProtection` adds a cluster that refuses every repair itself, or a viewer's). */
  protection: ProtectionLevel,
  /** When its last full sync (connect, Refresh, a resync) ended, as an ISO time of this machine's clock. Absent: none yet. */
  syncedAt: z.string().optional(),
  /**
   * The full sync in progress, if one is: findings that need every entity come when it ends (until
   * then the views show the groups and counts of `cluster.summary`). Absent: none running.
   */
  sync: SyncProgress.optional(),
  /**
   * How many of `problems` are provisional: from `cluster.summary`'s counts, before the first full
   * sync ended (no repairs; the findings that need every entity replace them when it ends). Absent: none.
   */
  provisional: z.number().int().positive().optional(),
  /**
   * Set once a synced model was checked: its findings are the full check's. Before, a cluster that
   * serves no summary has no findings yet, which is not "healthy" (the editor's new-error notice waits for it).
   */
  checked: z.literal(true).optional(),
  /**
   * Who this connection is, on a gateway with per-user tokens (`initialize`'s caller): the Clusters
   * view shows it, and a viewer's repairs are refused before anything is sent. Absent: one shared token.
   */
  caller: Caller.optional(),
});
export type ClusterInfo = z.infer<typeof ClusterInfo>;

export const ConnectParams = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.-]+$/),
  url: z.string().url(),
  token: z.string(),
  /** Absent: `confirm` (only the editor asks; `read-only` is enforced by the server). */
  protection: ProtectionLevel.optional(),
});
export type ConnectParams = z.infer<typeof ConnectParams>;
/** Result of `clusterDebugger/clusters` (no params): every cluster the server knows, connected or not. */
export const ClustersResult = z.object({ clusters: z.array(ClusterInfo) });
export type ClustersResult = z.infer<typeof ClustersResult>;
/** Params of `clusterDebugger/setProtection`: a connected cluster's level changed in the settings. */
export const SetProtectionParams = z.object({ cluster: z.string(), protection: ProtectionLevel });
/** Params of `clusterDebugger/disconnect`. */
export const DisconnectParams = z.object({ name: z.string() });
/** Params of `clusterDebugger/refresh`: one cluster, or all when omitted. */
export const RefreshParams = z.object({ cluster: z.string().optional() });

export const TreeNodeKind = z.enum(['cluster', 'group', 'entity', 'loadMore', 'message']);
export const Health = z.enum(['ok', 'warning', 'error', 'stale', 'none']);
export type Health = z.infer<typeof Health>;

export const TreeNode = z.object({
  /** Stable, unique across the tree: the parent's id plus this node's segment. */
  id: z.string(),
  kind: TreeNodeKind,
  label: z.string(),
  description: z.string().optional(),
  tooltip: z.string().optional(),
  health: Health,
  /** Codicon id, e.g. `database`. */
  icon: z.string().optional(),
  hasChildren: z.boolean(),
  /** For `loadMore` nodes: the cursor that continues the parent's children. */
  cursor: z.string().optional(),
  cluster: z.string(),
  entity: z.object({ collection: CollectionName, key: z.string() }).optional(),
  findingIds: z.array(z.string()).optional(),
  /** Where this node's line is in the cluster's virtual document. */
  location: z.object({ uri: z.string(), line: z.number().int().nonnegative() }).optional(),
});
export type TreeNode = z.infer<typeof TreeNode>;

export const TreeChildrenParams = z.object({
  subsystem: Subsystem,
  /** Null for the view's root. */
  parentId: z.string().nullable(),
  cursor: z.string().nullish(),
  limit: z.number().int().positive().max(1000).default(500),
});
export type TreeChildrenParams = z.input<typeof TreeChildrenParams>;
export const TreeChildrenResult = z.object({ nodes: z.array(TreeNode) });

export const FindingsParams = z.object({ cluster: z.string().optional(), subsystem: Subsystem.optional() });
export const FindingSummary = Finding.omit({ repairs: true }).extend({
  cluster: z.string(),
  repairs: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      safety: RepairSafety,
      targetCount: z.number().int(),
      /** What it does and what it may lose (RepairOption.description); shown in the confirmation. */
      description: z.string().optional(),
      /** Whether `Cluster: Undo Repair…` can take it back, and why not (RepairOption.undoable, undoNote). */
      undoable: z.boolean().optional(),
      undoNote: z.string().optional(),
    }),
  ),
});
export type FindingSummary = z.infer<typeof FindingSummary>;
export const FindingsResult = z.object({ findings: z.array(FindingSummary) });

/** Arguments of `workspace/executeCommand` `clusterDebugger.applyRepair` (the command quick fixes name). */
export const ApplyRepairArgs = z.object({
  cluster: z.string(),
  findingId: z.string(),
  repairId: z.string(),
});
export type ApplyRepairArgs = z.infer<typeof ApplyRepairArgs>;
export const ApplyRepairResult = z.object({
  ok: z.boolean(),
  applied: z.number().int(),
  refused: z.number().int(),
  /** One line for the notification. */
  summary: z.string(),
  /** Per item, capped; the full list goes to the log. */
  details: z.array(z.string()),
  /** Whether the finding is gone after the re-check. */
  resolved: z.boolean(),
});
export type ApplyRepairResult = z.infer<typeof ApplyRepairResult>;

export const ApplyAllSafeArgs = z.object({ cluster: z.string() });
export type ApplyAllSafeArgs = z.infer<typeof ApplyAllSafeArgs>;

export const DidChangeParams = z.object({
  cluster: z.string(),
  subsystems: z.array(Subsystem),
  state: ConnectionState,
  /**
   * Every cluster the server knows, as of this change (the one above may be
   * gone). The extension's labels (badges, the Clusters view, the status bar)
   * come from this, so a burst of changes costs no `clusters` request.
   */
  clusters: z.array(ClusterInfo),
});
export type DidChangeParams = z.infer<typeof DidChangeParams>;

export const SYNC_PHASES = ['syncing', 'done', 'failed', 'cancelled'] as const;
/**
 * Params of `clusterDebugger/syncProgress`: a cluster's full sync, from its first report to its end
 * (`done`, `failed`, or `cancelled` by a disconnect). Reports while `syncing` are throttled.
 */
export const SyncProgressParams = SyncProgress.extend({
  cluster: z.string(),
  phase: z.enum(SYNC_PHASES),
  /** Why it failed, in words. */
  message: z.string().optional(),
});
export type SyncProgressParams = z.infer<typeof SyncProgressParams>;

export const DocumentParams = z.object({ uri: z.string() });
export const DocumentResult = z.object({ text: z.string() });
export const SnapshotParams = z.object({ cluster: z.string() });
export const SnapshotResult = z.object({ text: z.string() });
/**
 * Params of `clusterDebugger/saveSnapshot`: the server writes the cluster's snapshot to `path`
 * (absolute, on the server's file system) itself, streamed, instead of returning the text.
 * With `workDoneToken`, it reports its progress there; cancelling the request stops the write.
 */
export const SaveSnapshotParams = z.object({
  cluster: z.string(),
  path: z.string().min(1).max(4096),
  workDoneToken: z.union([z.string(), z.number().int()]).optional(),
});
export type SaveSnapshotParams = z.infer<typeof SaveSnapshotParams>;
export const SaveSnapshotResult = z.object({
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  entities: z.number().int().nonnegative(),
});
export type SaveSnapshotResult = z.infer<typeof SaveSnapshotResult>;
export const ConnectResult = ClusterInfo;
export const DisconnectResult = z.object({});
export const ClustersParams = z.object({});

/** One side of `clusterDebugger/compare`: a snapshot's text (a file's, or a live cluster's rendered snapshot) and what it is. */
export const CompareSide = z.object({ label: z.string(), text: z.string() });
/** Params of `clusterDebugger/compare`: A (before) and B (after); `limit`: entities shown per kind and collection in `report`. */
export const CompareParams = z.object({ a: CompareSide, b: CompareSide, limit: z.number().int().positive().max(10_000).default(20) });
export type CompareParams = z.input<typeof CompareParams>;
/** What changed from A to B (src/analysis/diff.ts states the semantics). */
export const CompareResult = z.object({
  /** No entity added, removed or changed, no cluster setting changed, no findings change. */
  identical: z.boolean(),
  /** One line: counts of entities and findings. */
  summary: z.string(),
  /** The whole comparison as text (what `cluster-check diff` prints). */
  report: z.string(),
  totals: z.object({ added: z.number().int(), removed: z.number().int(), changed: z.number().int(), versionOnly: z.number().int() }),
  findings: z.object({
    appeared: z.array(z.string()),
    resolved: z.array(z.string()),
    changed: z.array(z.object({ id: z.string(), from: z.number().int(), to: z.number().int() })),
  }),
});
export type CompareResult = z.infer<typeof CompareResult>;

/** Params of `clusterDebugger/plan`: the plan a repair of this finding will send. */
export const PlanParams = z.object({ cluster: z.string(), findingId: z.string() });
export type PlanParams = z.infer<typeof PlanParams>;
/** `finding` is null when the finding is gone (repaired meanwhile) or the cluster is not connected. */
export const PlanResult = z.object({ finding: FindingSummary.nullable() });

/**
 * Params of `clusterDebugger/planAllSafe`: what `clusterDebugger.applyAllSafe` would apply first on
 * this cluster, counted, so that the editor can ask once before it runs ("Apply 17 safe repairs on
 * sim (14 cannot be undone)?"). Nothing is pinned or sent.
 */
export const PlanAllSafeParams = z.object({ cluster: z.string() });
export const PlanAllSafeResult = z.object({
  cluster: z.string(),
  /** Why nothing would be sent (not live, read-only, no incarnation), or null. */
  refusal: z.string().nullable(),
  /** The first round's repairs (one per finding), the entities they act on, and how many cannot be undone. */
  repairs: z.number().int().nonnegative(),
  targets: z.number().int().nonnegative(),
  notUndoable: z.number().int().nonnegative(),
  /** Why those cannot be undone, each reason once (RepairOption.undoNote), at most 5. */
  undoNotes: z.array(z.string()),
  /** Findings left out because the cluster refuses their safe repair now (`ClusterStatus` refusals). */
  refusedByCluster: z.number().int().nonnegative(),
});
export type PlanAllSafeResult = z.infer<typeof PlanAllSafeResult>;

/** Params of `clusterDebugger/setJournal`: where the server journals every repair (absolute; null: nowhere, and no undo). */
export const SetJournalParams = z.object({ path: z.string().min(1).max(4096).nullable() });
export const SetJournalResult = z.object({});
export const RepairHistoryParams = z.object({});
/** The journal's repairs, newest first, and the lines that could not be read (a torn last line). */
export const RepairHistoryResult = z.object({
  path: z.string().nullable(),
  entries: z.array(RepairHistoryEntry),
  problems: z.array(z.string()),
});
export type RepairHistoryResult = z.infer<typeof RepairHistoryResult>;
/** `clusterDebugger.applyUndo` (the server's command; the extension's is `clusterDebugger.undoRepair`): a journalled repair's id (a prefix is enough); absent: the newest one that can be undone. */
export const UndoRepairArgs = z.object({ id: z.string().min(1).max(128).optional(), cluster: z.string().optional() });
export type UndoRepairArgs = z.infer<typeof UndoRepairArgs>;
/** Params of `clusterDebugger/stuckWork`: one cluster, or every connected one when omitted. */
export const StuckWorkParams = z.object({ cluster: z.string().optional() });
/** One cluster's Stuck Work: `work` is null until its first sync is done. */
export const ClusterStuckWork = z.object({ cluster: z.string(), state: ConnectionState, work: StuckWork.nullable() });
export type ClusterStuckWork = z.infer<typeof ClusterStuckWork>;
export const StuckWorkResult = z.object({ clusters: z.array(ClusterStuckWork) });
export type StuckWorkResult = z.infer<typeof StuckWorkResult>;

/**
 * Params of `clusterDebugger/timeline`: a cluster's recorded transitions, of one entity (`collection`
 * and `key`) or all, of any of `subsystems` and from or to any of `states` (parts of a state label,
 * e.g. `Online`, `prepared`); absent or empty: no filter. At most `limit`, the most recent.
 */
export const TimelineParams = z.object({
  cluster: z.string(),
  collection: CollectionName.optional(),
  key: z.string().optional(),
  subsystems: z.array(Subsystem).optional(),
  states: z.array(z.string().max(200)).max(200).optional(),
  limit: z.number().int().nonnegative().max(MAX_TIMELINE_TRANSITIONS).default(1000),
});
export type TimelineParams = z.input<typeof TimelineParams>;
/** A recorded transition, with why the model forbids it if it does. */
export const TimelineEntry = Transition.extend({ forbidden: z.string().optional() });
export type TimelineEntry = z.infer<typeof TimelineEntry>;
export const TimelineResult = z.object({
  /** The matching transitions, newest first, at most `limit`. */
  transitions: z.array(TimelineEntry),
  /** How many recorded transitions match the filter (`transitions` holds the newest of them). */
  matched: z.number().int().nonnegative(),
  /** How many transitions of the entity (or the cluster) are recorded, before the subsystem and state filter. */
  recorded: z.number().int().nonnegative(),
  /** The timeline's bound, and how many older transitions it dropped to keep it. */
  capacity: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
  /** The filter's choices over the recorded transitions of the entity (or the cluster): counts per subsystem and per state part. */
  facets: z.object({
    subsystems: z.partialRecord(Subsystem, z.number().int().nonnegative()),
    states: z.record(z.string(), z.number().int().nonnegative()),
  }),
  /** The same as text, for a read-only document. */
  text: z.string(),
});
export type TimelineResult = z.infer<typeof TimelineResult>;

/** Params of `clusterDebugger/findEntity`: entities whose key holds `query`, of one cluster or every connected one; `cursor`: the previous page's. */
export const FindEntityParams = z.object({
  query: z.string().min(1).max(500),
  cluster: z.string().optional(),
  cursor: z.string().max(1000).nullish(),
  limit: z.number().int().positive().max(1000).default(200),
});
export type FindEntityParams = z.input<typeof FindEntityParams>;
export const FoundEntity = z.object({
  cluster: z.string(),
  collection: CollectionName,
  key: z.string(),
  subsystem: Subsystem,
  /** Its node in the subsystem's view (`TreeNode.id`); absent: the view does not show this collection. */
  treeId: z.string().optional(),
  /** Its line in the cluster's document of the subsystem. */
  location: z.object({ uri: z.string(), line: z.number().int().nonnegative() }).optional(),
  /** Its state (`STATE_FIELD`), for collections that have one. */
  state: z.string().optional(),
  /** The findings on it now (as its tree node marks it), and the worst one's severity. */
  problems: z.number().int().nonnegative().default(0),
  severity: Severity.optional(),
});
export type FoundEntity = z.infer<typeof FoundEntity>;
export const FindEntityResult = z.object({
  entities: z.array(FoundEntity),
  /** Where the next page starts (pass it back as `cursor`); null: nothing more matches. */
  cursor: z.string().nullable(),
});
export type FindEntityResult = z.infer<typeof FindEntityResult>;

/**
 * The language server's own requests: method → params schema → result
 * schema, like `METHODS` for the cluster protocol. The server registers its
 * handlers from this table and validates params; the extension calls through
 * it and validates results.
 */
export const LSP_REQUESTS = {
  connect: { method: 'clusterDebugger/connect', params: ConnectParams, result: ConnectResult },
  disconnect: { method: 'clusterDebugger/disconnect', params: DisconnectParams, result: DisconnectResult },
  refresh: { method: 'clusterDebugger/refresh', params: RefreshParams, result: ClustersResult },
  clusters: { method: 'clusterDebugger/clusters', params: ClustersParams, result: ClustersResult },
  treeChildren: { method: 'clusterDebugger/treeChildren', params: TreeChildrenParams, result: TreeChildrenResult },
  findings: { method: 'clusterDebugger/findings', params: FindingsParams, result: FindingsResult },
  plan: { method: 'clusterDebugger/plan', params: PlanParams, result: PlanResult },
  planAllSafe: { method: 'clusterDebugger/planAllSafe', params: PlanAllSafeParams, result: PlanAllSafeResult },
  /** What the plan a repair would send does, applied to a copy of the model: nothing is sent. */
  preview: { method: 'clusterDebugger/preview', params: PreviewParams, result: PreviewResult },
  setProtection: { method: 'clusterDebugger/setProtection', params: SetProtectionParams, result: ConnectResult },
  document: { method: 'clusterDebugger/document', params: DocumentParams, result: DocumentResult },
  /** The whole snapshot text, for small uses; `saveSnapshot` for files. */
  snapshot: { method: 'clusterDebugger/snapshot', params: SnapshotParams, result: SnapshotResult },
  compare: { method: 'clusterDebugger/compare', params: CompareParams, result: CompareResult },
  saveSnapshot: { method: 'clusterDebugger/saveSnapshot', params: SaveSnapshotParams, result: SaveSnapshotResult },
  setJournal: { method: 'clusterDebugger/setJournal', params: SetJournalParams, result: SetJournalResult },
  repairHistory: { method: 'clusterDebugger/repairHistory', params: RepairHistoryParams, result: RepairHistoryResult },
  /** What waits on what, since when, oldest first (src/analysis/stuck.ts). */
  stuckWork: { method: 'clusterDebugger/stuckWork', params: StuckWorkParams, result: StuckWorkResult },
  /** The cluster's nodes per system, what each holds and the problems on each (`Cluster: Show Topology`). */
  topology: { method: 'clusterDebugger/topology', params: TopologyParams, result: TopologyResult },
  /** The recent state transitions of a cluster or one entity, filtered by subsystem and state. */
  timeline: { method: 'clusterDebugger/timeline', params: TimelineParams, result: TimelineResult },
  /** `Cluster: Find Entity…`: a page of the entities whose key holds a query, each with its tree node and document line. */
  findEntity: { method: 'clusterDebugger/findEntity', params: FindEntityParams, result: FindEntityResult },
} as const satisfies Record<string, { method: string; params: z.ZodType; result: z.ZodType }>;
export type LspRequestName = keyof typeof LSP_REQUESTS;
export type LspParams<K extends LspRequestName> = z.input<(typeof LSP_REQUESTS)[K]['params']>;
export type LspResult<K extends LspRequestName> = z.output<(typeof LSP_REQUESTS)[K]['result']>;

/** Server → client notifications. */
export const LSP_NOTIFICATIONS = {
  /** Something changed; refresh trees, documents, labels. */
  didChange: { method: 'clusterDebugger/didChange', params: DidChangeParams },
  /** A full sync's progress: the extension shows it with a Cancel that disconnects (`clusterDebugger/disconnect`). */
  syncProgress: { method: 'clusterDebugger/syncProgress', params: SyncProgressParams },
} as const satisfies Record<string, { method: string; params: z.ZodType }>;

/** The server's `workspace/executeCommand` commands: command → argument schema → result schema. */
export const LSP_COMMANDS = {
  /** Plan-checked, conditional repair of one finding, with work-done progress. */
  applyRepair: { command: 'clusterDebugger.applyRepair', args: ApplyRepairArgs, result: ApplyRepairResult },
  /** Every `safe` repair of every current finding of a cluster. */
  applyAllSafe: { command: 'clusterDebugger.applyAllSafe', args: ApplyAllSafeArgs, result: ApplyRepairResult },
  /** Undo of a journalled repair, from its before-images; conditional like any repair. */
  undoRepair: { command: 'clusterDebugger.applyUndo', args: UndoRepairArgs, result: ApplyRepairResult },
} as const satisfies Record<string, { command: string; args: z.ZodType; result: z.ZodType }>;
export type LspCommandName = keyof typeof LSP_COMMANDS;

/** Method names, from the tables above. */
export const LspMethods = {
  ...(Object.fromEntries(Object.entries(LSP_REQUESTS).map(([k, v]) => [k, v.method])) as {
    [K in LspRequestName]: (typeof LSP_REQUESTS)[K]['method'];
  }),
  didChange: LSP_NOTIFICATIONS.didChange.method,
  syncProgress: LSP_NOTIFICATIONS.syncProgress.method,
};
/**
 * The server's command ids. Quick fixes name `applyRepair`, which the server executes itself, so any
 * LSP client can run them; the VS Code extension intercepts it (vscode-languageclient middleware) to
 * confirm a repair that may lose data and show progress first (`src/extension/repair.ts`).
 */
export const LspCommands = Object.fromEntries(Object.entries(LSP_COMMANDS).map(([k, v]) => [k, v.command])) as {
  [K in LspCommandName]: (typeof LSP_COMMANDS)[K]['command'];
};
