/**
 * The repair journal on disk (its line format: `src/protocol/journal.ts`).
 *
 * Append-only: every line is one `write` to a file opened for appending, then
 * fsynced, before the caller goes on (but a batch's answered result, fsynced
 * with the line after it: `appendUnsynced`). A batch's `intent` (with the
 * before-images of the entities it may change or delete) is on disk before
 * the batch is sent; if it cannot be written, the batch is not sent.
 *
 * Reading validates every line; a torn last line (the process died while
 * writing it) is reported, not fatal. Undo is built from what was read.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { JournalFile, JournalWriteError } from '../cluster/journal-file';
import {
  errorText,
  JOURNAL_VERSION,
  JournalLine,
  MAX_REPAIR_TARGETS,
  REPAIR_COMMANDS,
  type BeforeImage,
  type JournalIntentLine,
  type JournalRepairLine,
  type JournalResultLine,
  type RepairCommand,
  type RepairOption,
  type RepairResult,
  type RuleId,
} from '../protocol';
import { EntityTable } from '../analysis/table';
import {
  packedKeys,
  packIntent,
  packIntentOfColumns,
  packResult,
  packResultOfKeys,
  type PackedIntentLine,
  type PackedJournalLine,
} from '../protocol/before-images';
import type { BatchHooks } from './repairs';
import type { ClusterSession } from './session';

/** Refused items recorded per batch result with their message (the rest are counted in the summary). */
const MAX_REFUSALS_PER_LINE = MAX_REPAIR_TARGETS;

export { JournalWriteError } from '../cluster/journal-file';
/** The pure reader lives in the protocol (a gateway validates what it serves with it). */
export { parseJournal, type JournalRead } from '../protocol';
/** Reading: history and undo (journal-history.ts). */
export { buildUndo, bySize, readJournal, repairHistory, RESTARTED_NOTE, UNDO_BATCH_BYTES, type UndoPlan } from './journal-history';

/** The editor's and `cluster-check`'s journal: the shared writer (src/cluster/journal-file.ts), and recorders for repairs. */
export class RepairJournal extends JournalFile {
  /**
   * As the shared writer's (one `write`, then `fsync`, done before it resolves), but on this thread:
   * a batch's result and the next batch's intent are written between the batch's answer and the next
   * request, and an asynchronous write would let the batch's own events (thousands of entities, queued
   * behind the answer) be applied first, on the repair's path instead of beside the next batch. A
   * journal is written by one process, so the writes of two repairs at once never interleave.
   */
  override append(line: JournalLine | PackedJournalLine): Promise<void> {
    return this.write(line, true);
  }

  /**
   * As `append`, written (one `write`) but not fsynced: on disk with the next line that is, which
   * fsyncs the file (#21: a batch's result is written after its answer, and is durable with the next
   * batch's intent, one fsync for both, before that batch is sent; or with the repair's `end` line).
   */
  appendUnsynced(line: JournalLine | PackedJournalLine): Promise<void> {
    return this.write(line, false);
  }

  private write(line: JournalLine | PackedJournalLine, sync: boolean): Promise<void> {
    const bytes = Buffer.from(`${JSON.stringify(line)}\n`);
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const fd = openSync(this.path, 'a');
      try {
        for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
        if (sync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      return Promise.reject(new JournalWriteError(`the repair journal ${this.path} could not be written (${errorText(e)})`));
    }
    return Promise.resolve();
  }

  /**
   * Hooks that journal one repair: its `repair` line before the first batch, each batch's
   * `intent` (with before-images from the session's model) before it is sent, each result after.
   */
  recorder(session: ClusterSession, info: RepairInfo): JournalRecorder {
    return new JournalRecorder(this, session, info);
  }
}

export interface RepairInfo {
  findingId: string;
  rule?: RuleId;
  option: RepairOption;
  incarnation: string;
  source: 'editor' | 'cli';
  undoOf?: string;
  /** The Repair All run it is one of. */
  run?: string;
}

export class JournalRecorder implements BatchHooks {
  readonly id = randomUUID();
  private started = false;
  private applied = 0;
  private refused = 0;

  constructor(
    private readonly journal: RepairJournal,
    private readonly session: ClusterSession,
    private readonly info: RepairInfo,
  ) {}

  async before(batch: number, requestId: string, op: RepairCommand): Promise<void> {
    if (!this.started) {
      const { option } = this.info;
      const line: JournalRepairLine = {
        type: 'repair',
        v: JOURNAL_VERSION,
        repair: this.id,
        at: now(),
        cluster: this.session.name,
        url: this.session.url,
        incarnation: this.info.incarnation,
        source: this.info.source,
        findingId: this.info.findingId,
        ...(this.info.rule ? { rule: this.info.rule } : {}),
        option: {
          id: option.id,
          title: option.title,
          safety: option.safety,
          undoable: option.undoable,
          ...(option.undoNote ? { undoNote: option.undoNote } : {}),
        },
        plan: option.operations.map((o) => ({ command: o.command, targets: 'targets' in o ? o.targets.length : 1 })),
        ...(this.info.undoOf ? { undoOf: this.info.undoOf } : {}),
        ...(this.info.run ? { run: this.info.run } : {}),
      };
      await this.journal.append(line);
      this.started = true;
    }
    // One compact record per batch (before-images.ts); still one append, fsynced, before the batch is sent.
    const prepared = this.next?.op === op ? await this.next.line.catch(() => undefined) : undefined;
    this.next = undefined;
    const line = prepared ?? (await this.packed(op));
    await this.journal.append({ ...line, at: now(), batch, requestId });
    this.prepareNext(batch + 1);
    this.prepareResult(op);
  }

  /**
   * The data of this batch's result if every target is applied (a compact answer with no exception),
   * packed while the batch is out, as the next intent is: its answer then writes it at once.
   */
  private prepareResult(op: RepairCommand): void {
    this.allApplied = undefined;
    if (!('targets' in op) || REPAIR_COMMANDS[op.command].undo.kind === 'restore') return;
    setImmediate(() => {
      const keys = [...new Set((op.targets as ReadonlyArray<{ key: string }>).map((t) => t.key))];
      this.allApplied = { op, count: keys.length, data: packedKeys(keys) };
    });
  }

  private allApplied: { op: RepairCommand; count: number; data: string } | undefined;

  /**
   * The next batch's intent, packed while this one is out (its round trip leaves the thread idle),
   * from the model as it is then: as it will be once this batch is answered, when the two batches
   * share no target (else `before` takes it afresh). Written (with its own time and request id) only
   * when `before` is called for it, so nothing is on disk for a batch that is never sent.
   */
  private prepareNext(batch: number): void {
    const { operations } = this.info.option;
    const op = operations[batch];
    const current = operations[batch - 1];
    if (!op || !current) return;
    const line = new Promise<JournalIntentLine | PackedIntentLine | undefined>((resolve, reject) =>
      // After the current batch's request has left (the caller sends it once `before` resolves).
      setImmediate(() => (shareTargets(current, op) ? resolve(undefined) : this.packed(op).then(resolve, reject))),
    );
    line.catch(() => undefined); // `before` takes it afresh
    this.next = { op, line };
  }

  private next: { op: RepairCommand; line: Promise<JournalIntentLine | PackedIntentLine | undefined> } | undefined;

  /** The intent of a batch of `op`, packed, with its time, batch and request id still to set. */
  private packed(op: RepairCommand): Promise<JournalIntentLine | PackedIntentLine> {
    const line = { type: 'intent', repair: this.id, at: '', batch: 0, requestId: '', operation: op } as const;
    // From the model's table, the before-images as columns: no entity built per target (#21).
    const collection = REPAIR_COMMANDS[op.command].collection;
    const map = collection ? this.session.model?.collections[collection] : undefined;
    if (collection && map instanceof EntityTable && 'targets' in op && op.targets.length)
      return packIntentOfColumns(line, collection, map.rowsAsColumns(op.targets.map((t) => t.key)));
    return packIntent({ ...line, before: this.beforeImages(op) });
  }

  async after(
    batch: number,
    requestId: string,
    op: RepairCommand,
    result: RepairResult | { outcome: 'not-sent' | 'unknown'; reason: string },
  ): Promise<void> {
    // A compact answer's applied targets are keys only: packed from the keys, no object per key (#21).
    const keys = 'outcome' in result ? undefined : appliedKeys(op, result);
    const line: JournalResultLine =
      'outcome' in result
        ? {
            type: 'result',
            repair: this.id,
            at: now(),
            batch,
            requestId,
            outcome: result.outcome,
            applied: [],
            refused: [],
            unchanged: 0,
            summary: result.reason,
          }
        : {
            type: 'result',
            repair: this.id,
            at: now(),
            batch,
            requestId,
            outcome: 'answered',
            applied: keys ? [] : appliedItems(op, result),
            refused: result.items
              .filter((i) => i.status === 'refused')
              .slice(0, MAX_REFUSALS_PER_LINE)
              .map((i) => ({ key: i.key, message: i.message })),
            unchanged: result.items.filter((i) => i.status === 'unchanged').length,
            summary: result.summary,
          };
    if (!('outcome' in result)) {
      this.applied += result.applied;
      this.refused += result.refused;
    }
    const ready = this.allApplied?.op === op && keys?.length === this.allApplied.count ? this.allApplied.data : undefined;
    this.allApplied = undefined;
    const packed = keys?.length ? packResultOfKeys(line, keys, ready) : packResult(line);
    // An answer's result is fsynced with the next line (the next batch's intent, or the end line): one
    // fsync per batch on the repair's path. A batch whose outcome is not known may be the last line.
    await (line.outcome === 'answered' ? this.journal.appendUnsynced(packed) : this.journal.append(packed));
  }

  /** The repair's last line (only if it wrote any: a repair refused before its first batch left none). */
  async end(summary: string, cancelled: boolean): Promise<void> {
    if (!this.started) return;
    await this.journal.append({
      type: 'end',
      repair: this.id,
      at: now(),
      applied: this.applied,
      refused: this.refused,
      cancelled,
      summary,
    });
  }

  private beforeImages(op: RepairCommand): BeforeImage[] {
    const collection = REPAIR_COMMANDS[op.command].collection;
    if (!collection || !('targets' in op)) return [];
    const map = this.session.model?.collections[collection] as Map<string, unknown> | undefined;
    return op.targets.map((t) => ({ collection, key: t.key, entity: (map?.get(t.key) as Record<string, unknown> | undefined) ?? null }));
  }
}

function now(): string {
  return new Date().toISOString();
}

/** Whether two operations name a target in common. */
function shareTargets(a: RepairCommand, b: RepairCommand): boolean {
  if (!('targets' in a) || !('targets' in b)) return false;
  const keys = new Set<string>();
  for (const t of a.targets) keys.add(t.key);
  return b.targets.some((t) => keys.has(t.key));
}

/**
 * The targets a batch applied. A compact answer (`itemResults: 'exceptions'`) lists only the others,
 * so every target it does not list was applied (with no version: only deletions are asked for one).
 */
function appliedItems(op: RepairCommand, result: RepairResult): Array<{ key: string; version?: number }> {
  const keys = appliedKeys(op, result);
  if (keys) return keys.map((key) => ({ key }));
  return result.items
    .filter((i) => i.status === 'applied')
    .map((i) => (i.version === undefined ? { key: i.key } : { key: i.key, version: i.version }));
}

/** A compact answer's applied targets (see `appliedItems`), as keys; undefined for an answer that lists every item. */
function appliedKeys(op: RepairCommand, result: RepairResult): string[] | undefined {
  if (result.itemResults !== 'exceptions') return undefined;
  // Each key once, in the targets' order (one pass: this runs between a batch's answer and the next request).
  const seen = new Set(result.items.map((i) => i.key));
  const applied: string[] = [];
  for (const { key } of 'targets' in op ? (op.targets as ReadonlyArray<{ key: string }>) : []) {
    if (seen.has(key)) continue;
    seen.add(key);
    applied.push(key);
  }
  return applied;
}
