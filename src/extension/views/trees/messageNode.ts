import { MarkdownString, TreeItem, TreeItemCollapsibleState } from 'vscode';
import { errorText } from '../../../protocol/format';
import { ContextValues, MessageElement } from './elements';
import { healthIcon } from './health';

export function messageElement(
  parent: MessageElement['parent'],
  severity: MessageElement['severity'],
  label: string,
  detail?: string,
): MessageElement {
  const parentId = parent === undefined ? 'root' : parent.type === 'server' ? parent.node.id : parent.info.name;
  return { type: 'message', id: `m:${parentId}:${severity}`, label, detail, severity, parent };
}

export function errorElement(parent: MessageElement['parent'], what: string, err: unknown): MessageElement {
  const message = errorText(err);
  return messageElement(parent, 'error', `${what}: ${message.split('\n')[0]}`, message);
}

export function messageTreeItem(el: MessageElement): TreeItem {
  const item = new TreeItem(el.label, TreeItemCollapsibleState.None);
  item.id = el.id;
  item.iconPath = healthIcon(el.severity === 'error' ? 'error' : 'none', el.severity === 'error' ? 'error' : 'info', 'info');
  if (el.detail) item.tooltip = new MarkdownString().appendCodeblock(el.detail, 'text');
  item.contextValue = ContextValues.of('message', { error: el.severity === 'error' });
  if (el.severity === 'error') item.command = { command: 'clusterDebugger.showLog', title: 'Show Log' };
  return item;
}
