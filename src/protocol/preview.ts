/**
 * What a repair would do before it does it (`previewRepair` in
 * `src/analysis/preview.ts`), and how much a cluster is protected from
 * repairs: the one definition the engine, the CLI, the language server and
 * the extension share.
 */
import { z } from 'zod';
import { CollectionName, type CollectionName as Collection } from './collections';
import { RepairSafety, RuleId, Severity } from './findings';
import type { Caller } from './methods';

// ------------------------------------------------------------- protection --

/**
 * How much a cluster is protected from repairs, set per cluster in `clusterDebugger.clusters`:
 * - `none`: repairs run as they are confirmed (a `may-lose-data` one still asks first);
 * - `confirm`: a repair that may lose data runs only once the cluster's name is typed;
 * - `read-only`: the language server sends no repair to the cluster, whatever asks for it.
 */
export const PROTECTION_LEVELS = ['none', 'confirm', 'read-only'] as const;
export const ProtectionLevel = z.enum(PROTECTION_LEVELS);
export type ProtectionLevel = z.infer<typeof ProtectionLevel>;

/** The bundled simulator is a sandbox; every other cluster asks for its name before a repair that may lose data. */
export function defaultProtection(bundled: boolean): ProtectionLevel {
  return bundled ? 'none' : 'confirm';
}

/** What the protection of a cluster depends on: its setting, its status, and who the connection is. */
export interface ProtectionInfo {
  protection?: ProtectionLevel;
  status?: { readOnly?: boolean } | null;
  /** On a gateway with per-user tokens: a viewer's repairs are all refused there. */
  caller?: Caller;
}

/**
 * The level in force: a cluster that itself refuses every repair (a gateway without `"repairs": true`,
 * `ClusterStatus.readOnly`), or every repair of this connection's user (a viewer), is read-only
 * whatever the setting says.
 */
export function effectiveProtection(info: ProtectionInfo): ProtectionLevel {
  return info.status?.readOnly === true || info.caller?.role === 'viewer' ? 'read-only' : (info.protection ?? 'none');
}

/** Why a viewer's repair is refused: the gateway's words, item by item, and the editor's before it sends. */
export function viewerReason(user: string): string {
  return `user ${user} is a viewer: repairs need the operator role`;
}

/**
 * Why no repair of this cluster may be sent, or undefined: the cluster refuses every repair itself (and
 * what changes that), the user's role on the gateway is viewer, or its protection level is `read-only`. The one wording the server's refusals,
 * the quick fixes' disabled reason and the editor's pickers and toasts share.
 */
export function readOnlyReason(info: ProtectionInfo & { name: string }): string | undefined {
  if (info.status?.readOnly === true)
    return `${info.name} is read-only: it refuses every repair (a gateway repairs only with "repairs": true in its own config)`;
  // In parentheses, the gateway's own words for the refusal.
  if (info.caller?.role === 'viewer') return `your role on this gateway is viewer (${viewerReason(info.caller.user)})`;
  if (info.protection === 'read-only') return `${info.name} is protected read-only (its protection level in clusterDebugger.clusters)`;
  return undefined;
}

// ---------------------------------------------------------------- preview --

/** Refusals kept per command in a preview. */
export const PREVIEW_SAMPLES = 10;

/** A finding as a preview lists it: before and after the repair (0 when absent on that side). */
export const PreviewFinding = z.object({
  id: z.string(),
  rule: RuleId,
  severity: Severity,
  /** The message after the repair, or before it for a resolved finding. */
  message: z.string(),
  countBefore: z.number().int().nonnegative(),
  countAfter: z.number().int().nonnegative(),
});
export type PreviewFinding = z.infer<typeof PreviewFinding>;

/** The plan's operations of one command, grouped and counted, with what the cluster would answer per item. */
export const PreviewOperations = z.object({
  command: z.string(),
  /** Requests (batches) of this command in the plan. */
  operations: z.number().int().nonnegative(),
  /** Items: targets, or one for a command without targets. */
  items: z.number().int().nonnegative(),
  applied: z.number().int().nonnegative(),
  refused: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  /** The first refusals, in the cluster's words. */
  refusals: z.array(z.object({ key: z.string(), message: z.string() })).max(PREVIEW_SAMPLES),
});
export type PreviewOperations = z.infer<typeof PreviewOperations>;

/** One collection the plan touches: its size before and after, and its entities created, changed, deleted. */
export const PreviewCollection = z.object({
  collection: CollectionName,
  before: z.number().int().nonnegative(),
  after: z.number().int().nonnegative(),
  created: z.number().int().nonnegative(),
  changed: z.number().int().nonnegative(),
  deleted: z.number().int().nonnegative(),
});
export type PreviewCollection = z.infer<typeof PreviewCollection>;

export const RepairPreview = z.object({
  /** What was previewed: a finding's repair, or several (`cluster-check --repair all`). */
  title: z.string(),
  safety: RepairSafety,
  /** One line: "resolves 1 finding, creates none; deletes 760,471 metastore shards". */
  summary: z.string(),
  resolves: z.array(PreviewFinding),
  remains: z.array(PreviewFinding),
  creates: z.array(PreviewFinding),
  operations: z.array(PreviewOperations),
  collections: z.array(PreviewCollection),
  /** What the model cannot tell, and how the preview estimated it. */
  notes: z.array(z.string()),
});
export type RepairPreview = z.infer<typeof RepairPreview>;

/** Params of `clusterDebugger/preview`: the pinned plan of this finding's repair, applied to a copy of the model. */
export const PreviewParams = z.object({ cluster: z.string(), findingId: z.string(), repairId: z.string() });
export type PreviewParams = z.infer<typeof PreviewParams>;
/** `preview` is null when the finding is gone or the cluster is not synced; `text` is the preview as a document. */
export const PreviewResult = z.object({ preview: RepairPreview.nullable(), text: z.string() });
export type PreviewResult = z.infer<typeof PreviewResult>;

/** What one entity of a collection is called in a preview's summary ("deletes 760,471 metastore shards"). */
export const ENTITY_NOUNS: Record<Collection, string> = {
  'quickwit.metastore.shards': 'metastore shard',
  'quickwit.controlPlane.shards': 'control-plane shard',
  'quickwit.ingester.shards': 'ingester shard',
  'quickwit.ingesters': 'ingester',
  'milvus.nodes': 'streaming node',
  'milvus.wals': 'WAL',
  'milvus.appends': 'in-flight append',
  'milvus.channelMetas': 'channel assignment',
  'greptime.procedures': 'procedure',
  'greptime.etcd': 'etcd prefix',
  'tikv.regions': 'cached region',
  'tikv.writeBatches': 'write batch',
  'fluvio.partitions': 'partition',
  'fluvio.spuReports': 'SPU report',
  'fluvio.spus': 'SPU',
};
