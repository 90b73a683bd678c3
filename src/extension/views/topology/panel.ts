/**
 * `Cluster: Show Topology`: a webview panel that draws each connected cluster's
 * nodes per system (from `clusterDebugger/topology`), what each holds, to scale,
 * and the problems on each. Clicking a node (or Enter on it) reveals it in its
 * tree view.
 *
 * Webview conventions: a Content-Security-Policy of `default-src 'none'` with a
 * nonce for the one script; resources only from `out/webview/` (the bundled
 * script and its stylesheet); no network; theme colours from `--vscode-*`
 * variables. No `retainContextWhenHidden`: the page keeps what it shows (the
 * last picture, the focused node, the scroll position) with `setState`, so a
 * hidden panel costs no renderer memory and shows its last picture at once when
 * shown again, then asks for a fresh one.
 */
import { randomBytes } from 'node:crypto';
import { Disposable, Uri, ViewColumn, WebviewPanel, window } from 'vscode';
import { errorText } from '../../../protocol/format';
import { TopologyWebviewMessage, type TopologyHostMessage, type TopologyResult } from '../../../protocol/topology';
import type { Ctx } from '../../ctx';

export const TOPOLOGY_VIEW_TYPE = 'clusterDebugger.topology';
/** Change bursts arrive every 150 ms while a cluster moves: redraw at most this often. */
const UPDATE_DEBOUNCE_MS = 500;

export class TopologyPanel implements Disposable {
  private static current: TopologyPanel | undefined;

  private readonly disposables: Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** A change came while hidden: refresh when shown. */
  private stale = false;
  private last: TopologyResult | undefined;
  private asked = 0;

  /** Opens the panel, or brings the open one forward and refreshes it. */
  static show(ctx: Ctx): TopologyPanel {
    const open = TopologyPanel.current;
    if (open) {
      open.panel.reveal();
      void open.refresh();
      return open;
    }
    const root = Uri.joinPath(ctx.extension.extensionUri, 'out', 'webview');
    const panel = window.createWebviewPanel(TOPOLOGY_VIEW_TYPE, 'Cluster Topology', ViewColumn.Active, {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [root],
    });
    TopologyPanel.current = new TopologyPanel(ctx, panel, root);
    return TopologyPanel.current;
  }

  private constructor(
    private readonly ctx: Ctx,
    private readonly panel: WebviewPanel,
    root: Uri,
  ) {
    panel.webview.html = html(
      panel.webview.cspSource,
      panel.webview.asWebviewUri(Uri.joinPath(root, 'topology.js')),
      panel.webview.asWebviewUri(Uri.joinPath(root, 'topology.css')),
    );
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) => void this.received(raw)),
      panel.onDidChangeViewState(() => {
        if (panel.visible && this.stale) this.schedule(0);
      }),
      ctx.onDidApplyChanges(() => this.schedule(UPDATE_DEBOUNCE_MS)),
      ctx.onDidChangeClusters(() => this.schedule(UPDATE_DEBOUNCE_MS)),
    );
  }

  private schedule(delayMs: number): void {
    if (!this.panel.visible) {
      this.stale = true;
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, delayMs);
  }

  async refresh(): Promise<void> {
    this.stale = false;
    const asked = ++this.asked;
    let message: TopologyHostMessage;
    try {
      const api = this.ctx.api;
      const result: TopologyResult = api ? await api.topology() : { clusters: [] };
      if (asked !== this.asked) return; // a later refresh is on its way
      this.last = result;
      message = { type: 'topology', result };
    } catch (err) {
      this.ctx.log.error(`Topology: ${errorText(err)}`);
      message = { type: 'error', message: errorText(err) };
    }
    await this.post(message);
  }

  private async received(raw: unknown): Promise<void> {
    const parsed = TopologyWebviewMessage.safeParse(raw);
    if (!parsed.success) {
      this.ctx.log.warn(`Topology: ignoring a malformed message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    const m = parsed.data;
    if (m.type === 'ready') return this.refresh();
    const outcome = await this.reveal(m.cluster, m.nodeId).catch((err: unknown) => errorText(err));
    await this.post({ type: 'revealed', nodeId: m.nodeId, ok: outcome === undefined, ...(outcome ? { message: outcome } : {}) });
  }

  /** Reveals a node in its tree view; returns why it could not, in words. */
  private async reveal(cluster: string, nodeId: string): Promise<string | undefined> {
    const node = this.last?.clusters
      .find((c) => c.cluster === cluster)
      ?.systems.flatMap((s) => s.nodes)
      .find((n) => n.id === nodeId);
    if (!node) return `${nodeId} is no longer in ${cluster}'s topology.`;
    const { subsystem, treeId } = node.reveal;
    if (!(await this.ctx.revealNode(subsystem, treeId, { focus: true }))) return `${node.label} is not in its view any more.`;
    this.ctx.log.info(`Topology: revealed ${node.label} (${cluster}) in the ${subsystem} view.`);
    return undefined;
  }

  private async post(message: TopologyHostMessage): Promise<void> {
    await this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (TopologyPanel.current === this) TopologyPanel.current = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

function html(cspSource: string, script: Uri, style: Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const csp = [`default-src 'none'`, `style-src ${cspSource}`, `img-src ${cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Cluster Topology</title>
</head>
<body>
<main id="root" aria-label="Cluster topology"><p class="message">Loading the topology…</p></main>
<div id="status" role="status" aria-live="polite"></div>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}
