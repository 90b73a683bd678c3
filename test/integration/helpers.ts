// Shared by the integration tests: waiting on conditions with a deadline (never fixed sleeps),
// the extension's public API, and what a user sees (diagnostics, the extension's log).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { ClusterDebuggerApi } from '../../src/extension/api/extensionApi';

export const EXTENSION_ID = 'cluster-debugger.cluster-debugger';

export async function activateExtension(): Promise<ClusterDebuggerApi> {
  const ext = vscode.extensions.getExtension<ClusterDebuggerApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed in this host`);
  return ext.activate();
}

/**
 * Polls `check` until it returns a value other than undefined/false, or fails
 * after `timeoutMs` with `what` and the last observed state (from `describe`).
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs?: number; describe?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${opts.describe ? `; last seen: ${opts.describe()}` : ''}`);
    }
    // A poll interval, not a sleep standing in for a condition.
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function ruleOf(d: vscode.Diagnostic): string | undefined {
  const code = d.code;
  if (code === undefined) return undefined;
  return typeof code === 'object' ? String(code.value) : String(code);
}

/** Diagnostics on the simulator cluster's virtual documents, as [uri, diagnostic] pairs. */
export function clusterDiagnostics(cluster = 'sim'): [vscode.Uri, vscode.Diagnostic][] {
  const out: [vscode.Uri, vscode.Diagnostic][] = [];
  for (const [uri, diags] of vscode.languages.getDiagnostics()) {
    if (uri.scheme !== 'cluster' || uri.authority !== cluster) continue;
    for (const d of diags) out.push([uri, d]);
  }
  return out;
}

export function rulesPresent(cluster = 'sim'): Set<string> {
  return new Set(clusterDiagnostics(cluster).map(([, d]) => ruleOf(d) ?? '?'));
}

export function describeRules(cluster = 'sim'): string {
  const counts = new Map<string, number>();
  for (const [, d] of clusterDiagnostics(cluster)) counts.set(ruleOf(d) ?? '?', (counts.get(ruleOf(d) ?? '?') ?? 0) + 1);
  return JSON.stringify(Object.fromEntries(counts));
}

/** The theme colour id of a tree item's codicon (`ThemeColor.id` is typed only from VS Code 1.93). */
export function iconColor(item: vscode.TreeItem): string | undefined {
  const icon = item.iconPath;
  if (!(icon instanceof vscode.ThemeIcon) || !icon.color) return undefined;
  return (icon.color as unknown as { id: string }).id;
}

/**
 * The extension's log as the Output view shows it: its LogOutputChannel's file. The test hosts
 * (test/vscode-host) open the workspace RUN/workspace with the user data in RUN/user-data.
 */
export function extensionLog(): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!ws) return '';
  const logs = join(dirname(ws), 'user-data', 'logs');
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (depth < 5) walk(p, depth + 1);
      } else if (name === 'Cluster Debugger.log') found.push(p);
    }
  };
  if (existsSync(logs)) walk(logs, 0);
  return found.map((f) => readFileSync(f, 'utf8')).join('\n');
}

/** The log's last lines, for failure messages (what the user would open with Cluster: Show Log). */
export function logTail(lines = 4): string {
  return extensionLog().trimEnd().split('\n').slice(-lines).join(' | ') || '(no log)';
}
