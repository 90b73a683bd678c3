/**
 * `Cluster: Compare Snapshots…`: two cluster states side by side in VS Code's diff editor, and
 * what changed between them (entities and findings) as a report.
 *
 * Each side is a `.clustersnap` file (a workspace file, or the open editor's) or a connected
 * cluster, whose live state is rendered as a snapshot (`clusterDebugger/snapshot`) and shown as a
 * read-only `cluster-compare:` document. The comparison itself, which needs the checks, is the
 * language server's `clusterDebugger/compare`; its one-line summary is shown in a notification
 * and written to the log, and its report opens as a read-only document beside the diff
 * ("Open Report"). Called with `{ a, b }` (each a file path, a URI string, `{ uri }` or
 * `{ cluster }`) it asks nothing: for tests, links and other extensions.
 */
import { EventEmitter, Uri, ViewColumn, commands, window, workspace, type Disposable, type TextDocumentContentProvider } from 'vscode';
import type { CompareResult } from '../../protocol/lsp';
import { SNAPSHOT_EXTENSION } from '../../protocol/uri';
import type { Ctx } from '../ctx';

export const COMPARE_SCHEME = 'cluster-compare';

export type CompareSideArg = string | { uri: string | Uri } | { cluster: string };
export interface CompareArgs {
  a: CompareSideArg;
  b: CompareSideArg;
}

export interface CompareOutcome extends CompareResult {
  /** The two documents in the diff editor, A (left) then B (right). */
  left: Uri;
  right: Uri;
  /** The read-only report document. */
  reportUri: Uri;
}

/** The texts of live clusters' snapshots and of reports, by path; kept while the window lives (small in number). */
class CompareDocuments implements TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly changed = new EventEmitter<Uri>();
  readonly onDidChange = this.changed.event;
  private n = 0;

  add(name: string, text: string): Uri {
    const uri = Uri.from({ scheme: COMPARE_SCHEME, path: `/${++this.n}/${name}` });
    this.texts.set(uri.path, text);
    return uri;
  }

  provideTextDocumentContent(uri: Uri): string {
    return this.texts.get(uri.path) ?? '# This comparison is no longer available: run Cluster: Compare Snapshots… again.\n';
  }
}

let documents: CompareDocuments | undefined;

export function registerCompareDocuments(): Disposable {
  documents = new CompareDocuments();
  return workspace.registerTextDocumentContentProvider(COMPARE_SCHEME, documents);
}

interface ResolvedSide {
  label: string;
  uri: Uri;
  text: string;
}

async function resolveSide(ctx: Ctx, side: CompareSideArg): Promise<ResolvedSide> {
  if (typeof side === 'object' && 'cluster' in side) {
    const text = await ctx.requireApi().snapshot(side.cluster);
    return { label: `${side.cluster} (live)`, uri: documents!.add(`${side.cluster} (live)${SNAPSHOT_EXTENSION}`, text), text };
  }
  const given = typeof side === 'string' ? side : side.uri;
  const uri =
    typeof given !== 'string'
      ? given
      : /^[a-z][a-z0-9+.-]+:/i.test(given) && !/^[a-z]:[\\/]/i.test(given)
        ? Uri.parse(given)
        : Uri.file(given);
  // The document's text when it is open (unsaved edits included), else the file's.
  const open = workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  const text = open ? open.getText() : Buffer.from(await workspace.fs.readFile(uri)).toString('utf8');
  return { label: workspace.asRelativePath(uri), uri, text };
}

interface SidePick {
  label: string;
  description?: string;
  side: CompareSideArg;
}

async function pickSide(ctx: Ctx, title: string, exclude?: CompareSideArg): Promise<CompareSideArg | undefined> {
  const items: SidePick[] = [];
  const active = window.activeTextEditor?.document;
  const isSnapshot = (u: Uri) => u.path.endsWith(SNAPSHOT_EXTENSION);
  if (active && isSnapshot(active.uri) && active.uri.scheme === 'file')
    items.push({ label: `$(file) ${workspace.asRelativePath(active.uri)}`, description: 'open editor', side: { uri: active.uri } });
  for (const c of ctx.clusters)
    items.push({ label: `$(plug) ${c.name}`, description: `live cluster · ${c.state}`, side: { cluster: c.name } });
  const files = await workspace.findFiles(`**/*${SNAPSHOT_EXTENSION}`, '**/node_modules/**', 500);
  for (const f of files.sort((x, y) => x.path.localeCompare(y.path))) {
    if (active && f.toString() === active.uri.toString()) continue;
    items.push({ label: `$(file) ${workspace.asRelativePath(f)}`, side: { uri: f } });
  }
  items.push({ label: '$(folder-opened) Choose a file…', side: '' });
  const same = (s: CompareSideArg) => JSON.stringify(s) === JSON.stringify(exclude);
  const picked = await window.showQuickPick(
    items.filter((i) => !exclude || !same(i.side)),
    { title, placeHolder: 'A .clustersnap file or a connected cluster' },
  );
  if (!picked) return undefined;
  if (picked.side !== '') return picked.side;
  const chosen = await window.showOpenDialog({
    title,
    canSelectMany: false,
    filters: { 'Cluster snapshot': [SNAPSHOT_EXTENSION.slice(1)] },
  });
  return chosen?.[0] ? { uri: chosen[0] } : undefined;
}

export async function compareSnapshots(ctx: Ctx, args: Partial<CompareArgs> | undefined): Promise<CompareOutcome | undefined> {
  const aArg = args?.a ?? (await pickSide(ctx, 'Compare Snapshots: A (before)'));
  if (aArg === undefined) return undefined;
  const bArg = args?.b ?? (await pickSide(ctx, 'Compare Snapshots: B (after)', aArg));
  if (bArg === undefined) return undefined;
  const [a, b] = [await resolveSide(ctx, aArg), await resolveSide(ctx, bArg)];
  const result = await ctx.requireApi().compare({ a: { label: a.label, text: a.text }, b: { label: b.label, text: b.text } });
  await commands.executeCommand('vscode.diff', a.uri, b.uri, `${a.label} ↔ ${b.label}`, { preview: true });
  const reportUri = documents!.add(`Compare ${a.label} ↔ ${b.label}.txt`.replace(/[/\\]/g, '∕'), result.report);
  ctx.log.info(`Compared ${a.label} → ${b.label}: ${result.summary}.`);
  const f = result.findings;
  const headline = result.identical
    ? `${a.label} and ${b.label}: no differences.`
    : `${a.label} → ${b.label}: findings ${f.appeared.length} appeared, ${f.resolved.length} resolved, ${f.changed.length} changed; ${result.summary.split(';')[0]}.`;
  void window.showInformationMessage(headline, 'Open Report').then((action) => {
    if (action) void window.showTextDocument(reportUri, { viewColumn: ViewColumn.Beside, preview: true });
  });
  return { ...result, left: a.uri, right: b.uri, reportUri };
}
