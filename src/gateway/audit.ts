/**
 * The gateway's own audit journal (config `journal`): every repair request it is sent, undos
 * included (they are repair requests too), every preview a client reports (`audit.preview`),
 * whoever sent it and whatever the answer, in the repair journal's line format
 * (src/protocol/journal.ts), written by the shared writer (src/cluster/journal-file.ts: one write
 * and an fsync per line). It serves the file back over the protocol (`journal.read`), so every
 * engineer's editor lists the team's repairs and can undo another's (src/engine/shared-journal.ts).
 *
 * A request that carries the client's repair (`RepairParams.audit`) is journalled as that repair:
 * one `repair` line per client repair id (on the first batch this process sees of it) with the
 * client's finding, rule, title, safety and plan, then per batch its `intent` (the before-images of
 * its targets as the gateway's mirror held them), on disk before the store is written, its `result`,
 * and an `end` with the totals so far (readers keep the last). A repair id is its first sender's: a
 * batch from another user under it is refused, so no one can write into another's record.
 *
 * A request without it (an older client) is one journalled repair of one batch, its id the
 * request's id: the gateway does not know the finding or the plan, so `findingId` is empty, the
 * option is named after the command, and the safety is the worst.
 */
import { open } from 'node:fs/promises';
import {
  errorText,
  REPAIR_COMMANDS,
  JOURNAL_VERSION,
  MAX_REPAIR_TARGETS,
  parseJournal,
  RepairSafety,
  RuleId,
  type AuditPreviewParams,
  type BeforeImage,
  type Caller,
  type JournalReadResult,
  type RepairItemResult,
  type RepairParams,
} from '../protocol';
import { JournalFile } from '../cluster/journal-file';
import type { ClusterJournal } from '../cluster/backend';

/** Client repairs remembered (who sent each, its totals so far); the oldest are forgotten past this. */
const MAX_REPAIRS_REMEMBERED = 10_000;
/** Previews one user may have journalled a minute (`audit.preview`): a client cannot fill the gateway's disk with them. */
export const PREVIEWS_PER_MINUTE = 120;
/** A `journal.read` page stops once its lines reach this many characters (it always has one line at least). */
const MAX_PAGE_CHARS = 16 * 1024 * 1024;
/** Where pages ended (line number → byte offset), so that paging does not read the file from its start each time. */
const MAX_OFFSETS = 256;
const CHUNK_BYTES = 1024 * 1024;

interface ClientRepair {
  user: string;
  /** Its `repair` line is written. */
  written: boolean;
  applied: number;
  refused: number;
}

export class GatewayAudit implements ClusterJournal {
  private readonly file: JournalFile;
  private readonly repairs = new Map<string, ClientRepair>();
  private offsets = new Map<number, number>([[0, 0]]);

  /** Per user, the start of the current minute of previews and how many were journalled in it. */
  private readonly previews = new Map<string, { since: number; count: number }>();

  constructor(
    path: string,
    private readonly clusterName: string,
    private readonly limits: { previewsPerMinute?: number; now?: () => number } = {},
  ) {
    this.file = new JournalFile(path);
  }

  get path(): string {
    return this.file.path;
  }

  /**
   * Why the request may not write into the client repair it names (another user's), or undefined
   * (then it is that repair's from now on, if it was no one's).
   */
  claim(params: RepairParams, caller: Caller | undefined): string | undefined {
    const audit = params.audit;
    if (!audit) return undefined;
    const user = caller?.user ?? '';
    const known = this.repairs.get(audit.repair);
    if (known)
      return known.user === user ? undefined : `not applied: repair ${audit.repair} is another user's record in this gateway's journal`;
    this.repairs.set(audit.repair, { user, written: false, applied: 0, refused: 0 });
    if (this.repairs.size > MAX_REPAIRS_REMEMBERED) this.repairs.delete(this.repairs.keys().next().value!);
    return undefined;
  }

  /**
   * The journal record a request writes into: its client repair's id and batch (a request without `audit` is
   * a record of its own, batch 0).
   */
  private recordOf(params: RepairParams): { id: string; batch: number } {
    return { id: params.audit?.repair ?? params.requestId, batch: params.audit?.batch ?? 0 };
  }

  /** The request's `repair` (first batch) and `intent` lines, on disk before it is applied (rejects if they cannot be written: then it is not). */
  async before(params: RepairParams, caller: Caller | undefined, before: BeforeImage[]): Promise<void> {
    const op = params.repair;
    const targets = 'targets' in op ? op.targets.length : 1;
    const at = new Date().toISOString();
    const audit = params.audit;
    const { id, batch } = this.recordOf(params);
    const known = audit ? this.repairs.get(id) : undefined;
    if (!known?.written) {
      const undo = REPAIR_COMMANDS[op.command].undo;
      const rule = RuleId.safeParse(audit?.rule);
      const safety = RepairSafety.safeParse(audit?.safety);
      await this.file.append({
        type: 'repair',
        v: JOURNAL_VERSION,
        repair: id,
        at,
        cluster: this.clusterName,
        incarnation: params.incarnation,
        source: 'gateway',
        ...(caller ? { user: caller.user } : {}),
        findingId: audit?.findingId ?? '',
        ...(rule.success ? { rule: rule.data } : {}),
        option: audit
          ? {
              id: audit.option ?? op.command,
              title: audit.title,
              // A client's safety this gateway does not know is taken as the worst.
              safety: safety.success ? safety.data : 'may-lose-data',
              undoable: audit.undoable,
              ...(audit.undoNote !== undefined ? { undoNote: audit.undoNote } : {}),
            }
          : {
              id: op.command,
              title: `${op.command} (${targets} ${targets === 1 ? 'target' : 'targets'})`,
              // The client's plan said how safe it was; the gateway sees only the command, so it says the worst.
              safety: 'may-lose-data',
              undoable: undo.kind !== 'none',
              ...(undo.kind === 'none' ? { undoNote: undo.reason } : {}),
            },
        plan: audit?.plan ?? [{ command: op.command, targets }],
        ...(audit?.undoOf !== undefined ? { undoOf: audit.undoOf } : {}),
        ...(audit?.run !== undefined ? { run: audit.run } : {}),
      });
      if (known) known.written = true;
    }
    await this.file.append({
      type: 'intent',
      repair: id,
      at,
      batch,
      requestId: params.requestId,
      operation: op,
      before,
    });
  }

  /** The request's `result` line, and its repair's `end` with the totals so far, from every item's result (before a compact answer leaves the applied ones out). */
  async after(params: RepairParams, items: readonly RepairItemResult[], summary: string): Promise<void> {
    const at = new Date().toISOString();
    const applied = items.filter((i) => i.status === 'applied');
    const refused = items.filter((i) => i.status === 'refused');
    const audit = params.audit;
    const { id, batch } = this.recordOf(params);
    await this.file.append({
      type: 'result',
      repair: id,
      at,
      batch,
      requestId: params.requestId,
      outcome: 'answered',
      applied: applied.map((i) => (i.version === undefined ? { key: i.key } : { key: i.key, version: i.version })),
      refused: refused.slice(0, MAX_REPAIR_TARGETS).map((i) => ({ key: i.key, message: i.message })),
      unchanged: items.length - applied.length - refused.length,
      summary,
    });
    const totals = audit ? this.repairs.get(id) : undefined;
    if (totals) {
      totals.applied += applied.length;
      totals.refused += refused.length;
    }
    const plan = audit?.plan?.length;
    await this.file.append({
      type: 'end',
      repair: id,
      at,
      applied: totals?.applied ?? applied.length,
      refused: totals?.refused ?? refused.length,
      cancelled: false,
      summary:
        audit && totals
          ? `${audit.title}: applied ${totals.applied}, refused ${totals.refused}${plan && plan > 1 ? ` (${audit.batch + 1} of ${plan} batches)` : ''}`
          : summary,
    });
  }

  /** `audit.preview`: a `preview` line with who previewed what. */
  async preview(params: AuditPreviewParams, caller?: Caller): Promise<void> {
    const now = (this.limits.now ?? Date.now)();
    const max = this.limits.previewsPerMinute ?? PREVIEWS_PER_MINUTE;
    const who = caller?.user ?? '';
    let window = this.previews.get(who);
    if (!window || now - window.since >= 60_000) this.previews.set(who, (window = { since: now, count: 0 }));
    if (window.count >= max) {
      throw new Error(
        `too many previews reported${caller ? ` by ${caller.user}` : ''} (at most ${max} a minute); this one was not journalled`,
      );
    }
    window.count++;
    const rule = RuleId.safeParse(params.rule);
    await this.file.append({
      type: 'preview',
      at: new Date().toISOString(),
      ...(caller ? { user: caller.user } : {}),
      cluster: this.clusterName,
      findingId: params.findingId,
      ...(rule.success ? { rule: rule.data } : {}),
      title: params.title,
      targets: params.targets,
    });
  }

  /**
   * `journal.read`: the lines after line `after`, validated as the engine's reader validates them
   * (a line that is not valid is reported in `problems`, never served). An unterminated last line
   * (being written, or torn) is not read yet. A missing file is an empty journal.
   */
  async read(after: number, limit: number): Promise<JournalReadResult> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], next: after, end: true, problems: [] };
      throw new Error(`cannot read the gateway's journal: ${errorText(e)}`, { cause: e });
    }
    try {
      // From where an earlier page ended, the nearest one before `after`.
      // (Unless the file is shorter than that now: an operator truncated or replaced it.)
      if (Math.max(...this.offsets.values()) > (await fh.stat()).size) this.offsets = new Map([[0, 0]]);
      let line = 0;
      for (const n of this.offsets.keys()) if (n <= after && n > line) line = n;
      let pos = this.offsets.get(line)!;
      const texts: string[] = [];
      let chars = 0;
      let carry: Buffer[] = [];
      let carryBytes = 0;
      let end = false;
      const buf = Buffer.alloc(CHUNK_BYTES);
      reading: for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, pos + carryBytes);
        if (bytesRead === 0) {
          end = true;
          break;
        }
        let start = 0;
        for (;;) {
          const nl = buf.indexOf(0x0a, start);
          if (nl < 0 || nl >= bytesRead) {
            carry.push(Buffer.from(buf.subarray(start, bytesRead)));
            carryBytes += bytesRead - start;
            break;
          }
          const bytes = carry.length ? Buffer.concat([...carry, buf.subarray(start, nl)]) : buf.subarray(start, nl);
          pos += carryBytes + (nl - start) + 1;
          carry = [];
          carryBytes = 0;
          start = nl + 1;
          if (++line <= after) continue;
          const text = bytes.toString('utf8');
          texts.push(text);
          chars += text.length;
          if (texts.length >= limit || chars >= MAX_PAGE_CHARS) break reading;
        }
      }
      if (!end) end = pos >= (await fh.stat()).size;
      this.offsets.set(line, pos);
      if (this.offsets.size > MAX_OFFSETS) this.offsets.delete([...this.offsets.keys()].find((k) => k !== 0)!);
      const read = texts.length ? parseJournal(`${texts.join('\n')}\n`, after + 1) : { lines: [], problems: [] };
      return { lines: read.lines, next: Math.max(line, after), end, problems: read.problems };
    } finally {
      await fh.close();
    }
  }
}
