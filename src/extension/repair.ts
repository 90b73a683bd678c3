/**
 * Repairs from the editor: the palette's pick of a finding and a repair, the
 * quick fixes (the server's `clusterDebugger.applyRepair`, which the client's
 * middleware runs as `repairFinding` here), and "Repair All Safe Findings". The server
 * plans and applies; this side confirms what may lose data, shows progress,
 * lets the user cancel, and logs every repair with its result.
 */
import { CancellationError, CancellationToken, ProgressLocation, QuickPickItem, window } from 'vscode';
import { sameCluster } from '../protocol/config';
import { errorText, plural } from '../protocol/format';
import { ApplyRepairArgs, ApplyRepairResult, FindingSummary } from '../protocol/lsp';
import { defaultProtection, effectiveProtection } from '../protocol/preview';
import type { ProgressSink } from './api';
import type { Ctx } from './ctx';

type Repair = FindingSummary['repairs'][number];

const SEVERITY_ICONS = { error: '$(error)', warning: '$(warning)', info: '$(info)' } as const;
const SAFETY_LABELS = { safe: '$(shield) safe', 'may-lose-data': '$(warning) may lose data' } as const;

/** `Cluster: Repair…`: pick a finding (optionally among `onlyIds`), then one of its repairs. */
export async function pickAndRepair(ctx: Ctx, args?: Partial<ApplyRepairArgs>, onlyIds?: readonly string[]): Promise<ApplyRepairResult | undefined> {
  const picked = await pickFindingRepair(ctx, args, onlyIds);
  return picked ? repairFinding(ctx, picked) : undefined;
}

/** `Cluster: Preview Repair…`: pick as for a repair, then open what it would do as a read-only document. Nothing is sent. */
export async function pickAndPreview(ctx: Ctx, args?: Partial<ApplyRepairArgs>): Promise<string | undefined> {
  const picked = await pickFindingRepair(ctx, args);
  if (!picked) return undefined;
  const { text } = await ctx.requireApi().request('preview', picked);
  await ctx.previews.show(picked.cluster, picked.findingId, picked.repairId, text);
  return text;
}

async function pickFindingRepair(ctx: Ctx, args?: Partial<ApplyRepairArgs>, onlyIds?: readonly string[]): Promise<ApplyRepairArgs | undefined> {
  if (args?.findingId && args.repairId && args.cluster) return ApplyRepairArgs.parse(args);
  let findings = await ctx.requireApi().findings(args?.cluster ? { cluster: args.cluster } : {});
  if (onlyIds) findings = findings.filter((f) => onlyIds.includes(f.id));
  if (args?.findingId) findings = findings.filter((f) => f.id === args.findingId);
  findings = findings.filter((f) => f.repairs.length > 0);
  if (findings.length === 0) {
    void window.showInformationMessage(onlyIds || args?.findingId ? 'That finding has no repair now (it may be fixed already).' : 'No current finding has a repair.');
    return undefined;
  }
  const finding =
    findings.length === 1 && (onlyIds || args?.findingId)
      ? findings[0]
      : (
          await window.showQuickPick(
            findings.map((f) => ({
              label: `${SEVERITY_ICONS[f.severity]} ${f.rule}`,
              description: `${f.cluster} · ${plural(f.count, 'entity')} · ${f.group}`,
              detail: f.message,
              finding: f,
            })),
            { title: 'Repair: pick a finding', matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true },
          )
        )?.finding;
  if (!finding) return undefined;
  const repair = await pickRepair(finding, args?.repairId);
  if (!repair) return undefined;
  return { cluster: finding.cluster, findingId: finding.id, repairId: repair.id };
}

async function pickRepair(finding: FindingSummary, repairId: string | undefined): Promise<Repair | undefined> {
  if (repairId) return finding.repairs.find((r) => r.id === repairId);
  // Shown even for a single repair: the user should see its safety before it runs.
  const items: (QuickPickItem & { repair: Repair })[] = finding.repairs.map((r) => ({
    label: r.title,
    description: `${SAFETY_LABELS[r.safety]}${r.undoable === undefined ? '' : r.undoable ? ' · can be undone' : ' · cannot be undone'}`,
    detail: `Acts on ${plural(r.targetCount, 'entity')}${r.description ? ` · ${r.description}` : ''}${r.undoNote ? ` · not undoable: ${r.undoNote}` : ''}`,
    repair: r,
  }));
  return (await window.showQuickPick(items, { title: `Repair ${finding.rule} (${finding.group})`, ignoreFocusOut: true }))?.repair;
}

/**
 * `clusterDebugger.repairFinding`, and every VS Code invocation of the server's
 * `clusterDebugger.applyRepair` (the command the quick fixes name; see
 * `runServerCommand` in commands.ts): confirm if the repair may lose data, then
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
    void window.showInformationMessage(`Finding ${args.findingId} is no longer current on ${args.cluster}: it may have been repaired already.`);
    return undefined;
  }
  const repair = finding.repairs.find((r) => r.id === args.repairId);
  if (!repair) throw new Error(`Finding ${finding.id} has no repair "${args.repairId}" (it has: ${finding.repairs.map((r) => r.id).join(', ') || 'none'}).`);

  const notConfirmed = () => {
    ctx.log.info(`Repair ${repair.id} of ${finding.id} on ${finding.cluster}: not confirmed, nothing sent.`);
    return undefined;
  };
  const info = ctx.clusters.find((c) => sameCluster(c.name, finding.cluster));
  const protection = info ? effectiveProtection(info) : defaultProtection(false);
  // The server refuses it too, whatever sends it; saying so here spares a round trip and a progress bar.
  if (protection === 'read-only') {
    ctx.log.warn(`Repair ${repair.id} of ${finding.id} on ${finding.cluster}: the cluster is read-only, nothing sent.`);
    void window.showWarningMessage(`${finding.cluster} is read-only: no repair is sent to it. Change its protection in clusterDebugger.clusters to repair it.`);
    return undefined;
  }
  if (repair.safety !== 'safe') {
    if (!(await confirmWithPreview(ctx, args, finding, repair))) return notConfirmed();
    if (protection === 'confirm' && !(await confirmByName(finding.cluster, repair))) return notConfirmed();
  }

  ctx.log.info(`Repair ${repair.id} (${repair.safety}, ${plural(repair.targetCount, 'target')}) of ${finding.id} on ${finding.cluster}: ${repair.title}`);
  const result = await runWithProgress(ctx, `Cluster: ${repair.title}`, (token, onProgress) => api.applyRepair(args, token, onProgress));
  if (result) report(ctx, `Repair ${repair.id} of ${finding.id}`, result);
  return result;
}

/**
 * The modal confirmation of a repair that may lose data, with what the preview says it does. Its
 * **Preview** button opens the whole preview as a document; a notification that stays while it is
 * read then asks again.
 */
async function confirmWithPreview(ctx: Ctx, args: ApplyRepairArgs, finding: FindingSummary, repair: Repair): Promise<boolean> {
  const apply = 'Apply Repair';
  const preview = 'Preview';
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
        (summary ? `Preview: ${summary}.\n\n` : '') +
        `It will act on ${plural(repair.targetCount, 'entity')}. Each operation is conditional on the state it was planned from; ` +
        `entities that changed since are refused, not overwritten.`,
    },
    apply,
    ...(previewed ? [preview] : []),
  );
  if (answer !== preview || !previewed) return answer === apply;
  ctx.log.info(`Preview of ${repair.id} of ${finding.id} on ${finding.cluster}: ${summary ?? 'nothing to preview'}`);
  await ctx.previews.show(finding.cluster, finding.id, repair.id, previewed.text);
  // Not modal: the preview stays readable while this waits.
  return (await window.showWarningMessage(`${repair.title} on ${finding.cluster} (may lose data): ${summary ?? 'apply it?'}`, apply)) === apply;
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
export async function undoRepair(ctx: Ctx, args?: { id?: string }): Promise<ApplyRepairResult | undefined> {
  const api = ctx.requireApi();
  let id = args?.id;
  if (!id) {
    const history = await api.repairHistory();
    if (history.path === null) {
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
    if (!picked) return undefined;
    const confirm = await window.showWarningMessage(
      `Undo "${picked.entry.title}" on ${picked.entry.cluster}?`,
      { modal: true, detail: 'What it deleted is re-created and what it changed is restored, from the journal, only where nothing moved on since; the rest is refused and listed.' },
      'Undo',
    );
    if (confirm !== 'Undo') return undefined;
    id = picked.entry.id;
  }
  ctx.log.info(`Undo of repair ${id}`);
  const undoId = id;
  const result = await runWithProgress(ctx, 'Cluster: undoing a repair', (token, onProgress) => api.undoRepair({ id: undoId }, token, onProgress));
  if (result) report(ctx, `Undo of ${id}`, result);
  ctx.historyTree.refresh();
  return result;
}

/** `Cluster: Repair All Safe Findings`, per connected cluster (or just `args.cluster`). */
export async function repairAllSafe(ctx: Ctx, args?: { cluster?: string }): Promise<ApplyRepairResult[]> {
  const api = ctx.requireApi();
  const clusters = args?.cluster ? [args.cluster] : ctx.clusters.map((c) => c.name);
  const results: ApplyRepairResult[] = [];
  for (const cluster of clusters) {
    ctx.log.info(`Repair all safe findings on ${cluster}`);
    const result = await runWithProgress(ctx, `Cluster: repairing every safe finding on ${cluster}`, (token, onProgress) => api.applyAllSafe(cluster, token, onProgress));
    if (!result) break;
    report(ctx, `Repair all safe on ${cluster}`, result);
    results.push(result);
  }
  return results;
}

async function runWithProgress(
  ctx: Ctx,
  title: string,
  run: (token: CancellationToken, onProgress: ProgressSink) => Promise<ApplyRepairResult>,
): Promise<ApplyRepairResult | undefined> {
  try {
    return await window.withProgress({ location: ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      // The server reports percentages; withProgress wants increments.
      let done = 0;
      return run(token, (v) => {
        const pct = v.percentage ?? done;
        progress.report({ message: v.message, increment: Math.max(0, pct - done) });
        done = Math.max(done, pct);
      });
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
