/**
 * Copy on a tree row (Ctrl+C / Cmd+C in a Cluster Debugger view, or the row's context menu): the
 * selected rows as they are shown, label and description, one per line, so a finding, an entity's
 * key or a repair can be pasted into a ticket or a chat.
 */
import { env, window, type TreeItem, type TreeView } from 'vscode';
import type { Subsystem } from '../../protocol/collections';
import type { Ctx } from '../ctx';

type ViewKey = Subsystem | 'clusters' | 'stuck' | 'history';

interface CopyTarget {
  view: TreeView<unknown>;
  item: (el: unknown) => TreeItem | Thenable<TreeItem>;
}

function targets(ctx: Ctx): Map<ViewKey, CopyTarget> {
  const out = new Map<ViewKey, CopyTarget>();
  const add = (key: ViewKey, view: TreeView<unknown> | undefined, item: CopyTarget['item']) => {
    if (view) out.set(key, { view, item });
  };
  for (const s of Object.keys(ctx.trees) as Subsystem[])
    add(s, ctx.view(s) as TreeView<unknown> | undefined, (el) => ctx.trees[s].getTreeItem(el as never));
  add('clusters', ctx.view('clusters') as TreeView<unknown> | undefined, (el) => ctx.clustersTree.getTreeItem(el as never));
  add('stuck', ctx.view('stuck') as TreeView<unknown> | undefined, (el) => ctx.stuckTree.getTreeItem(el as never));
  add('history', ctx.historyView, (el) => ctx.historyTree.getTreeItem(el as never));
  return out;
}

/** A row as its view shows it: the label, then the description after " · " (no icon, no tooltip). */
export function rowText(item: Pick<TreeItem, 'label' | 'description'>): string {
  const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
  return typeof item.description === 'string' && item.description ? `${label} · ${item.description}` : label;
}

/**
 * `clusterDebugger.copy`: `arg` is `{ view }` from the view's keybinding, or the row's element from its
 * context menu (then the view whose selection holds it). Copies every selected row of that view.
 */
export async function copyTreeRows(ctx: Ctx, arg: unknown): Promise<string | undefined> {
  const all = targets(ctx);
  const named = typeof arg === 'object' && arg !== null && 'view' in arg ? all.get((arg as { view: ViewKey }).view) : undefined;
  const target = named ?? [...all.values()].find((t) => t.view.selection.includes(arg));
  const rows = target ? (target.view.selection.length ? target.view.selection : arg !== undefined && !named ? [arg] : []) : [];
  if (!target || rows.length === 0) {
    void window.showInformationMessage('Select a row of a Cluster Debugger view to copy it.');
    return undefined;
  }
  const text = (await Promise.all(rows.map(async (el) => rowText(await target.item(el))))).join('\n');
  await env.clipboard.writeText(text);
  return text;
}
