/**
 * The Repair History view: the repair journal as a tree, repairs newest first,
 * then their batches (each with its result, and whether it can be undone).
 * Read from the language server (`clusterDebugger/repairHistory`), which reads
 * and validates the journal file; an unreadable line is shown, never thrown.
 */
import { EventEmitter, MarkdownString, ThemeColor, ThemeIcon, TreeItem, TreeItemCollapsibleState, type TreeDataProvider } from 'vscode';
import { errorText } from '../../../protocol/format';
import type { RepairHistoryEntry } from '../../../protocol/journal';
import type { RepairHistoryResult } from '../../../protocol/lsp';

type Batch = RepairHistoryEntry['batches'][number];
export type HistoryElement =
  | { type: 'run'; entries: RepairHistoryEntry[] }
  | { type: 'repair'; entry: RepairHistoryEntry }
  | { type: 'batch'; entry: RepairHistoryEntry; batch: Batch }
  | { type: 'message'; label: string; detail?: string; error: boolean };

const BATCH_ICONS: Record<Batch['state'], [string, string | undefined]> = {
  applied: ['pass', 'testing.iconPassed'],
  'partly-applied': ['warning', 'list.warningForeground'],
  refused: ['circle-slash', 'list.warningForeground'],
  unchanged: ['circle-outline', undefined],
  'not-sent': ['debug-step-over', undefined],
  unknown: ['question', 'list.errorForeground'],
};

export class RepairHistoryProvider implements TreeDataProvider<HistoryElement> {
  private readonly changed = new EventEmitter<HistoryElement | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly load: () => Promise<RepairHistoryResult | string>) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  dispose(): void {
    this.changed.dispose();
  }

  async getChildren(el?: HistoryElement): Promise<HistoryElement[]> {
    if (el?.type === 'run') return el.entries.map((entry) => ({ type: 'repair', entry }));
    if (el?.type === 'repair') return el.entry.batches.map((batch) => ({ type: 'batch', entry: el.entry, batch }));
    if (el) return [];
    let history: RepairHistoryResult | string;
    try {
      history = await this.load();
    } catch (e) {
      return [{ type: 'message', label: `Cannot read the repair journal: ${errorText(e)}`, error: true }];
    }
    if (typeof history === 'string') return [{ type: 'message', label: history, error: false }];
    // Off, unless a team gateway's own journal lists repairs (the server merges them in).
    if (history.path === null && !history.entries.length && !history.problems.length)
      return [{ type: 'message', label: 'Repairs are not journalled (clusterDebugger.repairJournal is "off")', error: false }];
    const out: HistoryElement[] = history.problems.map((p) => ({
      type: 'message',
      label: p,
      detail: history.path ?? undefined,
      error: true,
    }));
    if (!history.entries.length) out.push({ type: 'message', label: 'No repair yet', detail: history.path ?? undefined, error: false });
    return [...out, ...byRun(history.entries)];
  }

  getTreeItem(el: HistoryElement): TreeItem {
    if (el.type === 'message') {
      const item = new TreeItem(el.label, TreeItemCollapsibleState.None);
      item.iconPath = new ThemeIcon(el.error ? 'error' : 'info');
      if (el.detail) item.tooltip = el.detail;
      item.contextValue = 'clusterDebugger.history.message';
      return item;
    }
    if (el.type === 'batch') {
      const { batch } = el;
      const item = new TreeItem(`${batch.command} ×${batch.targets}`, TreeItemCollapsibleState.None);
      item.id = `${el.entry.id}#${batch.batch}`;
      item.description = `batch ${batch.batch + 1}: ${batch.state}`;
      item.tooltip = batch.summary;
      const [icon, color] = BATCH_ICONS[batch.state];
      item.iconPath = new ThemeIcon(icon, color ? new ThemeColor(color) : undefined);
      item.contextValue = 'clusterDebugger.history.batch';
      return item;
    }
    if (el.type === 'run') return runItem(el.entries);
    const { entry } = el;
    const item = new TreeItem(entry.undoOf ? `↶ ${entry.title}` : entry.title, TreeItemCollapsibleState.Collapsed);
    item.id = entry.id;
    const state = entry.undoneBy ? 'undone' : entry.undoable ? 'undoable' : 'not undoable';
    // A team gateway's journal says who made it.
    item.description = `${entry.cluster}${entry.user ? ` · ${entry.user}` : ''} · ${entry.at.replace('T', ' ').slice(0, 19)} · ${state}`;
    const undo = entry.undoneBy
      ? `Undone by ${entry.undoneBy}.`
      : entry.undoable
        ? 'Can be undone.'
        : `Cannot be undone: ${entry.undoNote}`;
    item.tooltip = new MarkdownString()
      .appendMarkdown(
        `**${entry.title}** (${entry.safety}) on \`${entry.cluster}\`, from the ${entry.source}${entry.user ? `, by ${entry.user}` : ''}\n\n`,
      )
      .appendText(`${entry.findingId}\n${entry.summary}\n${undo}\nid ${entry.id}`);
    item.iconPath = new ThemeIcon(entry.finished ? (entry.undoOf ? 'discard' : 'tools') : 'warning');
    item.contextValue = `clusterDebugger.history.repair${entry.undoable ? '.undoable' : ''}`;
    return item;
  }
}

/**
 * The history's rows: a Repair All run is one row (where its newest repair would be), its repairs
 * under it; a run of one repair, and every other repair, is a row of its own.
 */
export function byRun(entries: readonly RepairHistoryEntry[]): HistoryElement[] {
  const runs = new Map<string, RepairHistoryEntry[]>();
  for (const e of entries) if (e.run) runs.set(e.run, [...(runs.get(e.run) ?? []), e]);
  const out: HistoryElement[] = [];
  for (const e of entries) {
    const run = e.run ? runs.get(e.run)! : undefined;
    if (!run || run.length === 1) out.push({ type: 'repair', entry: e });
    else if (run[0] === e) out.push({ type: 'run', entries: run });
  }
  return out;
}

function runItem(entries: readonly RepairHistoryEntry[]): TreeItem {
  const newest = entries[0]!;
  const item = new TreeItem(`Run All Safe Repairs: ${entries.length} repairs`, TreeItemCollapsibleState.Collapsed);
  item.id = `run:${newest.run}`;
  const undoable = entries.filter((e) => e.undoable).length;
  item.description = `${newest.cluster} · ${newest.at.replace('T', ' ').slice(0, 19)} · ${undoable} of ${entries.length} undoable`;
  item.tooltip = new MarkdownString()
    .appendMarkdown(`**Run All Safe Repairs** on \`${newest.cluster}\`\n\n`)
    .appendText(entries.map((e) => `${e.title}: ${e.summary}`).join('\n'));
  item.iconPath = new ThemeIcon('run-all');
  item.contextValue = 'clusterDebugger.history.run';
  return item;
}
