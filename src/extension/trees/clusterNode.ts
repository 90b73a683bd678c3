import { MarkdownString, ThemeColor, ThemeIcon, TreeItem, TreeItemCollapsibleState } from 'vscode';
import { SUBSYSTEM_TITLES } from '../../protocol/collections';
import { plural } from '../../protocol/format';
import type { ConnectionState } from '../../protocol/lsp';
import { ClusterElement, ContextValues, SubsystemElement } from './elements';
import { healthIcon } from './health';
import { documentUri } from '../documents';

const STATE_ICONS: Record<ConnectionState, ThemeIcon> = {
  connecting: new ThemeIcon('sync~spin'),
  syncing: new ThemeIcon('sync~spin'),
  live: new ThemeIcon('pulse', new ThemeColor('testing.iconPassed')),
  stale: new ThemeIcon('warning', new ThemeColor('list.warningForeground')),
  disconnected: new ThemeIcon('debug-disconnect', new ThemeColor('disabledForeground')),
};

export function clusterTreeItem(el: ClusterElement): TreeItem {
  const c = el.info;
  const item = new TreeItem(c.name, TreeItemCollapsibleState.Expanded);
  item.id = `c:${c.name}`;
  const counts = c.errors || c.warnings ? ` · ${plural(c.errors, 'error')}, ${plural(c.warnings, 'warning')}` : '';
  item.description = `${c.state}${counts}`;
  item.iconPath = c.error && c.state !== 'live' ? new ThemeIcon('error', new ThemeColor('problemsErrorIcon.foreground')) : STATE_ICONS[c.state];
  const md = new MarkdownString(undefined, true);
  md.appendMarkdown(`**${c.name}**${el.simulator ? ' (bundled simulator)' : ''}\n\n`);
  md.appendMarkdown(`\`${c.url}\` — ${c.state}\n\n`);
  if (c.status) md.appendMarkdown(`Scenario \`${c.status.scenario}\`, seed ${c.status.seed}, logical time ${c.status.time} s\n\n`);
  if (c.error) md.appendMarkdown(`$(error) ${c.error}`);
  item.tooltip = md;
  item.contextValue = ContextValues.of('cluster', { simulator: el.simulator, connected: c.state !== 'disconnected' });
  return item;
}

export function subsystemTreeItem(el: SubsystemElement): TreeItem {
  const problems = el.cluster.info.problems[el.subsystem] ?? 0;
  const item = new TreeItem(SUBSYSTEM_TITLES[el.subsystem], TreeItemCollapsibleState.None);
  item.id = `c:${el.cluster.info.name}/${el.subsystem}`;
  item.description = problems ? plural(problems, 'problem') : 'no problems';
  const stale = el.cluster.info.state !== 'live';
  item.iconPath = healthIcon(stale ? 'stale' : problems ? 'error' : 'ok', 'file-code', 'file-code');
  item.tooltip = `Open ${documentUri(el.cluster.info.name, el.subsystem).toString()}`;
  item.contextValue = ContextValues.of('subsystem', {});
  item.command = {
    command: 'vscode.open',
    title: 'Open document',
    arguments: [documentUri(el.cluster.info.name, el.subsystem)],
  };
  return item;
}
