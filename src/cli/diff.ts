/**
 * `cluster-check diff A B`: what changed between two cluster states. A and B are
 * each a `.clustersnap` file or a live cluster's ws:// URL. The comparison itself
 * is `diffClusters` (src/analysis/diff.ts), where its semantics are stated.
 *
 * Exit codes, like diff(1): 0 no differences, 1 differences, 2 usage or
 * connection error (one line on stderr).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorText, plural, type Finding } from '../protocol';
import {
  diffClusters,
  hasDifferences,
  locateFinding,
  renderDiffText,
  type ClusterDiff,
  type ClusterModel,
  type DocumentsOf,
  type FieldChange,
} from '../analysis';
import { connectClusterClient } from '../engine/link';
import { analyseSnapshot } from '../engine/offline';
import { ClusterWorkspace } from '../engine/workspace';
import { ConnectError } from '../engine/cluster';
import { DIFF_USAGE, Fatal, type DiffArgs, type DiffSideArgs } from './args';
import { findingFields, renderSarif } from './report';

export const DIFF_HELP = `${DIFF_USAGE}

Compares two cluster states, A (before) and B (after); each is a .clustersnap file or a
live cluster's ws:// URL. Reports per collection the entities added, removed and changed
(changed fields old → new; an entity whose only change is its version is counted apart
and is not a difference), changes of the cluster's settings, and the findings that
appeared, were resolved or changed their count (by finding id, rule:group).

  --token T            token for a live side (default: CLUSTER_SIM_TOKEN)
  --token-a T, --token-b T   token for side A or B only (two clusters, two tokens)
  --format text|json|sarif   sarif: B's findings that are new since A
  --limit N            entities shown per kind and collection (default 20); counts are exact
  --all                every entity

Exit code: 0 no differences, 1 differences, 2 usage or connection error.`;

const CATCH_UP_MS = 30_000;

interface LoadedSide {
  label: string;
  model: ClusterModel;
  findings: Finding[];
  /** Where this side's findings and facts are: in the file, or in the cluster's documents. */
  documents: DocumentsOf;
}

function loadFile(side: DiffSideArgs, which: 'A' | 'B'): LoadedSide {
  let text: string;
  try {
    text = readFileSync(side.target, 'utf8');
  } catch (e) {
    throw new Fatal(`cannot read ${which} ${side.target}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`);
  }
  const analysis = analyseSnapshot(text);
  if (!analysis.model)
    throw new Fatal(`${side.target} is not a cluster snapshot: ${analysis.errors[0]?.message ?? 'nothing could be parsed'}`);
  if (analysis.errors.length) {
    process.stderr.write(
      `cluster-check: warning: ${which} ${side.target} has ${plural(analysis.errors.length, 'syntax error')}; the comparison covers the lines that parsed\n`,
    );
  }
  if (analysis.summarised.length) {
    const n = analysis.summarised.reduce((sum, g) => sum + g.count, 0);
    process.stderr.write(
      `cluster-check: warning: ${which} ${side.target} summarises ${plural(n, 'entity', 'entities')} as group lines (a saved view, not a full snapshot); they are not compared\n`,
    );
  }
  const fileUri = pathToFileURL(resolve(side.target)).href;
  return {
    label: side.target,
    model: analysis.model,
    findings: analysis.findings,
    documents: () => ({ uri: fileUri, index: analysis.lines }),
  };
}

async function loadLive(workspace: ClusterWorkspace, side: DiffSideArgs, name: string): Promise<LoadedSide> {
  let cluster;
  try {
    await workspace.connect({ name, url: side.target, token: side.token ?? '' });
    cluster = workspace.require(name);
  } catch (e) {
    throw new Fatal(`cannot read ${name.toUpperCase()} ${side.target}: ${e instanceof ConnectError ? e.reason : errorText(e)}`);
  }
  const model = cluster.session.model!;
  const clusterName = model.status.clusterName || name;
  return {
    label: side.target,
    model,
    findings: cluster.checker.findings(),
    documents: cluster.checker.documents(model, clusterName),
  };
}

export async function runDiff(args: DiffArgs): Promise<number> {
  const workspace = new ClusterWorkspace({ connect: connectClusterClient, log: () => undefined, reconnect: false, catchUpMs: CATCH_UP_MS });
  try {
    // One after the other: a live side is read (synced) completely before the next one.
    const a = args.a.live ? await loadLive(workspace, args.a, 'a') : loadFile(args.a, 'A');
    const b = args.b.live ? await loadLive(workspace, args.b, 'b') : loadFile(args.b, 'B');
    const diff = diffClusters(a, b, { limit: args.limit });
    const text =
      args.format === 'json'
        ? renderDiffJson(diff, a, b)
        : args.format === 'sarif'
          ? renderSarif({ target: b.label, findings: diff.findings.appeared, syntaxErrors: [], documents: b.documents })
          : renderDiffText(diff, a.model.status, b.model.status, { labels: [a.label, b.label], moreHint: '(--all shows every one)' });
    process.stdout.write(text);
    return diff.identical ? 0 : 1;
  } finally {
    workspace.dispose();
  }
}

const fieldsObject = (fields: FieldChange[]) => Object.fromEntries(fields.map((f) => [f.field, { from: f.from, to: f.to }]));

/** JSON: counts for every collection with a difference, the entities up to the limit, and every findings change. */
export function renderDiffJson(diff: ClusterDiff, a: LoadedSide, b: LoadedSide): string {
  const side = (s: LoadedSide) => ({
    target: s.label,
    cluster: s.model.status.clusterName,
    scenario: s.model.status.scenario,
    time: s.model.status.time,
    seq: s.model.status.seq,
  });
  const finding = (f: Finding, s: LoadedSide) => ({ ...findingFields(f), location: locateFinding(f, s.documents) });
  const collections = Object.fromEntries(
    diff.collections.filter(hasDifferences).map((d) => [
      d.collection,
      {
        added: d.added,
        removed: d.removed,
        changed: d.changed,
        versionOnly: d.versionOnly,
        unchanged: d.unchanged,
        truncated:
          d.samples.added.length < d.added ||
          d.samples.removed.length < d.removed ||
          d.samples.changed.length < d.changed ||
          d.samples.versionOnly.length < d.versionOnly,
        entities: {
          added: d.samples.added,
          removed: d.samples.removed,
          changed: d.samples.changed.map((c) => ({
            key: c.key,
            fromVersion: c.fromVersion,
            toVersion: c.toVersion,
            fields: fieldsObject(c.fields),
          })),
          versionOnly: d.samples.versionOnly,
        },
      },
    ]),
  );
  return (
    JSON.stringify(
      {
        a: side(a),
        b: side(b),
        identical: diff.identical,
        limit: Number.isFinite(diff.limit) ? diff.limit : null,
        totals: diff.totals,
        status: fieldsObject(diff.status),
        collections,
        findings: {
          appeared: diff.findings.appeared.map((f) => finding(f, b)),
          resolved: diff.findings.resolved.map((f) => finding(f, a)),
          changed: diff.findings.changed.map((c) => ({ id: c.id, rule: c.rule, from: c.from, to: c.to })),
        },
      },
      null,
      2,
    ) + '\n'
  );
}
