import { MarkdownString, ThemeColor, ThemeIcon, TreeItem, TreeItemCollapsibleState } from 'vscode';
import { SUBSYSTEM_TITLES } from '../../../protocol/collections';
import { plural } from '../../../protocol/format';
import type { ConnectionState } from '../../../protocol/lsp';
import type { Role } from '../../../protocol/methods';
import { effectiveProtection } from '../../../protocol/preview';
import { ruleNotes } from '../../../protocol/readiness';
import { PROTECTION_LABELS } from '../status';
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

/** What each gateway role may do, as the Clusters view's tooltip says it. */
const ROLE_ABILITIES: Record<Role, string> = {
  viewer: 'can read and preview, not repair',
  operator: 'can read, preview, repair and undo',
};

/** When a cluster last synced, on this machine's clock: "14:03:07" (today) or with the date. */
export function syncedTime(iso: string, now: Date = new Date()): string {
  const at = new Date(iso);
  return at.toDateString() === now.toDateString() ? at.toLocaleTimeString() : at.toLocaleString();
}

export function clusterTreeItem(el: ClusterElement): TreeItem {
  const c = el.info;
  const item = new TreeItem(c.name, TreeItemCollapsibleState.Expanded);
  item.id = `c:${c.name}`;
  const counts = c.errors || c.warnings ? ` · ${plural(c.errors, 'error')}, ${plural(c.warnings, 'warning')}` : '';
  const protection = effectiveProtection(c);
  const readOnly = protection === 'read-only';
  const caller = c.caller ? ` · ${c.caller.user} (${c.caller.role})` : '';
  item.description = `${c.state}${protection === 'none' ? '' : ` · ${protection}`}${counts}${caller}`;
  item.iconPath =
    c.error && c.state !== 'live'
      ? new ThemeIcon('error', new ThemeColor('problemsErrorIcon.foreground'))
      : readOnly && c.state === 'live'
        ? new ThemeIcon('lock', new ThemeColor('testing.iconPassed'))
        : STATE_ICONS[c.state];
  const md = new MarkdownString(undefined, true);
  md.appendMarkdown(
    `**${c.name}**${el.simulator ? ' (bundled simulator)' : el.gateway ? ' (gateway started from this workspace)' : ''}\n\n`,
  );
  md.appendMarkdown(`\`${c.url}\` — ${c.state}${c.syncedAt ? `, last synced ${syncedTime(c.syncedAt)}` : ''}\n\n`);
  if (c.caller) {
    md.appendMarkdown(c.caller.role === 'viewer' ? '$(lock) ' : '$(account) ');
    md.appendText(`Signed in as ${c.caller.user}, role ${c.caller.role}: ${ROLE_ABILITIES[c.caller.role]}.`);
    md.appendMarkdown('\n\n');
  }
  if (c.status?.readOnly) md.appendMarkdown('$(lock) Read-only: the cluster refuses every repair, so none is offered as runnable.\n\n');
  // The level as set: a viewer's read-only is said above, and the setting is not why.
  else if (c.protection !== 'none')
    md.appendMarkdown(
      `${PROTECTION_LABELS[c.protection].icon} Protection ${PROTECTION_LABELS[c.protection].text} (\`clusterDebugger.clusters\`).\n\n`,
    );
  if (c.status?.scenario === 'gateway') md.appendMarkdown(`Gateway \`${c.status.clusterName}\`\n\n`);
  else if (c.status) md.appendMarkdown(`Scenario \`${c.status.scenario}\`, seed ${c.status.seed}, logical time ${c.status.time} s\n\n`);
  if (c.error) md.appendMarkdown(`$(error) ${c.error}`);
  item.tooltip = md;
  item.contextValue = ContextValues.of('cluster', { simulator: el.simulator, gateway: el.gateway, connected: c.state !== 'disconnected' });
  return item;
}

export function subsystemTreeItem(el: SubsystemElement): TreeItem {
  const problems = el.cluster.info.problems[el.subsystem] ?? 0;
  const item = new TreeItem(SUBSYSTEM_TITLES[el.subsystem], TreeItemCollapsibleState.None);
  item.id = `c:${el.cluster.info.name}/${el.subsystem}`;
  const health = el.cluster.info.status?.subsystems?.[el.subsystem];
  const stale = el.cluster.info.state !== 'live';
  const open = `Open ${documentUri(el.cluster.info.name, el.subsystem).toString()}`;
  if (health?.state === 'not-configured') {
    item.description = 'not configured';
    item.iconPath = new ThemeIcon('circle-slash');
    item.tooltip = `${SUBSYSTEM_TITLES[el.subsystem]}: not configured${health.reason ? ` (${health.reason})` : ''}`;
  } else if (health?.state === 'unavailable') {
    item.description = `unavailable${problems ? ` · ${plural(problems, 'problem')}` : ''}`;
    item.iconPath = healthIcon(stale ? 'stale' : 'error', 'error', 'error');
    item.tooltip = `${SUBSYSTEM_TITLES[el.subsystem]}: unavailable${health.reason ? `: ${health.reason}` : ''}\n${open}`;
  } else {
    const notes = el.cluster.info.status ? ruleNotes(el.subsystem, el.cluster.info.status) : [];
    item.description = `${problems ? plural(problems, 'problem') : 'no problems'}${notes.length ? ` · ${plural(notes.length, 'rule')} not checked` : ''}`;
    item.iconPath = healthIcon(stale ? 'stale' : problems ? 'error' : 'ok', 'file-code', 'file-code');
    item.tooltip = [...notes, open].join('\n');
  }
  // The upstream version the store says it runs: the rules' applicability depends on it.
  if (health?.version) {
    item.description = `${item.description} · ${health.version.system} ${health.version.version}`;
    item.tooltip = `${typeof item.tooltip === 'string' ? item.tooltip : ''}\n${health.version.system} ${health.version.version} (from ${health.version.from})`;
  }
  // Connection warnings (an unchecked certificate, plaintext): the operator sees them without opening a log.
  if (health?.warnings?.length) {
    item.description = `${item.description} · ${plural(health.warnings.length, 'warning')}`;
    item.tooltip = `${typeof item.tooltip === 'string' ? item.tooltip : ''}\n${health.warnings.map((w) => `⚠ ${w}`).join('\n')}`;
  }
  item.contextValue = ContextValues.of('subsystem', {});
  item.command = {
    command: 'vscode.open',
    title: 'Open document',
    arguments: [documentUri(el.cluster.info.name, el.subsystem)],
  };
  return item;
}
