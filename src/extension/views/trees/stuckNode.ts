/** A step of a stuck item's chain as a tree item: the item shows its age and what it waits on; a step with a repair offers it. */
import { MarkdownString, ThemeColor, ThemeIcon, TreeItem, TreeItemCollapsibleState } from 'vscode';
import { ageText, chainText, sinceText, stepText } from '../../../protocol/stuck';
import { ContextValues, StuckElement } from './elements';

export function stuckTreeItem(el: StuckElement): TreeItem {
  const { item, step } = el;
  const s = item.chain[step]!;
  const next = item.chain[step + 1];
  const label = step === 0 && el.showCluster ? `${el.cluster}: ${stepText(s)}` : stepText(s);
  // The item starts collapsed (the view lists many); once opened, the rest of its chain shows at once.
  const state = !next ? TreeItemCollapsibleState.None : step === 0 ? TreeItemCollapsibleState.Collapsed : TreeItemCollapsibleState.Expanded;
  const tree = new TreeItem(label, state);
  tree.id = `k:${el.cluster}:${item.id}:${step}`;
  const waits = next ? `waits on ${stepText(next)}` : s.detail;
  tree.description = step === 0 ? `${ageText(item)} · ${waits}` : waits;
  const md = new MarkdownString();
  md.appendMarkdown(`**${step === 0 ? `Stuck for ${ageText(item)}` : 'Waited on'}**\n\n`);
  md.appendCodeblock(chainText(item.chain.slice(step)), 'text');
  const since = sinceText(s, el.clock);
  md.appendText(`\n${s.detail}${since ? ` (${since})` : ''}\n`);
  if (s.repair) md.appendText(`\nRepair: ${s.repair.title} (${s.repair.safety === 'safe' ? 'safe' : 'may lose data'})\n`);
  tree.tooltip = md;
  const color = new ThemeColor(step === 0 ? 'list.warningForeground' : 'descriptionForeground');
  tree.iconPath = s.repair
    ? new ThemeIcon('wrench', new ThemeColor('list.warningForeground'))
    : new ThemeIcon(step === 0 ? 'watch' : 'debug-pause', color);
  tree.contextValue = ContextValues.of('stuck', { fixable: s.repair !== undefined });
  return tree;
}
