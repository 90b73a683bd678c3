/**
 * Executes a finding's repair option: its operations, in order, one `repair`
 * request each (the checks already cut them to the protocol's batch limit).
 *
 * Every request carries a fresh `requestId`; the session re-sends it with the
 * same id after a reconnect, so a batch is applied at most once. Each target
 * names the entity version it was planned from, so the cluster refuses what
 * moved on in the meantime. Cancellation is honoured between batches.
 *
 * No `vscode-languageserver` here: the CLI uses this module too.
 */
import { randomUUID } from 'node:crypto';
import type { RepairAudit, RepairCommand, RepairItemResult, RepairOption, RepairResult } from '../protocol';
import { IncarnationChangedError, type ClusterSession } from './session';
import { errorText, formatCount, plural, REPAIR_COMMANDS } from '../protocol';

export interface RepairHooks {
  /** After each batch. */
  progress?(done: number, total: number, message: string): void;
  /** Checked before each batch. */
  cancelled?(): boolean;
  log(message: string): void;
  /** Around each batch (the journal): see `BatchHooks`. */
  batches?: BatchHooks;
  /** The repair as the client journals it, sent with every batch (with its index) for a gateway's own journal. */
  audit?: Omit<RepairAudit, 'batch'>;
}

/**
 * Called around each batch, in order. `before` runs before the batch is sent and may refuse
 * it: a rejection stops the repair there, with nothing more sent (the journal fails closed).
 */
export interface BatchHooks {
  before(batch: number, requestId: string, op: RepairCommand): Promise<void>;
  /** The cluster's answer, or why there is none (`not-sent`: never sent; `unknown`: sent, no answer). */
  after(
    batch: number,
    requestId: string,
    op: RepairCommand,
    result: RepairResult | { outcome: 'not-sent' | 'unknown'; reason: string },
  ): Promise<void>;
}

/** A repair plan and the cluster incarnation its finding was computed on. */
export interface PlannedOption {
  option: RepairOption;
  incarnation: string;
}

export interface RepairOutcome {
  applied: number;
  refused: number;
  unchanged: number;
  batches: number;
  cancelled: boolean;
  /** The cluster restarted (or was reset) since the plan was made: the rest was not sent. */
  incarnationChanged: boolean;
  /** A batch hook refused the next batch (the journal could not be written): why; the rest was not sent. */
  stopped?: string;
  /** The cluster's seq after the last batch: the model has caught up once it applied this event. */
  seq: number;
  /** One line. */
  summary: string;
  /** Per refused item, capped at `MAX_DETAILS`. */
  details: string[];
}

const MAX_DETAILS = 50;

/** How many entities one operation acts on. */
export function operationSize(op: RepairCommand): number {
  return 'targets' in op ? op.targets.length : 1;
}

/** `quickwit.deleteShards ×5,000 (shard-a@2, shard-b@2, …)` — for plans and logs. */
export function describeOperation(op: RepairCommand): string {
  const facts = op.preconditions?.length ? ` if ${plural(op.preconditions.length, 'precondition')} still hold` : '';
  return describeCommand(op) + facts;
}

function describeCommand(op: RepairCommand): string {
  if ('targets' in op) {
    const sample = op.targets
      .slice(0, 3)
      .map((t) => ('version' in t ? `${t.key}@${t.version}` : `${t.key} if absent`))
      .join(', ');
    return `${op.command} ×${formatCount(op.targets.length)} (${sample}${op.targets.length > 3 ? ', …' : ''})`;
  }
  if (op.command === 'quickwit.restartControlPlane') return `${op.command} (expected epoch ${op.expectedEpoch})`;
  return `${op.command} (table ${op.table})`;
}

export async function executeRepair(
  session: ClusterSession,
  findingId: string,
  { option, incarnation }: PlannedOption,
  hooks: RepairHooks,
): Promise<RepairOutcome> {
  const total = option.operations.reduce((n, op) => n + operationSize(op), 0);
  const refusedItems: RepairItemResult[] = [];
  let applied = 0;
  let refused = 0;
  let unchanged = 0;
  let done = 0;
  let batches = 0;
  let cancelled = false;
  let incarnationChanged = false;
  let stopped: string | undefined;
  let seq = session.lastSeq;
  hooks.log(
    `[${session.name}] repair ${findingId} → ${option.id} (${option.safety}): ${plural(option.operations.length, 'batch')}, ${plural(total, 'target')}`,
  );
  for (const op of option.operations) {
    if (hooks.cancelled?.()) {
      cancelled = true;
      break;
    }
    const requestId = randomUUID();
    const batch = batches;
    try {
      await hooks.batches?.before(batch, requestId, op);
    } catch (e) {
      stopped = errorText(e);
      hooks.log(`[${session.name}]   ${requestId} not sent: ${stopped}`);
      break;
    }
    hooks.log(`[${session.name}]   ${requestId} ${describeOperation(op)}`);
    let result: RepairResult;
    try {
      // Only the items not applied come back (refused ones with their reason; an older cluster sends all),
      // unless undo needs the version each change left (a `restore` undo expects it).
      const compact = REPAIR_COMMANDS[op.command].undo.kind !== 'restore';
      result = await session.sendRepair({
        requestId,
        incarnation,
        repair: op,
        ...(compact ? { itemResults: 'exceptions' as const } : {}),
        ...(hooks.audit ? { audit: { ...hooks.audit, batch } } : {}),
      });
    } catch (e) {
      const notSent = e instanceof IncarnationChangedError;
      await hooks.batches
        ?.after(batch, requestId, op, { outcome: notSent ? 'not-sent' : 'unknown', reason: errorText(e) })
        .catch(() => undefined);
      if (!notSent) throw e;
      hooks.log(`[${session.name}]   ${requestId} not sent: ${e.message}`);
      incarnationChanged = true;
      break;
    }
    batches++;
    try {
      await hooks.batches?.after(batch, requestId, op, result);
    } catch (e) {
      // Applied, but not recorded: say so and send nothing more (the journal would not know of it).
      stopped = `batch ${batch + 1} was applied but its result could not be recorded: ${errorText(e)}`;
    }
    applied += result.applied;
    refused += result.refused;
    for (const item of result.items) {
      if (item.status === 'unchanged') unchanged++;
      else if (item.status === 'refused') refusedItems.push(item);
    }
    seq = Math.max(seq, result.seq);
    done += operationSize(op);
    hooks.log(`[${session.name}]   ${requestId} → ${result.summary}`);
    hooks.progress?.(done, total, `${formatCount(done)} of ${formatCount(total)}: ${result.summary}`);
    if (stopped) break;
  }
  const outcome: RepairOutcome = {
    applied,
    refused,
    unchanged,
    batches,
    cancelled,
    incarnationChanged,
    ...(stopped ? { stopped } : {}),
    seq,
    summary:
      summarise(option, applied, refused, unchanged, cancelled, refusedItems, incarnationChanged) +
      (stopped ? `; stopped, nothing more sent: ${stopped}` : ''),
    details: refusedItems.slice(0, MAX_DETAILS).map((i) => `refused ${i.key}: ${i.message}`),
  };
  hooks.log(`[${session.name}] repair ${findingId} → ${option.id}: ${outcome.summary}`);
  return outcome;
}

function summarise(
  option: RepairOption,
  applied: number,
  refused: number,
  unchanged: number,
  cancelled: boolean,
  refusedItems: RepairItemResult[],
  incarnationChanged: boolean,
): string {
  const parts = [`${option.title}: applied ${formatCount(applied)}`];
  if (unchanged) parts.push(`already done ${formatCount(unchanged)}`);
  if (refused) {
    const first = refusedItems[0];
    parts.push(`refused ${formatCount(refused)}${first ? `: ${first.key} ${first.message}` : ''}`);
  }
  if (cancelled) parts.push('cancelled before the remaining batches');
  if (incarnationChanged) parts.push('stopped: the cluster restarted since this plan was made, so nothing more was sent to it');
  return parts.join('; ');
}
