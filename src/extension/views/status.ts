/** The status bar item: server and connection state, and the problem counts. */
import { MarkdownString, StatusBarAlignment, StatusBarItem, ThemeColor, window } from 'vscode';
import { formatCount, plural } from '../../protocol/format';
import type { ClusterInfo } from '../../protocol/lsp';
import { effectiveProtection, type ProtectionLevel } from '../../protocol/preview';

/** How each protection level reads in the status bar and the Clusters view. */
export const PROTECTION_LABELS: Record<ProtectionLevel, { icon: string; text: string }> = {
  none: { icon: '', text: 'no protection' },
  confirm: { icon: '$(shield)', text: 'confirm: type the name before a repair that may lose data' },
  'read-only': { icon: '$(lock)', text: 'read-only: no repair is sent' },
};

export type ServerState = { kind: 'starting' } | { kind: 'running' } | { kind: 'failed'; reason: string };

export class StatusView {
  private readonly item: StatusBarItem;

  constructor() {
    this.item = window.createStatusBarItem('clusterDebugger.status', StatusBarAlignment.Left, 50);
    this.item.name = 'Cluster Debugger';
    this.item.command = 'workbench.actions.view.problems';
    this.item.show();
  }

  update(server: ServerState, clusters: readonly ClusterInfo[]): void {
    const item = this.item;
    const md = new MarkdownString(undefined, true);
    item.backgroundColor = undefined;
    if (server.kind === 'failed') {
      item.text = '$(error) Cluster Debugger';
      item.backgroundColor = new ThemeColor('statusBarItem.errorBackground');
      md.appendMarkdown(`The language server is not running: ${server.reason}\n\nSee **Cluster: Show Log**.`);
      item.command = 'clusterDebugger.showLog';
      item.tooltip = md;
      return;
    }
    item.command = 'workbench.actions.view.problems';
    if (server.kind === 'starting') {
      item.text = '$(sync~spin) Cluster';
      item.tooltip = 'Cluster Debugger: starting the language server…';
      return;
    }
    if (clusters.length === 0) {
      item.text = '$(debug-disconnect) Cluster';
      item.tooltip = 'Cluster Debugger: no cluster connected';
      return;
    }
    const errors = clusters.reduce((n, c) => n + c.errors, 0);
    const warnings = clusters.reduce((n, c) => n + c.warnings, 0);
    const busy = clusters.some((c) => c.state === 'connecting' || c.state === 'syncing');
    const down = clusters.some((c) => c.state === 'stale' || c.state === 'disconnected');
    const icon = busy ? '$(sync~spin)' : down ? '$(warning)' : '$(pulse)';
    const names = clusters.length === 1 ? clusters[0].name : plural(clusters.length, 'cluster');
    // The strictest level among the clusters: the lock when one refuses every repair, the shield when one asks for its name (the tooltip says which).
    const levels = new Set(clusters.map(effectiveProtection));
    const level = levels.has('read-only') ? 'read-only' : levels.has('confirm') ? 'confirm' : 'none';
    const badge = PROTECTION_LABELS[level].icon;
    item.text = `${icon} ${names}${badge ? ` ${badge}` : ''}  $(error) ${formatCount(errors)}  $(warning) ${formatCount(warnings)}`;
    if (down) item.backgroundColor = new ThemeColor('statusBarItem.warningBackground');
    for (const c of clusters) {
      const p = PROTECTION_LABELS[effectiveProtection(c)];
      const own = c.status?.readOnly
        ? ' (the cluster refuses every repair)'
        : c.caller?.role === 'viewer'
          ? ` (your role on this gateway is viewer)`
          : '';
      md.appendMarkdown(
        `**${c.name}** \`${c.url}\`: ${c.state}, ${p.icon ? `${p.icon} ` : ''}${p.text}${own}, ${plural(c.errors, 'error')}, ${plural(c.warnings, 'warning')}`,
      );
      if (c.error) md.appendMarkdown(` — ${c.error}`);
      md.appendMarkdown('\n\n');
    }
    md.appendMarkdown('Click to open the Problems panel.');
    item.tooltip = md;
  }

  dispose(): void {
    this.item.dispose();
  }
}
