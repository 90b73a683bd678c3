/**
 * Repairs from the editor: the palette's pick of a finding and a repair, the
 * quick fixes (the server's `clusterDebugger.applyRepair`, which the client's
 * middleware runs as `repairFinding` here), a preview document's "Apply this repair",
 * and "Run All Safe Repairs". The server plans and applies; this side confirms what
 * may lose data (Enter never applies it), asks once before running every safe repair,
 * shows progress, lets the user cancel, and logs every repair with its result.
 */
import { CancellationError, CancellationToken, ProgressLocation, QuickPickItem, Uri, window } from 'vscode';
import { sameCluster } from '../../protocol/config';
import { errorText, plural } from '../../protocol/format';
import type { RepairHistoryEntry } from '../../protocol/journal';
import { ApplyRepairArgs, ApplyRepairResult, FindingSummary, type PlanAllSafeResult } from '../../protocol/lsp';
import { defaultProtection, effectiveProtection, readOnlyReason } from '../../protocol/preview';
import type { ProgressSink } from '../languageServer/serverApi';
import { confirmRepairAllSafe } from '../config';
import { waitingDetail, waitingQuestion } from './repairAllWaits';
import type { Ctx } from '../ctx';
import { ThrottledProgress } from '../views/progress';

type Repair = FindingSummary['repairs'][number];

const SEVERITY_ICONS = { error: '$(error)', warning: '$(warning)', info: '$(info)' } as const;
const SAFETY_LABELS = { safe: '$(shield) safe', 'may-lose-data': '$(warning) may lose data' } as const;

/** What a pick is for: the two commands share the picks, not their titles (a preview sends nothing). */
type PickPurpose = 'repair' | 'preview';

const PICK_TEXTS: Record<
  PickPurpose,
  { findingTitle: string; findingPlaceholder: string; repairTitle: (f: FindingSummary) => string; repairPlaceholder: string }
> = {
  repair: {
    findingTitle: 'Repair: pick a finding',
    findingPlaceholder: 'The finding to repair; next, its repair (one that may lose data asks first)',
    repairTitle: (f) => `Repair ${f.rule} (${f.group})`,
    repairPlaceholder: 'The repair to apply',
  },
  preview: {
    findingTitle: 'Preview a repair (nothing is sent): pick a finding',
    findingPlaceholder: 'The finding whose repair to preview; nothing is sent to the cluster',
    repairTitle: (f) => `Preview a repair of ${f.rule} (${f.group}): nothing is sent`,
    repairPlaceholder: 'The repair to preview as a document; it offers to apply it afterwards',
  },
};

/** `Cluster: Repair…`: pick a finding (optionally among `onlyIds`), then one of its repairs. */
export async function pickAndRepair(
  ctx: Ctx,
  args?: Partial<ApplyRepairArgs>,
  onlyIds?: readonly string[],
): Promise<ApplyRepairResult | undefined> {
  const picked = await pickFindingRepair(ctx, 'repair', args, onlyIds);
  return picked ? repairFinding(ctx, picked.args) : undefined;
}

/**
 * `Cluster: Show Repair Preview…`: pick as for a repair, then open what it would do as a read-only
 * document, which offers to apply it. Nothing is sent.
 */
export async function pickAndPreview(ctx: Ctx, args?: Partial<ApplyRepairArgs>): Promise<string | undefined> {
  const picked = await pickFindingRepair(ctx, 'preview', args);
  if (!picked) return undefined;
  const { text } = await ctx.requireApi().request('preview', picked.args);
  await ctx.previews.show(picked.args.cluster, picked.args.findingId, picked.args.repairId, text, picked.repair?.safety);
  return text;
}

/** A preview document's "Apply this repair" (code lens, editor title): the repair it shows, as `Cluster: Repair…` runs it. */
export async function applyPreviewedRepair(ctx: Ctx, uri: Uri | undefined): Promise<ApplyRepairResult | undefined> {
  const target = uri ?? window.activeTextEditor?.document.uri;
  const args = target ? ctx.previews.repairOf(target) : undefined;
  if (!args) {
    void window.showInformationMessage(
      'This is not a repair preview the extension still knows (it may be from before a reload): preview the repair again.',
    );
    return undefined;
  }
  return repairFinding(ctx, args);
}

async function pickFindingRepair(
  ctx: Ctx,
  purpose: PickPurpose,
  args?: Partial<ApplyRepairArgs>,
  onlyIds?: readonly string[],
): Promise<{ args: ApplyRepairArgs; repair?: Repair } | undefined> {
  if (args?.findingId && args.repairId && args.cluster) return { args: ApplyRepairArgs.parse(args) };
  const texts = PICK_TEXTS[purpose];
  let findings = await ctx.requireApi().findings(args?.cluster ? { cluster: args.cluster } : {});
  if (onlyIds) findings = findings.filter((f) => onlyIds.includes(f.id));
  if (args?.findingId) findings = findings.filter((f) => f.id === args.findingId);
  findings = findings.filter((f) => f.repairs.length > 0);
  if (findings.length === 0) {
    void window.showInformationMessage(
      onlyIds || args?.findingId ? 'That finding has no repair now (it may be fixed already).' : 'No current finding has a repair.',
    );
    return undefined;
  }
  // A repair of a read-only cluster is listed, with why it will not be sent (a preview is still fine).
  const readOnly = (f: FindingSummary) => {
    const info = purpose === 'repair' ? ctx.clusters.find((c) => sameCluster(c.name, f.cluster)) : undefined;
    return info && readOnlyReason(info);
  };
  const finding =
    findings.length === 1 && (onlyIds || args?.findingId)
      ? findings[0]
      : (
          await window.showQuickPick(
            findings.map((f) => ({
              label: `${SEVERITY_ICONS[f.severity]} ${f.rule}`,
              description: `${readOnly(f) ? '$(lock) read-only · ' : ''}${f.cluster} · ${plural(f.count, 'entity')} · ${f.group}`,
              detail: readOnly(f) ? `Not sent: ${readOnly(f)}. ${f.message}` : f.message,
              finding: f,
            })),
            {
              title: texts.findingTitle,
              placeHolder: texts.findingPlaceholder,
              matchOnDescription: true,
              matchOnDetail: true,
              ignoreFocusOut: true,
            },
          )
        )?.finding;
  if (!finding) return undefined;
  const repair = await pickRepair(finding, args?.repairId, texts.repairTitle(finding), texts.repairPlaceholder);
  if (!repair) return undefined;
  return { args: { cluster: finding.cluster, findingId: finding.id, repairId: repair.id }, repair };
}

async function pickRepair(
  finding: FindingSummary,
  repairId: string | undefined,
  title: string,
  placeHolder: string,
): Promise<Repair | undefined> {
  if (repairId) return finding.repairs.find((r) => r.id === repairId);
  // Shown even for a single repair: the user should see its safety before it runs.
  const items: (QuickPickItem & { repair: Repair })[] = finding.repairs.map((r) => ({
    label: r.title,
    description: `${SAFETY_LABELS[r.safety]}${r.undoable === undefined ? '' : r.undoable ? ' · can be undone' : ' · cannot be undone'}`,
    detail: `Acts on ${plural(r.targetCount, 'entity')}${r.description ? ` · ${r.description}` : ''}${r.undoNote ? ` · not undoable: ${r.undoNote}` : ''}`,
    repair: r,
  }));
  return (await window.showQuickPick(items, { title, placeHolder, ignoreFocusOut: true }))?.repair;
}

/**
 * `clusterDebugger.repairFinding`, and every VS Code invocation of the server's
 * `clusterDebugger.applyRepair` (the command the quick fixes name; see
 * `runServerCommand` in commands/table.ts): confirm if the repair may lose data, then
 * run it on the server with cancellable progress and its own workDoneToken.
 */
export async function repairFinding(ctx: Ctx, rawArgs: unknown): Promise<ApplyRepairResult | undefined> {
  const parsed = ApplyRepairArgs.safeParse(rawArgs);
  if (!parsed.success) throw new Error(`Bad repair arguments: ${JSON.stringify(rawArgs)}`);
  const args = parsed.data;
  const api = ctx.requireApi();
  // The one plan this repair sends: the one the quick fix showed, if it pinned one.
  const finding = await api.plan(args.cluster, args.findingId);
  if (!finding) {
    void window.showInformationMessage(
      `Finding ${args.findingId} is no longer current on ${args.cluster}: it may have been repaired already.`,
    );
    return undefined;
  }
  const repair = finding.repairs.find((r) => r.id === args.repairId);
  if (!repair)
    throw new Error(
      `Finding ${finding.id} has no repair "${args.repairId}" (it has: ${finding.repairs.map((r) => r.id).join(', ') || 'none'}).`,
    );

  const notConfirmed = () => {
    ctx.log.info(`Repair ${repair.id} of ${finding.id} on ${finding.cluster}: not confirmed, nothing sent.`);
    return undefined;
  };
  const info = ctx.clusters.find((c) => sameCluster(c.name, finding.cluster));
  const protection = info ? effectiveProtection(info) : defaultProtection(false);
  // The server refuses it too, whatever sends it; saying so here spares a round trip and a progress bar.
  const readOnly = info && readOnlyReason(info);
  if (readOnly) {
    ctx.log.warn(`Repair ${repair.id} of ${finding.id} on ${finding.cluster}: ${readOnly}; nothing sent.`);
    void window.showWarningMessage(`No repair is sent: ${readOnly}.`);
    return undefined;
  }
  if (repair.safety !== 'safe') {
    if (!(await confirmWithPreview(ctx, args, finding, repair))) return notConfirmed();
    if (protection === 'confirm' && !(await confirmByName(finding.cluster, repair))) return notConfirmed();
  }

  ctx.log.info(
    `Repair ${repair.id} (${repair.safety}, ${plural(repair.targetCount, 'target')}) of ${finding.id} on ${finding.cluster}: ${repair.title}`,
  );
  const result = await runWithProgress(ctx, `Cluster: ${repair.title}`, (token, onProgress) => api.applyRepair(args, token, onProgress));
  if (result) report(ctx, `Repair ${repair.id} of ${finding.id}`, result);
  return result;
}

/**
 * The modal confirmation of a repair that may lose data, with what the preview says it does. Enter
 * must never apply it: VS Code's modal message focuses its first item (the first one that is not
 * `isCloseAffordance`; Cancel, the close affordance, is never focused; see `MainThreadMessageService`
 * and the dialog's `show()` in VS Code 1.100), so the first item is one that sends nothing: **Preview**,
 * which opens the whole preview as a document (a notification that stays while it is read then asks
 * again), or, when the preview failed, **Show Log**. Apply Repair is never the default.
 */
async function confirmWithPreview(ctx: Ctx, args: ApplyRepairArgs, finding: FindingSummary, repair: Repair): Promise<boolean> {
  const apply = 'Apply Repair';
  const preview = 'Preview';
  const showLog = 'Show Log';
  const previewed = await ctx
    .requireApi()
    .request('preview', args)
    .catch((err: unknown) => {
      ctx.log.warn(`Preview of ${repair.id} of ${finding.id}: ${errorText(err)}`);
      return undefined;
    });
  const summary = previewed?.preview?.summary;
  const answer = await window.showWarningMessage(
    `${repair.title}: this repair may lose data.`,
    {
      modal: true,
      detail:
        `Cluster ${finding.cluster}, ${finding.rule} (${finding.group}).\n${finding.message}\n\n` +
        (repair.description ? `${repair.description}\n\n` : '') +
        (summary ? `Preview: ${summary}.\n\n` : previewed ? '' : 'The preview failed (see the log).\n\n') +
        `It will act on ${plural(repair.targetCount, 'entity')}. Each operation is conditional on the state it was planned from; ` +
        `entities that changed since are refused, not overwritten.`,
    },
    // The first item is the default (Enter): one that sends nothing.
    previewed ? preview : showLog,
    apply,
  );
  if (answer === showLog) ctx.log.show();
  if (answer !== preview || !previewed) return answer === apply;
  ctx.log.info(`Preview of ${repair.id} of ${finding.id} on ${finding.cluster}: ${summary ?? 'nothing to preview'}`);
  await ctx.previews.show(finding.cluster, finding.id, repair.id, previewed.text, repair.safety);
  // Not modal: the preview stays readable while this waits.
  return (
    (await window.showWarningMessage(`${repair.title} on ${finding.cluster} (may lose data): ${summary ?? 'apply it?'}`, apply)) === apply
  );
}

/** A cluster protected with `confirm`: the repair runs only once its name is typed. */
async function confirmByName(cluster: string, repair: Repair): Promise<boolean> {
  const typed = await window.showInputBox({
    title: `${repair.title} may lose data on ${cluster}`,
    prompt: `${cluster} asks for confirmation (protection: confirm). Type its name to apply the repair.`,
    placeHolder: cluster,
    ignoreFocusOut: true,
    validateInput: (v) => (v === '' || v === cluster ? undefined : `Type ${cluster} exactly, or press Escape`),
  });
  return typed === cluster;
}

/**
 * `Cluster: Undo Repair…`: pick a journalled repair that can be undone (newest first), confirm what
 * undo will do, then send its inverse plan; what moved on since the repair is refused and listed.
 */
export async function undoRepair(ctx: Ctx, args?: { id?: string; entry?: RepairHistoryEntry }): Promise<ApplyRepairResult | undefined> {
  const api = ctx.requireApi();
  let id = args?.id;
  if (args?.entry) {
    // From a History row's context menu: that repair, asked as from the pick.
    if (!(await confirmUndo(args.entry))) return undefined;
    id = args.entry.id;
  } else if (!id) {
    const history = await api.repairHistory();
    if (history.path === null && !history.entries.length) {
      void window.showWarningMessage('Repairs are not journalled (clusterDebugger.repairJournal is "off"), so there is nothing to undo.');
      return undefined;
    }
    const items = history.entries
      .filter((e) => !e.undoOf)
      .map((e) => ({
        label: e.title,
        description: `${e.cluster} · ${e.at.replace('T', ' ').slice(0, 19)}`,
        detail: e.undoable ? e.summary : `Cannot be undone: ${e.undoNote}`,
        entry: e,
      }));
    const undoable = items.filter((i) => i.entry.undoable);
    if (!undoable.length) {
      void window.showInformationMessage(items.length ? 'No repair in the journal can be undone.' : 'The repair journal is empty.');
      return undefined;
    }
    const picked = await window.showQuickPick(undoable, { title: 'Undo which repair?', matchOnDescription: true, matchOnDetail: true });
    if (!picked || !(await confirmUndo(picked.entry))) return undefined;
    id = picked.entry.id;
  }
  ctx.log.info(`Undo of repair ${id}`);
  const undoId = id;
  const result = await runWithProgress(ctx, 'Cluster: undoing a repair', (token, onProgress) =>
    api.undoRepair({ id: undoId }, token, onProgress),
  );
  if (result) report(ctx, `Undo of ${id}`, result);
  ctx.historyTree.refresh();
  return result;
}

async function confirmUndo(entry: RepairHistoryEntry): Promise<boolean> {
  const confirm = await window.showWarningMessage(
    `Undo "${entry.title}" on ${entry.cluster}?`,
    {
      modal: true,
      detail:
        'What it deleted is re-created and what it changed is restored, from the journal, only where nothing moved on since; the rest is refused and listed.',
    },
    'Undo',
  );
  return confirm === 'Undo';
}

/**
 * `Cluster: Run All Safe Repairs`, per connected cluster (or just `args.cluster`): first one
 * confirmation with what the server would apply ("Apply 17 safe repairs on sim (14 cannot be
 * undone)?"), unless `clusterDebugger.repairAllSafe.confirm` skips it for clusters whose protection
 * is `none`. Not confirmed: nothing is sent to any cluster, and the result is empty.
 */
export async function repairAllSafe(ctx: Ctx, args?: { cluster?: string }): Promise<ApplyRepairResult[]> {
  const api = ctx.requireApi();
  const clusters = args?.cluster ? [args.cluster] : ctx.clusters.map((c) => c.name);
  if (!(await confirmAllSafe(ctx, clusters))) {
    ctx.log.info(`Repair all safe on ${clusters.join(', ')}: not confirmed, nothing sent.`);
    return [];
  }
  const results: ApplyRepairResult[] = [];
  for (const cluster of clusters) {
    ctx.log.info(`Repair all safe findings on ${cluster}`);
    const result = await runWithProgress(ctx, `Cluster: repairing every safe finding on ${cluster}`, (token, onProgress) =>
      api.applyAllSafe(cluster, token, onProgress),
    );
    if (!result) break;
    report(ctx, `Repair all safe on ${cluster}`, result);
    results.push(result);
  }
  return results;
}

/**
 * The one question before Repair All Safe: how many repairs, on which clusters, how many cannot be
 * undone (the server's `planAllSafe`: what it would apply first). Not asked when nothing would be
 * sent (the run then says why), nor for clusters the setting exempts. Its only button applies:
 * safe repairs lose no data, so Enter may run them; Escape and Cancel send nothing.
 */
async function confirmAllSafe(ctx: Ctx, clusters: readonly string[]): Promise<boolean> {
  const protectionOf = (name: string) => {
    const info = ctx.clusters.find((c) => sameCluster(c.name, name));
    return info ? effectiveProtection(info) : defaultProtection(false);
  };
  const asking = clusters.filter((name) => confirmRepairAllSafe(protectionOf(name)));
  if (!asking.length) return true;
  // A cluster still syncing has no plan to count yet: the run waits for its sync, and the question says so.
  const syncing = ctx.clusters.filter((c) => c.state === 'syncing' && asking.some((name) => sameCluster(c.name, name)));
  const planned = asking.filter((name) => !syncing.some((c) => sameCluster(c.name, name)));
  const api = ctx.requireApi();
  const plans = (await Promise.all(planned.map((name) => api.planAllSafe(name)))).filter((p) => p.refusal === null && p.repairs > 0);
  if (!plans.length && !syncing.length) return true;
  const repairs = plans.reduce((n, p) => n + p.repairs, 0);
  const question = plans.length ? allSafeQuestion(plans) : waitingQuestion(syncing);
  const detail = [
    ...syncing.map((c) => waitingDetail(c)),
    ...(plans.length ? ['', allSafeDetail(plans, asking.length < clusters.length)] : []),
  ].join('\n');
  const answer = await window.showWarningMessage(
    question,
    { modal: true, detail },
    plans.length ? `Apply ${plural(repairs, 'Repair')}` : 'Apply After the Sync',
  );
  ctx.log.info(`${question} ${answer ? 'Confirmed.' : 'Not confirmed.'}`);
  return answer !== undefined;
}

/** "Apply 17 safe repairs on sim (14 cannot be undone)?" */
export function allSafeQuestion(plans: readonly PlanAllSafeResult[]): string {
  const repairs = plans.reduce((n, p) => n + p.repairs, 0);
  const notUndoable = plans.reduce((n, p) => n + p.notUndoable, 0);
  const where = plans.length === 1 ? plans[0].cluster : plural(plans.length, 'cluster');
  const undo =
    notUndoable === 0
      ? 'each can be undone'
      : notUndoable === repairs
        ? repairs === 1
          ? 'it cannot be undone'
          : 'none can be undone'
        : `${notUndoable} cannot be undone`;
  return `Apply ${plural(repairs, 'safe repair')} on ${where} (${undo})?`;
}

function allSafeDetail(plans: readonly PlanAllSafeResult[], someExempt: boolean): string {
  const lines: string[] = [];
  if (plans.length > 1) {
    for (const p of plans)
      lines.push(`${p.cluster}: ${plural(p.repairs, 'repair')} on ${plural(p.targets, 'entity')}, ${p.notUndoable} cannot be undone.`);
  } else {
    lines.push(`They act on ${plural(plans[0].targets, 'entity')}.`);
  }
  lines.push(
    '',
    'Each is marked safe: it loses no data. Repairs that may lose data are never part of it. Findings that remain after ' +
      'these get their next safe repair too (a few rounds at most), so a few more may be applied than counted here.',
  );
  const notes = [...new Set(plans.flatMap((p) => p.undoNotes))];
  if (notes.length) lines.push('', `Cannot be undone with Cluster: Undo Repair…: ${notes.join('; ')}.`);
  const refused = plans.reduce((n, p) => n + p.refusedByCluster, 0);
  if (refused)
    lines.push('', `${plural(refused, 'finding')} left out: the cluster refuses ${refused === 1 ? 'its' : 'their'} safe repair now.`);
  lines.push(
    '',
    someExempt
      ? 'Clusters whose protection is none run without this question (clusterDebugger.repairAllSafe.confirm).'
      : 'To skip this question for clusters whose protection is none: clusterDebugger.repairAllSafe.confirm = exceptProtectionNone.',
  );
  return lines.join('\n');
}

async function runWithProgress(
  ctx: Ctx,
  title: string,
  run: (token: CancellationToken, onProgress: ProgressSink) => Promise<ApplyRepairResult>,
): Promise<ApplyRepairResult | undefined> {
  try {
    return await window.withProgress({ location: ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      const shown = new ThrottledProgress(progress);
      try {
        return await run(token, (v) => shown.report(v));
      } finally {
        shown.dispose();
      }
    });
  } catch (err) {
    if (err instanceof CancellationError || (err as { code?: number })?.code === -32800) {
      ctx.log.warn(`${title}: cancelled. Batches already sent stay applied; the rest were not sent.`);
      void window.showWarningMessage(`${title}: cancelled.`);
      return undefined;
    }
    throw err;
  }
}

function report(ctx: Ctx, what: string, r: ApplyRepairResult): void {
  ctx.historyTree.refresh();
  const line = `${what}: ${r.summary} (applied ${r.applied}, refused ${r.refused}, ${r.resolved ? 'resolved' : 'not resolved'})`;
  if (r.ok) ctx.log.info(line);
  else ctx.log.warn(line);
  for (const d of r.details) ctx.log.info(`  ${d}`);
  const show = (r.ok ? window.showInformationMessage : window.showWarningMessage)(r.summary, 'Show Log');
  void show.then((a) => {
    if (a) ctx.log.show();
  });
}
