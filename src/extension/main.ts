/**
 * Entry point (bundled to out/extension.js). Thin: everything lives on `Ctx`.
 * It returns the API the extension exports (`api/extensionApi.ts`).
 */
import { ExtensionContext, window, workspace } from 'vscode';
import { CONFIG_SECTION, clusterKey } from '../protocol/config';
import { errorText } from '../protocol/format';
import { registerCommands, runServerCommand } from './commands/table';
import { muteNewErrorNotices, notifyNewErrorsSetting, simulatorSettings } from './config';
import { NewErrorNotifier } from './views/newErrors';
import { applyProtectionSettings, connectConfigured, reconnect } from './commands/connect';
import { Ctx } from './ctx';
import { createExtensionApi } from './api/createExtensionApi';
import type { ClusterDebuggerApi } from './api/extensionApi';
import { startSimulator } from './commands/simulatorCommands';

let ctx: Ctx | undefined;

export type { ClusterDebuggerApi } from './api/extensionApi';

export async function activate(context: ExtensionContext): Promise<ClusterDebuggerApi> {
  try {
    ctx = new Ctx(context, { runServerCommand, reconnect });
    registerCommands(ctx);
    const c0 = ctx;
    context.subscriptions.push(
      workspace.onDidChangeConfiguration((e) => {
        // New entries in the clusters setting connect at once; removed ones stay until disconnected.
        if (e.affectsConfiguration(`${CONFIG_SECTION}.repairJournal`)) void c0.sendJournalPath();
        if (e.affectsConfiguration(`${CONFIG_SECTION}.clusters`) && c0.api) {
          const known = new Set(c0.clusters.map((c) => clusterKey(c.name)));
          connectConfigured(c0, known)
            .then(() => applyProtectionSettings(c0))
            .catch((err) => c0.log.error(`clusterDebugger.clusters: ${errorText(err)}`));
        }
      }),
    );
    // A new error after a cluster's first sync is announced (clusterDebugger.notifyNewErrors).
    const notifier = new NewErrorNotifier({
      clusters: () => c0.clusters,
      findings: (cluster) => c0.requireApi().findings({ cluster }),
      enabled: notifyNewErrorsSetting,
      mute: muteNewErrorNotices,
      log: c0.log,
    });
    context.subscriptions.push(
      notifier,
      c0.onDidApplyChanges(() => void notifier.changed()),
    );
    await ctx.startServer();
    const c = ctx;
    afterStart(c).catch((err) => c.log.error(`After start: ${errorText(err)}`));
    return createExtensionApi(ctx);
  } catch (err) {
    // VS Code does not tell the user when activation fails; we do, and rethrow so it is recorded.
    void window.showErrorMessage(`Cluster Debugger failed to activate: ${errorText(err)}`);
    throw err;
  }
}

/** Connections from settings and the simulator's auto-start: after activation, so a slow cluster never holds it up. */
async function afterStart(c: Ctx): Promise<void> {
  if (!c.api) return;
  await connectConfigured(c);
  const sim = simulatorSettings();
  if (sim.autoStart && workspace.isTrusted) {
    await startSimulator(c, { scenario: sim.scenario, seed: sim.seed }).catch((err) =>
      c.log.error(`Auto-start of the bundled simulator failed: ${errorText(err)}`),
    );
  }
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.dispose();
}
