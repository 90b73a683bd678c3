import { MarkdownString, TreeItem, TreeItemCollapsibleState } from 'vscode';
import { ContextValues, ServerElement } from './elements';
import { healthIcon } from './health';

const KIND_ICONS = {
  cluster: 'server-environment',
  group: 'folder',
  entity: 'symbol-field',
  loadMore: 'ellipsis',
  message: 'info',
} as const;

export function serverTreeItem(el: ServerElement): TreeItem {
  const n = el.node;
  const item = new TreeItem(n.label, n.hasChildren ? TreeItemCollapsibleState.Collapsed : TreeItemCollapsibleState.None);
  // The view's id namespace is shared with the extension's own message nodes, hence the prefix.
  item.id = `s:${n.id}`;
  item.description = n.description;
  if (n.tooltip) item.tooltip = new MarkdownString(n.tooltip);
  item.iconPath = healthIcon(n.health, n.icon, KIND_ICONS[n.kind]);
  item.contextValue = ContextValues.of(n.kind, {
    repairable: (n.findingIds?.length ?? 0) > 0,
    located: n.location !== undefined,
    hasEntity: n.entity !== undefined,
  });
  if (n.kind === 'loadMore') {
    item.label = n.label || 'Load more…';
    item.command = { command: 'clusterDebugger.loadMore', title: 'Load more', arguments: [el] };
  } else if (n.location && !n.hasChildren) {
    item.command = { command: 'clusterDebugger.showInDocument', title: 'Show in document', arguments: [el] };
  }
  return item;
}
