/**
 * `Cluster: Start Gateway…` / `Cluster: Stop Gateway`: a `cluster-gateway` started from a config
 * file of the workspace (`<name>.cluster-gateway.json` or `cluster-gateway.json`), connected under
 * the config's `clusterName`, else the file's name. Stopping it (or disconnecting its cluster, or
 * closing the window) ends it.
 */
import { basename } from 'node:path';
import { ProgressLocation, RelativePattern, Uri, window, workspace } from 'vscode';
import { CLUSTER_NAME_PATTERN, clusterKey, configuredClusterName } from '../../protocol/config';
import { errorText } from '../../protocol/format';
import { connect } from './connect';
import type { Ctx } from '../ctx';
import { BundledGateway } from '../processes/gateway';
import { offerGatewayConfig } from './gatewayTemplate';

/** Kept equal to src/gateway/config.ts (the extension imports only the protocol layer); a test checks both. */
export const GATEWAY_CONFIG_SUFFIX = '.cluster-gateway.json';
export const GATEWAY_CONFIG_FILE = 'cluster-gateway.json';
export const GATEWAY_CONFIG_GLOB = `**/{*${GATEWAY_CONFIG_SUFFIX},${GATEWAY_CONFIG_FILE}}`;

export interface StartGatewayArgs {
  /** The config file: a path or a file URI. Without it, the user picks one of the workspace's. */
  config?: string | Uri;
  /** The cluster's name; default: the config's `clusterName`, else the file's name without `.cluster-gateway.json` (`cluster-gateway` for `cluster-gateway.json`). */
  name?: string;
}

/** The name a config file's gateway is connected under. */
export function gatewayName(file: string): string {
  const base = basename(file);
  if (base.endsWith(GATEWAY_CONFIG_SUFFIX) && base.length > GATEWAY_CONFIG_SUFFIX.length)
    return base.slice(0, -GATEWAY_CONFIG_SUFFIX.length);
  return base.replace(/\.json$/, '');
}

async function pickConfig(ctx: Ctx): Promise<Uri | undefined> {
  const found: Uri[] = [];
  for (const folder of workspace.workspaceFolders ?? []) {
    found.push(...(await workspace.findFiles(new RelativePattern(folder, GATEWAY_CONFIG_GLOB), '**/node_modules/**', 50)));
  }
  if (found.length === 0) {
    return offerGatewayConfig(
      ctx,
      GATEWAY_CONFIG_FILE,
      `No gateway config in the workspace: create a ${GATEWAY_CONFIG_FILE} or <name>${GATEWAY_CONFIG_SUFFIX} file (see docs/gateway.md).`,
    );
  }
  if (found.length === 1) return found[0];
  const picked = await window.showQuickPick(
    found
      .sort((a, b) => a.fsPath.localeCompare(b.fsPath))
      .map((uri) => ({ label: gatewayName(uri.fsPath), description: workspace.asRelativePath(uri), uri })),
    { title: 'Start Gateway: pick a config', ignoreFocusOut: true },
  );
  return picked?.uri;
}

/** Returns the gateway's cluster name and URL once it is connected, or undefined if the user backed out. */
export async function startGateway(ctx: Ctx, args?: StartGatewayArgs): Promise<{ name: string; url: string } | undefined> {
  if (!workspace.isTrusted) {
    throw new Error(
      'Starting a gateway runs a program, which is off in an untrusted workspace. Trust the workspace, or connect to a running gateway.',
    );
  }
  const uri = args?.config === undefined ? await pickConfig(ctx) : typeof args.config === 'string' ? Uri.file(args.config) : args.config;
  if (!uri) return undefined;
  if (uri.scheme !== 'file') throw new Error(`The gateway reads its config from a local file, not ${uri.toString()}.`);
  const configured = configuredClusterName(new TextDecoder().decode(await workspace.fs.readFile(uri)));
  const name = args?.name ?? configured ?? gatewayName(uri.fsPath);
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw new Error(
      `"${name}" cannot name a cluster (letters, digits, "_", "." and "-", at most 64): ${configured === name ? `change clusterName in ${basename(uri.fsPath)}` : `rename ${basename(uri.fsPath)}`}.`,
    );
  }
  return window.withProgress(
    { location: ProgressLocation.Notification, title: `Cluster: starting the gateway ${name} (${workspace.asRelativePath(uri)})` },
    () => startAndConnect(ctx, uri, name),
  );
}

async function startAndConnect(ctx: Ctx, uri: Uri, name: string): Promise<{ name: string; url: string }> {
  // A gateway of the same name is replaced (started again after its config changed).
  if (ctx.gateways.get(clusterKey(name))?.running) await stopGateway(ctx, { name });

  const gateway = await BundledGateway.start({
    script: ctx.extension.asAbsolutePath('out/cluster-gateway.js'),
    config: uri.fsPath,
    name,
    log: ctx.log,
  });
  ctx.gateways.set(clusterKey(name), gateway);
  gateway.onExit((code, signal) => {
    if (ctx.gateways.get(clusterKey(name)) === gateway) {
      ctx.gateways.delete(clusterKey(name));
      ctx.log.error(`The gateway ${name} exited unexpectedly (${signal ?? `code ${code}`}).`);
      void window.showWarningMessage(`Cluster Debugger: the gateway ${name} exited unexpectedly. See the log.`);
    }
    ctx.simulatorChanged();
  });
  ctx.simulatorChanged();
  try {
    await connect(ctx, { name, url: gateway.url, token: gateway.token });
  } catch (err) {
    ctx.gateways.delete(clusterKey(name));
    await gateway.stop();
    ctx.simulatorChanged();
    throw err;
  }
  ctx.log.info(`Gateway ${name} (${uri.fsPath}) connected at ${gateway.url}.`);
  window.setStatusBarMessage(`$(check) Gateway ${name} connected`, 10_000);
  return { name, url: gateway.url };
}

/** Stops a gateway this window started (the only one, or the one picked) and disconnects its cluster. */
export async function stopGateway(ctx: Ctx, args?: { name?: string }): Promise<void> {
  let name = args?.name;
  if (!name) {
    const names = [...ctx.gateways.values()].map((g) => g.name);
    if (names.length === 0) {
      void window.showInformationMessage('No gateway started from this window is running.');
      return;
    }
    name = names.length === 1 ? names[0] : await window.showQuickPick(names, { title: 'Stop which gateway?' });
    if (!name) return;
  }
  const gateway = ctx.gateways.get(clusterKey(name));
  if (!gateway) throw new Error(`No gateway named ${name} was started from this window.`);
  ctx.gateways.delete(clusterKey(name)); // first, so that its exit is not reported as unexpected
  await ctx.api?.disconnect(name).catch((err) => ctx.log.warn(`Disconnecting ${name}: ${errorText(err)}`));
  await gateway.stop();
  ctx.log.info(`The gateway ${name} stopped.`);
  await ctx.refreshClusters();
  ctx.simulatorChanged();
}
