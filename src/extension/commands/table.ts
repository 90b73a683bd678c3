/**
 * Every command, from one table (rust-analyzer's pattern). Each names what it
 * needs; when that is missing (server down, no cluster), the command tells the
 * user why it cannot run instead of failing obscurely.
 */
import { Position, ProgressLocation, Range, Selection, Uri, commands, env, window, workspace } from 'vscode';
import { BUNDLED_CLUSTER, clusterKey, sameCluster } from '../../protocol/config';
import { errorText } from '../../protocol/format';
import { ApplyRepairArgs, LspCommands, type LspCommandName } from '../../protocol/lsp';
import type { RepairHistoryEntry } from '../../protocol/journal';
import { SNAPSHOT_EXTENSION, SNAPSHOT_LANGUAGE } from '../../protocol/uri';
import { copyTreeRows } from './copy';
import { compareSnapshots, registerCompareDocuments, type CompareArgs } from '../views/compare';
import { ConnectArgs, connectCommand } from './connect';
import { Ctx, Requirement } from '../ctx';
import { describeEventLoopDelay } from '../eventLoop';
import { applyPreviewedRepair, pickAndPreview, pickAndRepair, repairAllSafe, repairFinding, undoRepair } from './repair';
import { GATEWAY_CONFIG_FILE, StartGatewayArgs, startGateway, stopGateway } from './gatewayCommands';
import { createGatewayConfig } from './gatewayTemplate';
import { findEntity } from './findEntity';
import { showTimeline, timelineTarget } from '../views/timeline';
import { StartSimulatorArgs, startSimulator, stopSimulator } from './simulatorCommands';
import { TopologyPanel } from '../views/topology/panel';
import type { ClusterElement, Element, ServerElement } from '../views/trees/elements';
import { syncedTime } from '../views/trees/clusterNode';
import { ThrottledProgress } from '../views/progress';

interface CommandSpec {
  requires: Requirement;
  /** `args` are whatever the caller passed: nothing (palette), a tree element (menus), or an object (tests, links, other extensions). */
  run: (ctx: Ctx, ...args: unknown[]) => unknown;
}

/**
 * A command's argument object as given, or undefined for a non-object. Its fields are not
 * checked here: startSimulator and repairFinding validate theirs, the others trust the caller.
 */
function argsOf<T extends object>(arg: unknown): Partial<T> | undefined {
  return typeof arg === 'object' && arg !== null ? (arg as Partial<T>) : undefined;
}

async function pickCluster(ctx: Ctx, given: string | undefined, purpose: string): Promise<string | undefined> {
  if (given) return given;
  const clusters = ctx.clusters;
  if (clusters.length === 1) return clusters[0].name;
  return (
    await window.showQuickPick(
      clusters.map((c) => ({ label: c.name, description: `${c.url} · ${c.state}` })),
      { title: purpose },
    )
  )?.label;
}

function clusterOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const el = arg as Partial<ClusterElement & { cluster: string }> | undefined;
  return el?.type === 'cluster' ? el.info?.name : typeof el?.cluster === 'string' ? el.cluster : undefined;
}

function serverElement(arg: unknown): ServerElement {
  const el = arg as Element | undefined;
  if (el?.type !== 'server') throw new Error('This action works on a tree item of a Cluster Debugger view.');
  return el;
}

export const COMMANDS: Record<string, CommandSpec> = {
  'clusterDebugger.startSimulator': { requires: 'server', run: (ctx, args) => startSimulator(ctx, argsOf<StartSimulatorArgs>(args)) },
  'clusterDebugger.stopSimulator': { requires: 'nothing', run: (ctx) => stopSimulator(ctx) },
  'clusterDebugger.startGateway': { requires: 'server', run: (ctx, args) => startGateway(ctx, argsOf<StartGatewayArgs>(args)) },
  'clusterDebugger.createGatewayConfig': { requires: 'nothing', run: (ctx) => createGatewayConfig(ctx, GATEWAY_CONFIG_FILE) },
  'clusterDebugger.stopGateway': {
    requires: 'nothing',
    run: (ctx, arg) => stopGateway(ctx, { name: clusterOf(arg) ?? argsOf<{ name: string }>(arg)?.name }),
  },
  'clusterDebugger.connect': { requires: 'server', run: (ctx, args) => connectCommand(ctx, argsOf<ConnectArgs>(args)) },
  'clusterDebugger.disconnect': {
    requires: 'connection',
    run: async (ctx, arg) => {
      const name = await pickCluster(ctx, clusterOf(arg), 'Disconnect from which cluster?');
      if (!name) return;
      if (sameCluster(name, BUNDLED_CLUSTER) && ctx.simulator) return stopSimulator(ctx);
      // A gateway this window started goes with its connection.
      if (ctx.gateways.has(clusterKey(name))) return stopGateway(ctx, { name });
      await ctx.requireApi().disconnect(name);
      ctx.log.info(`Disconnected from ${name}.`);
      await ctx.refreshClusters();
    },
  },
  'clusterDebugger.refresh': {
    requires: 'connection',
    run: async (ctx, arg) => {
      const refreshed = await ctx.requireApi().refresh(clusterOf(arg));
      await ctx.refreshClusters();
      ctx.refreshAllTrees();
      // Say when: the views may look the same as before the refresh.
      const synced = refreshed.map((c) => `${c.name} ${c.syncedAt ? `synced ${syncedTime(c.syncedAt)}` : c.state}`);
      if (synced.length) window.setStatusBarMessage(`$(sync) Refreshed: ${synced.join(', ')}`, 10_000);
    },
  },
  'clusterDebugger.repair': { requires: 'connection', run: (ctx, args) => pickAndRepair(ctx, argsOf<ApplyRepairArgs>(args)) },
  // What a repair would do, as a read-only document that offers to apply it; nothing is sent.
  'clusterDebugger.previewRepair': { requires: 'connection', run: (ctx, args) => pickAndPreview(ctx, argsOf<ApplyRepairArgs>(args)) },
  // A preview document's "Apply this repair" (code lens, editor title; arg: its URI, else the active editor's): Repair…'s flow.
  'clusterDebugger.applyPreviewedRepair': {
    requires: 'connection',
    run: (ctx, arg) => applyPreviewedRepair(ctx, arg instanceof Uri ? arg : undefined),
  },
  // From the palette (no argument), a caller ({ id }), or a History row's context menu (its element: { type: 'repair', entry }).
  'clusterDebugger.undoRepair': {
    requires: 'server',
    run: (ctx, args) => undoRepair(ctx, argsOf<{ id: string; entry: RepairHistoryEntry }>(args)),
  },
  // Ctrl+C in a view (arg: { view }) or a row's context menu (arg: the row): the selected rows as shown.
  'clusterDebugger.copy': { requires: 'nothing', run: (ctx, arg) => copyTreeRows(ctx, arg) },
  'clusterDebugger.showRepairHistory': {
    requires: 'nothing',
    run: async (ctx) => {
      ctx.historyTree.refresh();
      await commands.executeCommand('clusterDebugger.repairHistory.focus');
    },
  },
  // The quick fix's flow (args: ApplyRepairArgs): confirm what may lose data, then apply with progress.
  'clusterDebugger.repairFinding': { requires: 'connection', run: (ctx, args) => repairFinding(ctx, args) },
  'clusterDebugger.repairAllSafe': { requires: 'connection', run: (ctx, args) => repairAllSafe(ctx, argsOf<{ cluster: string }>(args)) },
  'clusterDebugger.saveSnapshot': {
    requires: 'connection',
    run: async (ctx, raw) => {
      const arg = argsOf<{ cluster: string; uri: Uri | string }>(raw);
      const cluster = await pickCluster(ctx, arg?.cluster ?? clusterOf(raw), 'Save a snapshot of which cluster?');
      if (!cluster) return undefined;
      const folder = workspace.workspaceFolders?.[0]?.uri;
      const target =
        typeof arg?.uri === 'string'
          ? Uri.file(arg.uri)
          : (arg?.uri ??
            (await window.showSaveDialog({
              title: `Save a snapshot of ${cluster}`,
              defaultUri: folder ? Uri.joinPath(folder, `${cluster}${SNAPSHOT_EXTENSION}`) : undefined,
              filters: { 'Cluster snapshot': [SNAPSHOT_LANGUAGE] },
            })));
      if (!target) return undefined;
      const api = ctx.requireApi();
      if (target.scheme === 'file') {
        // The server streams the file to disk itself: 770k entities are a few hundred MB of text,
        // which would otherwise cross the LSP connection and sit in this process whole.
        const saved = await window.withProgress(
          { location: ProgressLocation.Notification, title: `Saving a snapshot of ${cluster}`, cancellable: true },
          async (progress, token) => {
            const shown = new ThrottledProgress(progress);
            try {
              return await api.saveSnapshot(cluster, target.fsPath, token, (v) => shown.report(v));
            } finally {
              shown.dispose();
            }
          },
        );
        ctx.log.info(`Saved a snapshot of ${cluster} to ${target.toString()} (${saved.entities} entities, ${saved.bytes} bytes).`);
      } else {
        // Not a local file (a remote or virtual file system): the server cannot reach it; small uses only.
        const text = await api.snapshot(cluster);
        await workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
        ctx.log.info(`Saved a snapshot of ${cluster} to ${target.toString()} (${text.length} characters).`);
      }
      void window.showInformationMessage(`Saved a snapshot of ${cluster}.`, 'Open').then((a) => {
        if (a) void window.showTextDocument(target);
      });
      return target;
    },
  },
  // The recent state transitions of a cluster (filtered with a quick pick) or of a tree item's entity.
  'clusterDebugger.showTimeline': {
    requires: 'connection',
    run: async (ctx, arg) => {
      const target = timelineTarget(arg);
      const cluster = await pickCluster(ctx, target.cluster, 'Show the timeline of which cluster?');
      return cluster ? showTimeline(ctx, { ...target, cluster }) : undefined;
    },
  },
  'clusterDebugger.showLog': { requires: 'nothing', run: (ctx) => ctx.log.show() },
  // How responsive the extension host was since the last run (or activation); returns the figures too.
  'clusterDebugger.showEventLoopDelay': {
    requires: 'nothing',
    run: (ctx) => {
      const delay = ctx.eventLoop.take();
      const line = describeEventLoopDelay(delay);
      ctx.log.info(line);
      void window.showInformationMessage(line);
      return delay;
    },
  },
  // The nodes of every connected cluster, to scale, with their problems; a node reveals itself in its view.
  'clusterDebugger.showTopology': { requires: 'server', run: (ctx) => void TopologyPanel.show(ctx) },
  // Every entity of every connected cluster, by key or id, searched by the server; args (no picker): { query }.
  'clusterDebugger.findEntity': { requires: 'connection', run: (ctx, args) => findEntity(ctx, argsOf<{ query: string }>(args)) },
  // Args (no picks): { a, b }, each a file path, a URI string, { uri } or { cluster }.
  'clusterDebugger.compareSnapshots': { requires: 'server', run: (ctx, args) => compareSnapshots(ctx, argsOf<CompareArgs>(args)) },

  // Internal: tree items' actions (hidden from the palette in package.json).
  'clusterDebugger.loadMore': {
    requires: 'server',
    run: (ctx, arg) => {
      const el = serverElement(arg);
      return ctx.trees[el.subsystem].loadMore(el);
    },
  },
  'clusterDebugger.showInDocument': {
    requires: 'server',
    run: async (_ctx, arg) => {
      const loc = serverElement(arg).node.location;
      if (!loc) throw new Error('This item has no line in a cluster document.');
      const pos = new Position(loc.line, 0);
      await window.showTextDocument(Uri.parse(loc.uri), { selection: new Selection(pos, pos), preview: true });
      return new Range(pos, pos);
    },
  },
  'clusterDebugger.copyId': {
    requires: 'nothing',
    run: async (_ctx, arg) => {
      const el = arg as Element | undefined;
      const id = el?.type === 'server' ? (el.node.entity?.key ?? el.node.id) : el?.type === 'cluster' ? el.info.url : undefined;
      if (id) await env.clipboard.writeText(id);
    },
  },
  // A step of the Stuck Work view that offers a repair (or { cluster, findingId, repairId }): the quick fix's flow.
  'clusterDebugger.repairStuck': {
    requires: 'connection',
    run: (ctx, arg) => {
      const el = arg as Element | undefined;
      if (el?.type !== 'stuck') return repairFinding(ctx, arg);
      const repair = el.item.chain[el.step]?.repair;
      if (!repair) throw new Error('This step of the chain offers no repair.');
      return repairFinding(ctx, { cluster: el.cluster, findingId: repair.findingId, repairId: repair.repairId });
    },
  },
  'clusterDebugger.repairNode': {
    requires: 'connection',
    run: (ctx, arg) => {
      const n = serverElement(arg).node;
      return pickAndRepair(ctx, { cluster: n.cluster }, n.findingIds ?? []);
    },
  },
};

export function registerCommands(ctx: Ctx): void {
  ctx.extension.subscriptions.push(registerCompareDocuments());
  for (const id of Object.keys(COMMANDS)) {
    ctx.extension.subscriptions.push(commands.registerCommand(id, (...args: unknown[]) => runCommand(ctx, id, args)));
  }
}

/**
 * The extension command that runs each of the server's commands in VS Code. Quick fixes name the
 * server's `clusterDebugger.applyRepair` (so that any LSP client can run them), and
 * vscode-languageclient registers a VS Code command for every command the server advertises; its
 * `executeCommand` middleware (`languageServer/client.ts`) sends them here instead of straight to the server, so a
 * quick fix in VS Code confirms a repair that may lose data, shows cancellable progress, logs and
 * reports, exactly like `Cluster: Repair…`.
 */
export const SERVER_COMMAND_FLOWS: Record<LspCommandName, string> = {
  applyRepair: 'clusterDebugger.repairFinding',
  applyAllSafe: 'clusterDebugger.repairAllSafe',
  undoRepair: 'clusterDebugger.undoRepair',
};

/** vscode-languageclient's `executeCommand` middleware: a server command runs through the extension's flow for it. */
export function runServerCommand(ctx: Ctx, command: string, args: unknown[], next: (command: string, args: unknown[]) => unknown): unknown {
  const name = (Object.keys(LspCommands) as LspCommandName[]).find((k) => LspCommands[k] === command);
  return name ? runCommand(ctx, SERVER_COMMAND_FLOWS[name], args) : next(command, args);
}

/** Runs one command of the table: says why when it cannot run, shows and logs its failure. */
async function runCommand(ctx: Ctx, id: string, args: unknown[]): Promise<unknown> {
  const spec = COMMANDS[id];
  const why = ctx.notReadyReason(spec.requires);
  if (why) {
    const actions =
      spec.requires === 'connection' && ctx.notReadyReason('server') === undefined ? ['Start Bundled Simulator', 'Connect…'] : ['Show Log'];
    void window.showWarningMessage(why, ...actions).then((a) => {
      if (a === 'Start Bundled Simulator') void commands.executeCommand('clusterDebugger.startSimulator');
      else if (a === 'Connect…') void commands.executeCommand('clusterDebugger.connect');
      else if (a === 'Show Log') ctx.log.show();
    });
    return undefined;
  }
  try {
    return await spec.run(ctx, ...args);
  } catch (err) {
    // Shown and logged here, not rethrown: VS Code would add a second, vaguer notification.
    // The notification gets the first line; the whole story (e.g. the simulator's stderr) is in the log.
    ctx.log.error(`${id}: ${errorText(err)}`);
    void window.showErrorMessage(`Cluster Debugger: ${errorText(err).split('\n')[0]}`, 'Show Log').then((a) => {
      if (a) ctx.log.show();
    });
    return undefined;
  }
}
