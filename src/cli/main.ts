/**
 * `cluster-check`: the engine headless, for scripts and CI.
 *
 *   cluster-check <ws-url | file.clustersnap> [--token T] [--format text|json|sarif]
 *                 [--repair RULE|all] [--dry-run] [--yes] [--read-only]
 *   cluster-check diff <A> <B> [--token T] [--token-a T] [--token-b T]
 *                 [--format text|json|sarif] [--limit N | --all]      (src/cli/diff.ts)
 *
 * Exit codes: 0 no findings (diff: no differences), 1 findings remain (diff:
 * differences), 2 usage or connection error (one line on stderr).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorText, plural, type Finding, type RepairPreview } from '../protocol';
import { previewRepair, renderPreviewText, type ClusterModel } from '../analysis';
import type { RuleSettings } from '../engine/checker';
import { connectClusterClient } from '../engine/link';
import { analyseSnapshotFile, type SnapshotAnalysis } from '../engine/offline';
import { describeOperation } from '../engine/repairs';
import { ClusterWorkspace, ConnectError, type PlannedRepair } from '../engine/workspace';
import { Fatal, USAGE, UsageError, parseArgs, parseDiffArgs, type CliArgs } from './args';
import { DIFF_HELP, runDiff } from './diff';
import { renderJson, renderSarif, renderText, type CheckReport } from './report';

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
  const parsed = parseArgs(argv, process.env);
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
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
  if (args.repair) throw new Fatal(`${args.target} is a snapshot file and cannot be repaired; run cluster-check against the live cluster's ws:// URL`);
  let analysis: SnapshotAnalysis;
  try {
    analysis = await analyseSnapshotFile(args.target);
  } catch (e) {
    throw new Fatal(`cannot read ${args.target}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`);
  }
  if (!analysis.model) throw new Fatal(`${args.target} is not a cluster snapshot: ${analysis.errors[0]?.message ?? 'nothing could be parsed'}`);
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

async function checkLive(args: CliArgs): Promise<number> {
  const workspace = new ClusterWorkspace({ connect: connectClusterClient, log: () => undefined, reconnect: false, catchUpMs: CATCH_UP_MS });
  try {
    let cluster;
    try {
      // --read-only holds in the engine too: its guard refuses any repair before it is sent.
      await workspace.connect({ name: CLI_CLUSTER, url: args.target, token: args.token ?? '', protection: args.readOnly ? 'read-only' : 'none' });
      cluster = workspace.require(CLI_CLUSTER);
    } catch (e) {
      throw new Fatal(`cannot check ${args.target}: ${e instanceof ConnectError ? e.reason : errorText(e)}`);
    }
    const name = cluster.session.model?.status.clusterName || CLI_CLUSTER;
    let previews: PlanPreview[] | undefined;
    if (args.repair) {
      const plan = workspace.planAllSafe(cluster, args.repair);
      printPlan(args, cluster.checker.findings(), plan);
      if (args.dryRun) {
        previews = previewPlan(cluster.session.model!, cluster.checker.findings(), plan, workspace.ruleSettings);
        for (const p of previews) say(args, `\n${renderPreviewText(p.preview, p.findingId ? [`finding ${p.findingId} · repair ${p.repairId}`] : ['every repair above, in order'])}`);
        say(args, 'Dry run: nothing was sent.');
      } else if (!args.yes) {
        throw new Fatal('refusing to repair without --yes (or preview the plan with --dry-run)');
      } else if (workspace.planAllSafe(cluster, args.repair).length) {
        // The editor's "Repair All Safe Findings", limited to the rules asked for.
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
  const out: PlanPreview[] = plan.map(({ finding, option }) => ({ findingId: finding.id, repairId: option.id, preview: previewRepair(model, option, options) }));
  if (plan.length > 1) {
    const operations = plan.flatMap((p) => p.option.operations);
    out.push({ preview: previewRepair(model, { title: `${plural(plan.length, 'safe repair')} together`, safety: 'safe', operations }, options) });
  }
  return out;
}

/** Only safe repairs are applied from the command line; may-lose-data ones need the editor's confirmation. */
function printPlan(args: CliArgs, findings: Finding[], plan: PlannedRepair[]): void {
  say(args, `Repair plan (only repairs marked safe are applied; repairs that may lose data are listed, not applied):`);
  for (const f of findings) {
    const chosen = plan.find((p) => p.finding === f);
    if (!chosen) {
      if (args.repair!.includes(f.rule)) say(args, `  ${f.id}: no safe repair; left for the editor (${f.repairs.map((r) => r.title).join('; ') || 'none'})`);
      continue;
    }
    const { option } = chosen;
    say(args, `  ${f.id}: ${option.title} [${option.safety}], ${plural(option.targetCount, 'target')}`);
    const ops = option.operations;
    for (const op of ops.slice(0, 5)) say(args, `      ${describeOperation(op)}`);
    if (ops.length > 5) say(args, `      … ${plural(ops.length - 5, 'more batch', 'more batches')}`);
    for (const other of f.repairs.filter((r) => r !== option && r.safety !== 'safe')) say(args, `      not applied (may lose data): ${other.title}`);
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
