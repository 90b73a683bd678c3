/**
 * What each repair command changes, and whether (and how) it can be undone.
 * One table: the checks mark each repair option undoable from it, the
 * engine takes before-images of the collection it names, and undo builds its
 * inverse operations from it.
 */
import type { CollectionName } from './collections';
import type { RepairCommandName } from './repair-command';

export type UndoKind =
  /** The repair deleted its targets: undo re-creates each from its before-image, where the key is still absent. */
  | { kind: 'recreate'; command: 'quickwit.restoreShards' }
  /** The repair changed its targets: undo writes the before-image's fields back, where the entity is still at the version the repair left. */
  | { kind: 'restore'; command: 'fluvio.restoreResolution' }
  /** Cannot be undone, and why (said in the plan before it runs). */
  | { kind: 'none'; reason: string };

export interface RepairCommandInfo {
  /** The collection of the entities it changes or deletes (its targets); null: it acts on no entity. */
  collection: CollectionName | null;
  undo: UndoKind;
}

const FENCED = 'the channels were reassigned at a higher term, which fences the old owner; a term never goes back';

export const REPAIR_COMMANDS: Record<RepairCommandName, RepairCommandInfo> = {
  'quickwit.deleteShards': { collection: 'quickwit.metastore.shards', undo: { kind: 'recreate', command: 'quickwit.restoreShards' } },
  'quickwit.restartControlPlane': { collection: null, undo: { kind: 'none', reason: 'a process restart cannot be taken back' } },
  'quickwit.adviseResetShards': {
    collection: 'quickwit.ingester.shards',
    undo: { kind: 'none', reason: "an ingester's dropped in-memory shards cannot be given back to it" },
  },
  'milvus.cancelAppendsAndClose': {
    collection: 'milvus.nodes',
    undo: { kind: 'none', reason: `the failed appends were answered to their clients, and ${FENCED}` },
  },
  'milvus.forceRemoveNode': { collection: 'milvus.nodes', undo: { kind: 'none', reason: FENCED } },
  'greptime.cancelProcedures': {
    collection: 'greptime.procedures',
    undo: { kind: 'none', reason: 'a procedure that started rolling back cannot be resumed' },
  },
  'greptime.purgeProcedures': {
    collection: 'greptime.procedures',
    undo: {
      kind: 'none',
      reason: "a purged procedure's stored steps are not part of its before-image, so it cannot be written back as it was",
    },
  },
  'greptime.disableAutoCreate': {
    collection: null,
    undo: { kind: 'none', reason: 'the auto-create switch is not an entity of the cluster, so there is no before-image to restore' },
  },
  'tikv.clearPreparedMark': {
    collection: 'tikv.regions',
    undo: { kind: 'none', reason: 'restoring the stale mark would only bring back the panic it causes' },
  },
  'tikv.evictRegion': {
    collection: 'tikv.regions',
    undo: { kind: 'none', reason: 'the in-memory cache is derived from disk; TiKV reloads it on its own' },
  },
  'fluvio.restoreFromSpuReport': { collection: 'fluvio.partitions', undo: { kind: 'restore', command: 'fluvio.restoreResolution' } },
  'quickwit.restoreShards': {
    collection: 'quickwit.metastore.shards',
    undo: { kind: 'none', reason: 'an undo is not itself undone; repair again instead' },
  },
  'fluvio.restoreResolution': {
    collection: 'fluvio.partitions',
    undo: { kind: 'none', reason: 'an undo is not itself undone; repair again instead' },
  },
};

/** Whether a plan of these operations can be undone, and if not, the first reason why. */
export function undoability(
  operations: readonly { command: RepairCommandName }[],
): { undoable: true } | { undoable: false; reason: string } {
  for (const op of operations) {
    const undo = REPAIR_COMMANDS[op.command].undo;
    if (undo.kind === 'none') return { undoable: false, reason: `${op.command}: ${undo.reason}` };
  }
  return { undoable: true };
}
