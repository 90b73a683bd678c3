/**
 * The repair flow of the workspace: previews, one repair, undo, and "all safe". Every repair is
 * sent from here (`execute`, journalled), after the one guard (`withRepairGuard`: connected, live,
 * not read-only, checks flushed), with the cluster's checks held until it has caught up
 * (`holdingChecks`). `ClusterWorkspace` owns the clusters and delegates its repair methods here.
 *
 * No `vscode-languageserver` here: the CLI uses this module too.
 */
import { randomUUID } from 'node:crypto';
import {
  formatCount,
  plural,
  errorText,
  repairRefusal,
  type ApplyRepairResult,
  type Finding,
  type PlanAllSafeResult,
  type RepairOption,
  type RepairPreview,
  type RuleId,
} from '../protocol';
import { previewRepair } from '../analysis';
import type { RuleSettings } from './checker';
import { WorkspaceError, readOnlyReason, type ClusterEntry, type WorkspaceCluster } from './cluster';
import { buildUndo, readJournal, type RepairJournal } from './journal';
import { auditPreview, repairAudit, sharedUndoLines } from './shared-journal';
import { executeRepair, type PlannedOption, type RepairOutcome } from './repairs';
import { waitForSync } from './sync-wait';

/** How long to wait for a repair's own events before falling back to a full resync. */
const DEFAULT_CATCH_UP_MS = 10_000;
/**
 * "All safe" applies, per finding, its first safe repair not tried yet; a
 * finding that a round did not clear gets its next safe repair in the next
 * round, up to this many rounds.
 */
export const MAX_SAFE_ROUNDS = 3;

export const OFFLINE_REPAIR_REASON = 'Repairs need a live connection to the cluster';

export interface RepairHooks {
  /** Checked before each batch. */
  cancelled?(): boolean;
  /** Progress in entities, with a line for the user. */
  progress?(done: number, total: number, message: string): void;
  /** The Repair All run this repair is one of (the journal records it, so the history lists the run as one row). */
  run?: string;
}

export interface AllSafeHooks extends RepairHooks {
  /** Only findings of these rules (all rules when omitted). */
  rules?: readonly RuleId[];
  /** After each finding's repair, with its outcome (the CLI prints it). */
  repaired?(finding: Finding, option: RepairOption, outcome: RepairOutcome): void;
}

export interface PlannedRepair {
  finding: Finding;
  option: RepairOption;
}

/** What the runner needs of the workspace that owns the clusters (`ClusterWorkspace` builds it). */
export interface RepairHost {
  readonly log: (message: string) => void;
  /** How long to wait for a repair's own events (`WorkspaceOptions.catchUpMs`). */
  readonly catchUpMs?: number;
  /** Who runs the repairs, as the journal records it (`WorkspaceOptions.journalSource`). */
  readonly journalSource?: 'editor' | 'cli';
  /** Where every repair is journalled now, if anywhere. */
  journal(): RepairJournal | undefined;
  /** The rule settings now (a preview's severities). */
  rules(): RuleSettings;
  /** Every connected cluster (undo looks for a repair in the gateways' own journals). */
  list(): ClusterEntry[];
  /** The connected cluster of that name (names are case-insensitive), or undefined. */
  find(name: string): ClusterEntry | undefined;
  /** The connected cluster of that name, or a `WorkspaceError`. */
  entry(name: string): ClusterEntry;
  /** `ClusterWorkspace.flushChecks`. */
  flushChecks(c: ClusterEntry): Promise<void>;
  /** Checks the cluster again after the usual debounce (its repairs have ended). */
  scheduleCheck(c: ClusterEntry): void;
  /** The finding as pinned for the user, else the current one, pinned now. */
  pin(c: ClusterEntry, findingId: string): Finding | undefined;
}

export class RepairRunner {
  constructor(private readonly host: RepairHost) {}

  // --------------------------------------------------------------- preview --

  /**
   * What the repair of this finding would do, from the plan a repair will send (the pinned one, else
   * the current finding's, pinned now), applied to a copy of the synced model. Nothing is sent, so a
   * read-only cluster previews too. Null when the cluster has not synced or the finding is gone.
   */
  async preview(args: { cluster: string; findingId: string; repairId: string }): Promise<RepairPreview | null> {
    const c = this.host.find(args.cluster);
    if (!c?.session.model) return null;
    await this.host.flushChecks(c);
    const finding = this.host.pin(c, args.findingId);
    const model = c.session.model;
    if (!finding || !model) return null;
    const option = finding.repairs.find((r) => r.id === args.repairId);
    if (!option) throw new WorkspaceError(`finding ${args.findingId} has no repair ${args.repairId}`);
    const preview = previewRepair(model, option, { severities: this.host.rules(), before: c.checker.findings() });
    auditPreview(c, finding, option, this.host.log);
    return preview;
  }

  // --------------------------------------------------------------- repairs --

  /** One repair of one finding, from the plan the user saw; then waits until the model shows its effect. */
  async applyRepair(args: { cluster: string; findingId: string; repairId: string }, hooks: RepairHooks = {}): Promise<ApplyRepairResult> {
    if (!args.cluster) return this.refusal(OFFLINE_REPAIR_REASON);
    return this.withRepairGuard(args.cluster, `Refused: no cluster named ${args.cluster} is connected`, async (c) => {
      const current = c.checker.finding(args.findingId);
      if (!current) return this.refusal(`Refused: finding ${args.findingId} no longer exists (it may have been fixed meanwhile)`);
      const pinned = c.pinned.get(args.findingId) ?? { finding: current, incarnation: c.checker.incarnation };
      const option = pinned.finding.repairs.find((r) => r.id === args.repairId);
      if (!option) return this.refusal(`Refused: finding ${args.findingId} has no repair ${args.repairId}`);
      if (!pinned.incarnation) return this.refusal(noIncarnation(c.name));
      c.pinned.delete(args.findingId);
      const outcome = await this.runRepair(c, pinned.finding, option, pinned.incarnation, hooks);
      return {
        ok: outcome.refused === 0 && !outcome.cancelled && !outcome.incarnationChanged && !outcome.stopped,
        applied: outcome.applied,
        refused: outcome.refused,
        summary: outcome.summary,
        details: outcome.details,
        resolved: !c.checker.finding(args.findingId),
      };
    });
  }

  /**
   * Undoes a journalled repair (`id`, or the newest one that can be undone): its inverse plan, from
   * the before-images, sent like any repair (and journalled), each operation conditional on the entity
   * being as the repair left it (or still absent); what moved on since is refused and listed.
   */
  async undoRepair(args: { id?: string; cluster?: string }, hooks: RepairHooks = {}): Promise<ApplyRepairResult> {
    // A repair in a gateway's own journal (another engineer's, perhaps) is undone from the gateway's lines.
    const journal = this.host.journal();
    const shared = await sharedUndoLines(this.host.list(), args, journal !== undefined, this.host.log);
    if (!shared && !journal) return this.refusal('Refused: there is no repair journal, so there is nothing to undo from');
    const plan = buildUndo(shared ?? (await readJournal(journal!.path)).lines, args.id, args.cluster);
    return this.withRepairGuard(plan.cluster, `Refused: the repair was made on ${plan.cluster}, which is not connected`, async (c) => {
      const incarnation = c.checker.incarnation;
      if (incarnation !== plan.incarnation) {
        return this.refusal(
          `Refused: ${c.name} restarted or was reset since the repair (incarnation ${plan.incarnation}, now ${incarnation ?? 'unknown'}); its versions may repeat, so nothing was sent`,
        );
      }
      if (!plan.option.operations.length) {
        return { ...this.refusal(`Nothing to undo for ${plan.entry.title}`), details: plan.skipped.slice(0, 50) };
      }
      const outcome = await this.holdingChecks(c, async () => {
        const sent = await this.execute(
          c,
          { id: plan.entry.findingId, rule: plan.entry.rule, undoOf: plan.entry.id },
          { option: plan.option, incarnation },
          hooks,
        );
        if (!sent.incarnationChanged) await this.catchUp(c, sent.seq);
        return sent;
      });
      return {
        ok: outcome.refused === 0 && !outcome.cancelled && !outcome.incarnationChanged && !outcome.stopped && plan.skipped.length === 0,
        applied: outcome.applied,
        refused: outcome.refused,
        summary: outcome.summary + (plan.skipped.length ? `; left alone ${plan.skipped.length} (see details)` : ''),
        details: [...outcome.details, ...plan.skipped].slice(0, 50),
        resolved: false,
      };
    });
  }

  /** What `applyAllSafe` would apply first: per finding (of `rules`), its first safe repair. */
  planAllSafe(cluster: WorkspaceCluster, rules?: readonly RuleId[], tried: ReadonlySet<string> = new Set()): PlannedRepair[] {
    const plans: PlannedRepair[] = [];
    for (const finding of cluster.checker.findings()) {
      if (rules && !rules.includes(finding.rule)) continue;
      const status = cluster.session.model?.status;
      const option = finding.repairs.find(
        (r) => r.safety === 'safe' && !tried.has(`${finding.id}#${r.id}`) && !(status && repairRefusal(status, r.operations)),
      );
      if (option) plans.push({ finding, option });
    }
    return plans;
  }

  /**
   * `planAllSafe`, counted for a confirmation (`clusterDebugger/planAllSafe`): the first round
   * `applyAllSafe` would send now, or why it would send nothing. Checks are flushed first, as
   * `applyAllSafe` does; nothing is pinned or sent.
   */
  async summarizeAllSafe(name: string): Promise<PlanAllSafeResult> {
    const c = this.host.entry(name);
    const none = { cluster: c.name, repairs: 0, targets: 0, notUndoable: 0, undoNotes: [], refusedByCluster: 0 };
    const guarded = guard(c);
    if (guarded) return { ...none, refusal: guarded };
    await this.host.flushChecks(c);
    if (!c.checker.incarnation) return { ...none, refusal: noIncarnation(c.name) };
    const plans = this.planAllSafe(c);
    const planned = new Set(plans.map((p) => p.finding.id));
    const notUndoable = plans.filter((p) => !p.option.undoable);
    return {
      ...none,
      refusal: null,
      repairs: plans.length,
      targets: plans.reduce((n, p) => n + p.option.targetCount, 0),
      notUndoable: notUndoable.length,
      undoNotes: [...new Set(notUndoable.map((p) => p.option.undoNote).filter((n): n is string => !!n))].slice(0, 5),
      refusedByCluster: c.checker.findings().filter((f) => !planned.has(f.id) && f.repairs.some((r) => r.safety === 'safe')).length,
    };
  }

  /**
   * Every safe repair of every current finding (of `hooks.rules`), each
   * caught up and re-checked before the next; then, for the findings that
   * remain, their next safe repair, for at most `MAX_SAFE_ROUNDS` rounds.
   * Repairs that may lose data are never applied here.
   */
  async applyAllSafe(name: string, hooks: AllSafeHooks = {}): Promise<ApplyRepairResult> {
    const syncing = this.host.find(name);
    // Its findings are not all known before its sync ends (sync-wait.ts); single repairs do not wait.
    const refusal = syncing && (await waitForSync(syncing, hooks, this.host.log, () => this.host.find(name) === syncing));
    if (refusal) return this.refusal(refusal);
    return this.withRepairGuard(name, `Refused: no cluster named ${name} is connected`, async (c) => {
      if (!c.checker.incarnation) return this.refusal(noIncarnation(c.name));
      const tried = new Set<string>();
      let repairs = 0;
      let applied = 0;
      let refused = 0;
      let stopped = false;
      const summaries: string[] = [];
      const details: string[] = [];
      /** Applied per incarnation the repairs were planned on: after a restart, the same records may be repaired again. */
      const perRun = new Map<string, number>();
      const run = randomUUID();
      for (let round = 0; round < MAX_SAFE_ROUNDS && !stopped; round++) {
        const plans = this.planAllSafe(c, hooks.rules, tried);
        if (!plans.length) break;
        // The round's plans were all computed on this incarnation; they carry it even if a restart is noticed mid-round.
        const plannedOn = c.checker.incarnation!;
        const total = plans.reduce((n, p) => n + p.option.targetCount, 0);
        let done = 0;
        for (const { finding, option } of plans) {
          if ((stopped = hooks.cancelled?.() ?? false)) break;
          tried.add(`${finding.id}#${option.id}`);
          repairs++;
          hooks.progress?.(done, total, `${finding.id}: ${option.title}`);
          // Progress in entities of the whole round, batch by batch (not "1 of 1 findings").
          const before = done;
          const progress = (d: number) =>
            hooks.progress?.(before + d, total, `${formatCount(before + d)} of ${formatCount(total)}: ${option.title}`);
          const outcome = await this.runRepair(c, finding, option, plannedOn, { cancelled: hooks.cancelled, progress, run });
          stopped ||= outcome.cancelled || outcome.stopped !== undefined;
          applied += outcome.applied;
          perRun.set(plannedOn, (perRun.get(plannedOn) ?? 0) + outcome.applied);
          refused += outcome.refused;
          done += option.targetCount;
          summaries.push(outcome.summary);
          details.push(...outcome.details);
          hooks.repaired?.(finding, option, outcome);
          // Planned on a cluster that has since restarted: the rest of this round's plans are void; the next round re-plans.
          if (outcome.incarnationChanged) break;
        }
      }
      const remaining = hooks.rules
        ? c.checker.findings().filter((f) => hooks.rules!.includes(f.rule)).length
        : c.checker.findings().length;
      // The cluster restarted part-way: each run is said on its own, the sum may count a record twice (undone by the restart, repaired again).
      const runs = [...perRun.values()].filter((n) => n > 0);
      const appliedText =
        runs.length > 1
          ? `applied ${runs.map((n, i) => `${formatCount(n)} in run ${i + 1}`).join(', ')} (the cluster restarted in between; a record may be counted in both)`
          : `applied ${applied}`;
      return {
        ok: refused === 0 && !stopped,
        applied,
        refused,
        summary: repairs
          ? `${plural(repairs, 'safe repair')}${stopped ? ', cancelled part-way' : ''}: ${appliedText}, refused ${refused}; ${plural(remaining, 'finding')} remain${remaining === 1 ? 's' : ''}`
          : 'No safe repair to apply',
        details: [...summaries, ...details].slice(0, 50),
        resolved: remaining === 0,
      };
    });
  }

  // ------------------------------------------------------------- internals --

  /**
   * The opening of every repair, whoever asks for it: the cluster of that name is connected
   * (`notConnected` says it is not), live and not read-only (`guard`), and its pending checks
   * have run; then `repair`. Otherwise a refusal, and nothing is sent.
   */
  private async withRepairGuard(
    cluster: string,
    notConnected: string,
    repair: (c: ClusterEntry) => Promise<ApplyRepairResult>,
  ): Promise<ApplyRepairResult> {
    const c = this.host.find(cluster);
    if (!c) return this.refusal(notConnected);
    const guarded = guard(c);
    if (guarded) return this.refusal(guarded);
    await this.host.flushChecks(c);
    return repair(c);
  }

  /** Runs `send` with the cluster's checks held (`ClusterEntry.repairing`); they resume when the last repair ends. */
  private async holdingChecks(c: ClusterEntry, send: () => Promise<RepairOutcome>): Promise<RepairOutcome> {
    c.repairing++;
    try {
      return await send();
    } finally {
      c.repairing--;
      // Whatever arrived after the catch-up (another writer) is checked as usual.
      if (c.repairing === 0 && c.checker.hasDirty) this.host.scheduleCheck(c);
    }
  }

  /**
   * Sends one plan, then catches up. If the cluster restarted meanwhile, nothing of the plan
   * reaches the new cluster: once it has resynced and been checked again, a safe repair is
   * planned afresh and applied (once); one that may lose data is left for the user to confirm.
   */
  private runRepair(
    c: ClusterEntry,
    finding: Finding,
    option: RepairOption,
    incarnation: string,
    hooks: RepairHooks,
  ): Promise<RepairOutcome> {
    return this.holdingChecks(c, () => this.runRepairHoldingChecks(c, finding, option, incarnation, hooks));
  }

  private async runRepairHoldingChecks(
    c: ClusterEntry,
    finding: Finding,
    option: RepairOption,
    incarnation: string,
    hooks: RepairHooks,
  ): Promise<RepairOutcome> {
    const outcome = await this.execute(c, finding, { option, incarnation }, hooks);
    if (!outcome.incarnationChanged) {
      await this.catchUp(c, outcome.seq);
      return outcome;
    }
    this.host.log(`[${c.name}] the cluster restarted during ${finding.id} → ${option.id}; re-planning once it has resynced`);
    const live = await c.session.waitFor(
      () => c.session.state === 'live' && c.session.incarnation !== incarnation,
      this.host.catchUpMs ?? DEFAULT_CATCH_UP_MS,
    );
    await this.host.flushChecks(c);
    const fresh = live ? c.checker.finding(finding.id)?.repairs.find((r) => r.id === option.id) : undefined;
    const before = `${outcome.summary}.`;
    if (!fresh) {
      const why = !live ? 'it has not come back yet' : 'the finding is gone on the restarted cluster';
      return { ...outcome, summary: `${before} Not re-planned: ${why}.` };
    }
    if (fresh.safety !== 'safe' || hooks.cancelled?.()) {
      return { ...outcome, summary: `${before} Re-check the finding on the restarted cluster and repair again.` };
    }
    this.host.log(`[${c.name}] re-planned ${finding.id} → ${option.id} on incarnation ${c.checker.incarnation}`);
    const again = await this.execute(c, finding, { option: fresh, incarnation: c.checker.incarnation! }, hooks);
    if (!again.incarnationChanged) await this.catchUp(c, again.seq);
    return {
      ...again,
      applied: outcome.applied + again.applied,
      refused: outcome.refused + again.refused,
      unchanged: outcome.unchanged + again.unchanged,
      details: [...outcome.details, ...again.details],
      summary: `${before} Re-planned on the restarted cluster: ${again.summary}`,
    };
  }

  /** `executeRepair`, journalled when the workspace has a journal (the only place repairs are sent from). */
  private async execute(
    c: ClusterEntry,
    finding: { id: string; rule?: RuleId; undoOf?: string },
    planned: PlannedOption,
    hooks: RepairHooks,
  ): Promise<RepairOutcome> {
    const info = {
      findingId: finding.id,
      rule: finding.rule,
      option: planned.option,
      incarnation: planned.incarnation,
      source: this.host.journalSource ?? 'editor',
      undoOf: finding.undoOf,
      run: hooks.run,
    } as const;
    const recorder = this.host.journal()?.recorder(c.session, info);
    const outcome = await executeRepair(c.session, finding.id, planned, {
      log: this.host.log,
      ...hooks,
      ...(recorder ? { batches: recorder } : {}),
      audit: repairAudit(recorder?.id ?? randomUUID(), info),
    });
    await recorder?.end(outcome.summary, outcome.cancelled).catch((e) => this.host.log(`[${c.name}] ${errorText(e)}`));
    return outcome;
  }

  /** Waits until the model holds the repair's own events (else resyncs), then re-checks. */
  private async catchUp(c: ClusterEntry, seq: number): Promise<void> {
    if (!(await c.session.waitForSeq(seq, this.host.catchUpMs ?? DEFAULT_CATCH_UP_MS))) {
      this.host.log(`[${c.name}] events up to ${seq} did not arrive; resyncing`);
      await c.session.resync().catch((e) => this.host.log(`[${c.name}] resync failed: ${errorText(e)}`));
    }
    await this.host.flushChecks(c);
  }

  private refusal(summary: string): ApplyRepairResult {
    this.host.log(`repair refused: ${summary}`);
    return { ok: false, applied: 0, refused: 0, summary, details: [], resolved: false };
  }
}

/**
 * The one check before anything of a repair is sent, whoever asks for it (a quick fix, any LSP
 * client's executeCommand, the CLI): the cluster is live and not read-only. A refusal, or undefined.
 */
function guard(c: ClusterEntry): string | undefined {
  if (c.session.state !== 'live') return `Refused: ${c.name} is ${c.session.state}; nothing is repaired from stale state`;
  const readOnly = readOnlyReason(c);
  return readOnly ? `Refused: ${readOnly}; nothing was sent` : undefined;
}

function noIncarnation(cluster: string): string {
  return `Refused: ${cluster} does not say which incarnation of the cluster it is, so a repair could reach a restarted cluster; nothing was sent`;
}
