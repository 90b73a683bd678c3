/**
 * `cluster-check`: the engine headless, for scripts and CI.
 *
 *   cluster-check <ws-url | file.clustersnap> [--token T] [--format text|json|sarif]
 *                 [--repair RULE|all] [--dry-run] [--yes] [--read-only] [--journal FILE] [--save FILE]
 *   cluster-check <ws-url> --watch [--token T] [--format text|jsonl] [--retries N] [--retry-delay MS]   (src/cli/watch.ts)
 *   cluster-check undo --journal FILE [--last | --id ID] [--url ws-url] [--token T] [--yes]
 *   cluster-check undo <ws-url> [--last | --id ID] [--token T] [--yes]   (a gateway's own journal)
 *   cluster-check diff <A> <B> [--token T] [--token-a T] [--token-b T]
 *                 [--format text|json|sarif] [--limit N | --all]      (src/cli/diff.ts)
 *
 * Exit codes: 0 no findings (diff: no differences), 1 findings remain (diff:
 * differences), 2 usage or connection error (one line on stderr). `--watch` exits 0 on SIGINT or
 * SIGTERM and 2 when the connection is lost after its retries.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorText, plural, repairRefusal, type ClusterStatus, type Finding, type RepairPreview } from '../protocol';
import { previewRepair, renderPreviewText, type ClusterModel } from '../analysis';
import type { RuleSettings } from '../engine/checker';
import { connectClusterClient } from '../engine/link';
import { analyseSnapshotFile, type SnapshotAnalysis } from '../engine/offline';
import { buildUndo, readJournal, RepairJournal, type JournalRead } from '../engine/journal';
import { readSharedJournal, servesJournal } from '../engine/shared-journal';
import { writeSnapshotFile } from '../engine/offline';
import { describeOperation } from '../engine/repairs';
import { ClusterWorkspace } from '../engine/workspace';
import { ConnectError } from '../engine/cluster';
import type { PlannedRepair } from '../engine/repair-runner';
import { Fatal, UNDO_USAGE, USAGE, UsageError, parseArgs, parseDiffArgs, parseUndoArgs, type CliArgs, type UndoArgs } from './args';
import { DIFF_HELP, runDiff } from './diff';
import { renderJson, renderSarif, renderText, type CheckReport } from './report';
import { runWatch } from './watch';

/** How long to wait for a repair's own events before resyncing. */
const CATCH_UP_MS = 30_000;
/** The name the target is connected under (the documents' URIs use the cluster's own name). */
const CLI_CLUSTER = 'cluster';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'diff') {
    const diff = parseDiffArgs(argv.slice(1), process.env);
    if (diff === 'help') {
      process.stdout.write(`${DIFF_HELP}\n`);
      return 0;
    }
    return runDiff(diff);
  }
  if (argv[0] === 'undo') {
    const undo = parseUndoArgs(argv.slice(1), process.env);
    if (undo === 'help') {
      process.stdout.write(`${UNDO_USAGE}\n`);
      return 0;
    }
    return runUndo(undo);
  }
  const parsed = parseArgs(argv, process.env);
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (parsed.watch) return runWatch({ ...parsed, format: parsed.format === 'jsonl' ? 'jsonl' : 'text', watch: parsed.watch });
  return parsed.live ? checkLive(parsed) : checkFile(parsed);
}

function output(args: CliArgs, report: CheckReport): void {
  const text = args.format === 'json' ? renderJson(report) : args.format === 'sarif' ? renderSarif(report) : renderText(report);
  process.stdout.write(text);
}

/** Messages that are not the report go to stderr when the report is machine-readable. */
function say(args: CliArgs, line: string): void {
  (args.format === 'text' ? process.stdout : process.stderr).write(`${line}\n`);
}

// ------------------------------------------------------------------ file --

/** Reads the file as a stream, line by line: an incident-scale snapshot is never whole in memory. */
async function checkFile(args: CliArgs): Promise<number> {
  if (args.repair)
    throw new Fatal(`${args.target} is a snapshot file and cannot be repaired; run cluster-check against the live cluster's ws:// URL`);
  let analysis: SnapshotAnalysis;
  try {
    analysis = await analyseSnapshotFile(args.target);
  } catch (e) {
    throw new Fatal(`cannot read ${args.target}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`);
  }
  if (!analysis.model)
    throw new Fatal(`${args.target} is not a cluster snapshot: ${analysis.errors[0]?.message ?? 'nothing could be parsed'}`);
  const fileUri = pathToFileURL(resolve(args.target)).href;
  output(args, {
    target: args.target,
    findings: analysis.findings,
    syntaxErrors: analysis.errors,
    fileUri,
    documents: () => ({ uri: fileUri, index: analysis.lines }),
  });
  return analysis.findings.length || analysis.errors.length ? 1 : 0;
}

// ------------------------------------------------------------------ live --

function cliWorkspace(journal: string | undefined): ClusterWorkspace {
  const workspace = new ClusterWorkspace({
    connect: connectClusterClient,
    log: () => undefined,
    reconnect: false,
    catchUpMs: CATCH_UP_MS,
    journalSource: 'cli',
  });
  if (journal !== undefined) workspace.setJournal(new RepairJournal(resolve(journal)));
  return workspace;
}

async function checkLive(args: CliArgs): Promise<number> {
  const workspace = cliWorkspace(args.journal);
  try {
    let cluster;
    try {
      // --read-only holds in the engine too: its guard refuses any repair before it is sent.
      await workspace.connect({
        name: CLI_CLUSTER,
        url: args.target,
        token: args.token ?? '',
        protection: args.readOnly ? 'read-only' : 'none',
      });
      cluster = workspace.require(CLI_CLUSTER);
    } catch (e) {
      throw new Fatal(`cannot check ${args.target}: ${e instanceof ConnectError ? e.reason : errorText(e)}`);
    }
    const name = cluster.session.model?.status.clusterName || CLI_CLUSTER;
    let previews: PlanPreview[] | undefined;
    if (args.repair) {
      const plan = workspace.planAllSafe(cluster, args.repair);
      printPlan(args, cluster.checker.findings(), plan, cluster.session.model?.status);
      if (args.dryRun) {
        previews = previewPlan(cluster.session.model!, cluster.checker.findings(), plan, workspace.ruleSettings);
        for (const p of previews)
          say(
            args,
            `\n${renderPreviewText(p.preview, p.findingId ? [`finding ${p.findingId} · repair ${p.repairId}`] : ['every repair above, in order'])}`,
          );
        say(args, 'Dry run: nothing was sent.');
      } else if (!args.yes) {
        throw new Fatal('refusing to repair without --yes (or preview the plan with --dry-run)');
      } else if (workspace.planAllSafe(cluster, args.repair).length) {
        // The editor's "Run All Safe Repairs", limited to the rules asked for.
        const result = await workspace.applyAllSafe(CLI_CLUSTER, {
          rules: args.repair,
          repaired: (finding, _option, outcome) => {
            say(args, `${finding.id}: ${outcome.summary}`);
            for (const d of outcome.details.slice(0, 10)) say(args, `    ${d}`);
          },
        });
        // Refused before anything was sent (a read-only cluster): say why.
        if (!result.ok && result.applied === 0 && result.refused === 0) say(args, result.summary);
        const left = cluster.checker.findings().length;
        say(args, left ? `${plural(left, 'finding')} remain${left === 1 ? 's' : ''} after repair.` : 'All findings repaired.');
      }
    }
    const findings = cluster.checker.findings();
    const model = cluster.session.model!;
    if (args.save !== undefined) {
      try {
        const written = await writeSnapshotFile(model, resolve(args.save));
        say(args, `Saved a snapshot of ${name} to ${args.save}: ${plural(written.entities, 'entity', 'entities')}.`);
      } catch (e) {
        throw new Fatal(`cannot save the snapshot to ${args.save}: ${errorText(e)}`);
      }
    }
    output(args, {
      target: args.target,
      findings,
      syntaxErrors: [],
      subsystems: model.status.subsystems ?? {},
      readOnly: model.status.readOnly,
      previews,
      documents: cluster.checker.documents(model, name),
    });
    return findings.length ? 1 : 0;
  } finally {
    workspace.dispose();
  }
}

interface PlanPreview {
  /** Absent for the whole plan (several repairs, applied in order). */
  findingId?: string;
  repairId?: string;
  preview: RepairPreview;
}

/**
 * Each planned repair previewed on the model as it is (what the editor's Preview shows for it), and,
 * for more than one, the whole plan in order, as `--yes` would send its first round.
 */
function previewPlan(model: ClusterModel, before: Finding[], plan: PlannedRepair[], severities: RuleSettings): PlanPreview[] {
  const options = { severities, before };
  const out: PlanPreview[] = plan.map(({ finding, option }) => ({
    findingId: finding.id,
    repairId: option.id,
    preview: previewRepair(model, option, options),
  }));
  if (plan.length > 1) {
    const operations = plan.flatMap((p) => p.option.operations);
    out.push({
      preview: previewRepair(model, { title: `${plural(plan.length, 'safe repair')} together`, safety: 'safe', operations }, options),
    });
  }
  return out;
}

// ------------------------------------------------------------------ undo --

/**
 * Undoes a journalled repair on its cluster (the URL the journal recorded, or `--url`); without
 * `--journal`, one of the gateway's own journal at the URL (anyone's repair: the gateway's roles
 * decide). Exit 0 all undone, 1 some refused, 2 error.
 */
async function runUndo(args: UndoArgs): Promise<number> {
  if (args.journal === undefined) return runSharedUndo(args, args.url!);
  let read;
  try {
    read = await readJournal(resolve(args.journal));
  } catch (e) {
    throw new Fatal(errorText(e));
  }
  for (const p of read.problems) process.stderr.write(`cluster-check: warning: ${args.journal}: ${p}\n`);
  const plan = printUndo(args, read);
  if (!plan) return 0;
  const entry = plan.entry;
  const url = args.url ?? plan.url;
  if (!url) throw new Fatal(`the journal does not say where ${entry.cluster} is; give its URL with --url`);
  const workspace = cliWorkspace(args.journal);
  try {
    try {
      await workspace.connect({ name: entry.cluster, url, token: args.token ?? '' });
    } catch (e) {
      throw new Fatal(`cannot reach ${url}: ${e instanceof ConnectError ? e.reason : errorText(e)}`);
    }
    const result = await workspace.undoRepair({ id: entry.id });
    process.stdout.write(`${result.summary}\n`);
    for (const d of result.details) process.stdout.write(`    ${d}\n`);
    return result.ok ? 0 : 1;
  } finally {
    workspace.dispose();
  }
}

/** Prints what the undo will do; undefined after a dry run (nothing is sent). */
function printUndo(args: UndoArgs, read: JournalRead): ReturnType<typeof buildUndo> | undefined {
  let plan;
  try {
    plan = buildUndo(read.lines, args.id);
  } catch (e) {
    throw new Fatal(errorText(e));
  }
  const entry = plan.entry;
  const by = entry.user ? `, by ${entry.user}` : '';
  process.stdout.write(`Undo of ${entry.id} (${entry.at}, ${entry.cluster}${by}): ${entry.title}\n`);
  for (const op of plan.option.operations) process.stdout.write(`    ${describeOperation(op)}\n`);
  for (const s of plan.skipped) process.stdout.write(`    left alone: ${s}\n`);
  if (args.dryRun) {
    process.stdout.write('Dry run: nothing was sent.\n');
    return undefined;
  }
  if (!args.yes) throw new Fatal('refusing to undo without --yes (or preview it with --dry-run)');
  return plan;
}

/** `cluster-check undo URL`: from the gateway's own journal (`journal.read`), sent with the caller's token. */
async function runSharedUndo(args: UndoArgs, url: string): Promise<number> {
  const workspace = cliWorkspace(undefined);
  try {
    try {
      await workspace.connect({ name: CLI_CLUSTER, url, token: args.token ?? '' });
    } catch (e) {
      throw new Fatal(`cannot reach ${url}: ${e instanceof ConnectError ? e.reason : errorText(e)}`);
    }
    const session = workspace.require(CLI_CLUSTER).session;
    if (!servesJournal(session)) throw new Fatal(`${url} keeps no journal of its own (a gateway's "journal"); give --journal FILE`);
    let read;
    try {
      read = await readSharedJournal(session);
    } catch (e) {
      throw new Fatal(`cannot read the journal of ${url}: ${errorText(e)}`);
    }
    for (const p of read.problems) process.stderr.write(`cluster-check: warning: ${url}'s journal: ${p}\n`);
    const plan = printUndo(args, read);
    if (!plan) return 0;
    const result = await workspace.undoRepair({ id: plan.entry.id });
    process.stdout.write(`${result.summary}\n`);
    for (const d of result.details) process.stdout.write(`    ${d}\n`);
    return result.ok ? 0 : 1;
  } finally {
    workspace.dispose();
  }
}

/** Only safe repairs are applied from the command line; may-lose-data ones need the editor's confirmation. */
function printPlan(args: CliArgs, findings: Finding[], plan: PlannedRepair[], status: ClusterStatus | undefined): void {
  say(args, `Repair plan (only repairs marked safe are applied; repairs that may lose data are listed, not applied):`);
  for (const f of findings) {
    const chosen = plan.find((p) => p.finding === f);
    if (!chosen) {
      if (!args.repair!.includes(f.rule)) continue;
      // Each repair with why it is not applied here: it may lose data, or the cluster refuses it now (and the remedy).
      const why = f.repairs.map((r) => {
        const refusal = status && repairRefusal(status, r.operations);
        return `${r.title}: ${refusal ?? (r.safety === 'safe' ? 'safe' : 'may lose data')}`;
      });
      say(args, `  ${f.id}: no safe repair; left for the editor (${why.join('; ') || 'none'})`);
      continue;
    }
    const { option } = chosen;
    say(
      args,
      `  ${f.id}: ${option.title} [${option.safety}], ${plural(option.targetCount, 'target')}, ${option.undoable ? 'can be undone' : `cannot be undone (${option.undoNote})`}`,
    );
    const ops = option.operations;
    for (const op of ops.slice(0, 5)) say(args, `      ${describeOperation(op)}`);
    if (ops.length > 5) say(args, `      … ${plural(ops.length - 5, 'more batch', 'more batches')}`);
    for (const other of f.repairs.filter((r) => r !== option && r.safety !== 'safe'))
      say(args, `      not applied (may lose data): ${other.title}`);
  }
  if (!plan.length) say(args, '  nothing to repair');
}

// A reader that stops early (`cluster-check … | head`) closes stdout: not a crash. Stopping
// mid-repair is safe, as every batch is conditional and was complete when sent.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 1);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    const line = e instanceof UsageError || e instanceof Fatal ? e.message : `cluster-check failed: ${errorText(e)}`;
    process.stderr.write(`cluster-check: ${line.split('\n')[0]}\n`);
    process.exitCode = 2;
  },
);
