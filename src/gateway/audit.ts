/**
 * The gateway's own audit journal (config `journal`): every repair request it is sent, undos
 * included (they are repair requests too), whoever sent it and whatever the answer, in the repair
 * journal's line format (src/protocol/journal.ts), written by the shared writer
 * (src/cluster/journal-file.ts: one write and an fsync per line).
 *
 * One request is one journalled repair of one batch, its id the request's id: `repair` (who, when,
 * the command), `intent` (the before-images of its targets as the gateway's mirror held them),
 * both on disk before the store is written; then `result` and `end`. The gateway does not know
 * the finding or the plan a client made (previews never reach it), so `findingId` is empty and
 * the option is named after the command; `repairHistory` and `buildUndo` read the file as they
 * read an editor's.
 */
import {
  REPAIR_COMMANDS,
  JOURNAL_VERSION,
  MAX_REPAIR_TARGETS,
  type BeforeImage,
  type Caller,
  type RepairItemResult,
  type RepairParams,
} from '../protocol';
import { JournalFile } from '../cluster/journal-file';

export class GatewayAudit {
  private readonly file: JournalFile;

  constructor(
    path: string,
    private readonly clusterName: string,
  ) {
    this.file = new JournalFile(path);
  }

  get path(): string {
    return this.file.path;
  }

  /** The request's `repair` and `intent` lines, on disk before it is applied (rejects if they cannot be written: then it is not). */
  async before(params: RepairParams, caller: Caller | undefined, before: BeforeImage[]): Promise<void> {
    const op = params.repair;
    const undo = REPAIR_COMMANDS[op.command].undo;
    const targets = 'targets' in op ? op.targets.length : 1;
    const at = new Date().toISOString();
    await this.file.append({
      type: 'repair',
      v: JOURNAL_VERSION,
      repair: params.requestId,
      at,
      cluster: this.clusterName,
      incarnation: params.incarnation,
      source: 'gateway',
      ...(caller ? { user: caller.user } : {}),
      findingId: '',
      option: {
        id: op.command,
        title: `${op.command} (${targets} ${targets === 1 ? 'target' : 'targets'})`,
        // The client's plan said how safe it was; the gateway sees only the command, so it says the worst.
        safety: 'may-lose-data',
        undoable: undo.kind !== 'none',
        ...(undo.kind === 'none' ? { undoNote: undo.reason } : {}),
      },
      plan: [{ command: op.command, targets }],
    });
    await this.file.append({ type: 'intent', repair: params.requestId, at, batch: 0, requestId: params.requestId, operation: op, before });
  }

  /** The request's `result` and `end` lines, from every item's result (before a compact answer leaves the applied ones out). */
  async after(params: RepairParams, items: readonly RepairItemResult[], summary: string): Promise<void> {
    const at = new Date().toISOString();
    const applied = items.filter((i) => i.status === 'applied');
    const refused = items.filter((i) => i.status === 'refused');
    await this.file.append({
      type: 'result',
      repair: params.requestId,
      at,
      batch: 0,
      requestId: params.requestId,
      outcome: 'answered',
      applied: applied.map((i) => (i.version === undefined ? { key: i.key } : { key: i.key, version: i.version })),
      refused: refused.slice(0, MAX_REPAIR_TARGETS).map((i) => ({ key: i.key, message: i.message })),
      unchanged: items.length - applied.length - refused.length,
      summary,
    });
    await this.file.append({
      type: 'end',
      repair: params.requestId,
      at,
      applied: applied.length,
      refused: refused.length,
      cancelled: false,
      summary,
    });
  }
}
