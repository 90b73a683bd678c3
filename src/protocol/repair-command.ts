/**
 * The repair commands of the cluster protocol (`repair`'s `RepairCommand`), with their targets and
 * preconditions. Apart from methods.ts (which re-exports them) so that the journal's line format
 * (journal.ts) and the findings (findings.ts) can use them while methods.ts uses the journal's
 * schemas (`journal.read`), with no import circle.
 */
import { z } from 'zod';
import { CollectionName } from './collections';
import { MetastoreShard, PartitionResolution } from './entities';

/** Most targets one repair request may carry; bulk repairs are sent in batches. */
export const MAX_REPAIR_TARGETS = 5000;
/** A target and the version the repair was planned from. */
export const Expectation = z.object({ key: z.string(), version: z.number().int().nonnegative() });
export type Expectation = z.infer<typeof Expectation>;
const targets = z.array(Expectation).min(1).max(MAX_REPAIR_TARGETS);

/**
 * A fact of another component's view that a finding rests on, beside its
 * targets' own versions. The cluster checks every one in the same step as
 * the write and refuses the whole operation if one no longer holds: an
 * etcd transaction's compares, a SQL statement's checks in one transaction.
 */
export const Precondition = z.union([
  /** The entity exists at exactly this version. */
  z.strictObject({ collection: CollectionName, key: z.string().max(1024), version: z.number().int().nonnegative() }),
  /** No such entity exists. */
  z.strictObject({ collection: CollectionName, key: z.string().max(1024), absent: z.literal(true) }),
  /** A component's epoch is still this one (it bumps when the component reloads its view). */
  z.strictObject({ epoch: z.literal('quickwit.controlPlane'), value: z.number().int().nonnegative() }),
]);
export type Precondition = z.infer<typeof Precondition>;
/** Per operation: one per target at most, and a few facts shared by the batch. */
export const MAX_PRECONDITIONS = MAX_REPAIR_TARGETS + 64;
const preconditions = z.array(Precondition).max(MAX_PRECONDITIONS).optional();

export const RepairCommand = z.discriminatedUnion('command', [
  /** Metastore `DeleteShards`. Refused per shard if open on an ingester or holding unpublished data. */
  z.object({ command: z.literal('quickwit.deleteShards'), targets, preconditions }),
  /** Restart the control plane: it reloads its model from the metastore. Targets: the control plane's epoch entity. */
  z.object({ command: z.literal('quickwit.restartControlPlane'), expectedEpoch: z.number().int().nonnegative(), preconditions }),
  /** Ingester `advise_reset_shards`: drop shards the metastore does not have. Targets are ingester-shard keys. */
  z.object({ command: z.literal('quickwit.adviseResetShards'), targets, preconditions }),
  /** Fail the blocked in-flight appends (clients retry), finish closing the WAL, stop the node. Target: the node. */
  z.object({ command: z.literal('milvus.cancelAppendsAndClose'), targets, preconditions }),
  /** Remove the node; its channels are reassigned with term + 1, fencing the old owner. Target: the node. */
  z.object({ command: z.literal('milvus.forceRemoveNode'), targets, preconditions }),
  /** Cancel (roll back) unfinished procedures. Never deletes their state. */
  z.object({ command: z.literal('greptime.cancelProcedures'), targets, preconditions }),
  /** Purge finished (Done/Failed) procedures from etcd. Refused for unfinished ones. */
  z.object({ command: z.literal('greptime.purgeProcedures'), targets, preconditions }),
  /** Stop auto-creating this table on write (the cause of the backlog). */
  z.object({ command: z.literal('greptime.disableAutoCreate'), table: z.string(), preconditions }),
  /** Clear a stale `is_written` mark. Target: the cached region. */
  z.object({ command: z.literal('tikv.clearPreparedMark'), targets, preconditions }),
  /** Evict the region from the in-memory cache (it is derived from disk; nothing is lost). */
  z.object({ command: z.literal('tikv.evictRegion'), targets, preconditions }),
  /** Set the SC's resolution back from the leader SPU's report (OutOfStorage). */
  z.object({ command: z.literal('fluvio.restoreFromSpuReport'), targets, preconditions }),
  // Undo (see `REPAIR_COMMANDS`): each re-creates or restores an entity from a repair's before-image,
  // as a compare-and-swap on the store, never over something that moved on since the repair.
  /** Undo of `quickwit.deleteShards`: re-create each metastore shard as it was, only where its key is still absent. */
  z.object({
    command: z.literal('quickwit.restoreShards'),
    targets: z
      .array(z.object({ key: z.string(), absent: z.literal(true), entity: MetastoreShard }))
      .min(1)
      .max(MAX_REPAIR_TARGETS),
    preconditions,
  }),
  /** Undo of `fluvio.restoreFromSpuReport`: set each partition's resolution back, only if it is still at the version the repair left. */
  z.object({
    command: z.literal('fluvio.restoreResolution'),
    targets: z
      .array(Expectation.extend({ resolution: PartitionResolution }))
      .min(1)
      .max(MAX_REPAIR_TARGETS),
    preconditions,
  }),
]);
export type RepairCommand = z.infer<typeof RepairCommand>;
export type RepairCommandName = RepairCommand['command'];
