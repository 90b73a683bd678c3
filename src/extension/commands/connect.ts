/** Connecting to clusters: the palette flow, the configured clusters, and the tokens in SecretStorage. */
import { window } from 'vscode';
import { BUNDLED_CLUSTER, CLUSTER_NAME_PATTERN, clusterKey, sameCluster } from '../../protocol/config';
import { errorText, plural } from '../../protocol/format';
import { ConnectParams } from '../../protocol/lsp';
import { clustersSetting, protectionSetting } from '../config';
import type { Ctx } from '../ctx';

/** Tokens are secrets: never in settings, keyed by URL so one cluster's token is not sent to another. */
function secretKey(url: string): string {
  return `clusterDebugger.token:${url}`;
}

export function validateClusterUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return 'Enter a WebSocket URL, e.g. ws://127.0.0.1:7878';
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return 'The URL must start with ws:// or wss://';
  if (url.username || url.password) return 'Put the token in the next step, not in the URL';
  return undefined;
}

export interface ConnectArgs {
  url: string;
  name: string;
  /** When given, stored in SecretStorage for the URL; otherwise the stored one (or none) is used. */
  token?: string;
}

/** `Cluster: Connect…`; with `args`, no prompts (for tests and automation). */
export async function connectCommand(ctx: Ctx, args?: Partial<ConnectArgs>): Promise<boolean> {
  const secrets = ctx.extension.secrets;
  const url =
    args?.url ??
    (await window.showInputBox({
      title: 'Connect to a cluster (1/3)',
      prompt: 'The cluster gateway’s WebSocket URL',
      placeHolder: 'ws://127.0.0.1:7878',
      ignoreFocusOut: true,
      validateInput: validateClusterUrl,
    }));
  if (url === undefined) return false;
  const urlError = validateClusterUrl(url);
  if (urlError) throw new Error(urlError);
  const taken = new Set(ctx.clusters.map((c) => clusterKey(c.name)));
  const suggested = new URL(url.trim()).hostname.replace(/[^A-Za-z0-9_.-]/g, '-') || 'cluster';
  const name =
    args?.name ??
    (await window.showInputBox({
      title: 'Connect to a cluster (2/3)',
      prompt: 'A short name for this cluster (used in the views and in cluster:// documents)',
      value: taken.has(clusterKey(suggested)) ? '' : suggested,
      ignoreFocusOut: true,
      validateInput: (v) =>
        !CLUSTER_NAME_PATTERN.test(v)
          ? 'Letters, digits, "_", "." and "-", at most 64'
          : taken.has(clusterKey(v))
            ? `"${v}" is already connected (names are not case-sensitive)`
            : undefined,
    }));
  if (name === undefined) return false;

  const stored = await secrets.get(secretKey(url.trim()));
  let token = args?.token;
  if (token === undefined && args?.url === undefined) {
    token = await window.showInputBox({
      title: 'Connect to a cluster (3/3)',
      prompt: stored ? 'Token (leave empty to use the one stored for this URL)' : 'Token (leave empty if the cluster needs none)',
      password: true,
      ignoreFocusOut: true,
    });
    if (token === undefined) return false;
  }
  if (token) await secrets.store(secretKey(url.trim()), token);
  await connect(ctx, { name, url: url.trim(), token: token || stored || '' });
  return true;
}

/** The level a cluster of this name gets from the settings (the running bundled simulator's default is `none`). */
function protectionOf(ctx: Ctx, name: string) {
  return protectionSetting(name, sameCluster(name, BUNDLED_CLUSTER) && ctx.simulator?.running === true);
}

export async function connect(ctx: Ctx, params: ConnectParams): Promise<void> {
  const p = ConnectParams.parse({ ...params, protection: params.protection ?? protectionOf(ctx, params.name) });
  ctx.log.info(`Connecting to ${p.name} at ${p.url} (protection: ${p.protection})`);
  try {
    await ctx.requireApi().connect(p);
  } catch (err) {
    // The sync's Cancel disconnected it: what the user asked for, not an error.
    if (!ctx.syncs.takeCancelled(p.name)) throw err;
    ctx.log.info(`${p.name}: the sync was cancelled; disconnected.`);
  }
  await ctx.refreshClusters();
}

/** The clusters setting changed: the connected clusters' levels follow it (the server enforces `read-only`). */
export async function applyProtectionSettings(ctx: Ctx): Promise<void> {
  for (const c of ctx.clusters) {
    const level = protectionOf(ctx, c.name);
    if (c.protection === level) continue;
    ctx.log.info(`${c.name}: protection ${c.protection} → ${level}`);
    await ctx.requireApi().request('setProtection', { cluster: c.name, protection: level });
  }
  await ctx.refreshClusters();
}

/** Connects the clusters listed in `clusterDebugger.clusters`, with their stored tokens. */
/** `skip` holds names by `clusterKey`: the clusters already connected. */
export async function connectConfigured(ctx: Ctx, skip: ReadonlySet<string> = new Set()): Promise<void> {
  const { clusters, invalid } = clustersSetting();
  if (invalid) ctx.log.warn(`clusterDebugger.clusters: ${plural(invalid, 'entry')} not {name, url, protection}; skipped.`);
  for (const c of clusters) {
    // An entry without a URL only sets the protection of a cluster connected otherwise.
    if (skip.has(clusterKey(c.name)) || c.url === undefined) continue;
    const bad = validateClusterUrl(c.url) ?? (CLUSTER_NAME_PATTERN.test(c.name) ? undefined : `bad name "${c.name}"`);
    if (bad) {
      ctx.log.warn(`clusterDebugger.clusters: skipping ${c.name} (${c.url}): ${bad}`);
      continue;
    }
    const token = (await ctx.extension.secrets.get(secretKey(c.url))) ?? '';
    await connect(ctx, { name: c.name, url: c.url, token }).catch((err) =>
      ctx.log.error(`Could not connect to ${c.name} at ${c.url}: ${errorText(err)}`),
    );
  }
}

/**
 * After the language server restarted (it knows no cluster): connects again the bundled simulator,
 * the gateways this window started and the settings' clusters, except those in `known` (by `clusterKey`).
 */
export async function reconnect(ctx: Ctx, known: ReadonlySet<string>): Promise<void> {
  const sim = ctx.simulator;
  if (sim?.running && !known.has(clusterKey(BUNDLED_CLUSTER)))
    await connect(ctx, { name: BUNDLED_CLUSTER, url: sim.url, token: sim.token });
  for (const g of ctx.gateways.values()) {
    if (g.running && !known.has(clusterKey(g.name))) await connect(ctx, { name: g.name, url: g.url, token: g.token });
  }
  await connectConfigured(ctx, known);
}
