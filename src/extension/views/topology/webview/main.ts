/**
 * The topology webview's page script (bundled by esbuild for the browser to
 * out/webview/topology.js; type-checked with tsconfig.webview.json, which has
 * the DOM library). It draws what the extension posts: per cluster, per
 * system, one button per node with a bar to scale (log) and its problems.
 *
 * Keyboard: Tab reaches the nodes (one tab stop: the focused node), arrow keys
 * move between nodes, Home/End go to the first/last, Enter or Space reveals the
 * node in its tree view. What it shows is kept with `setState` across hide/show.
 */
import type {
  ClusterTopology,
  NodeProblem,
  TopologyHostMessage,
  TopologyNode,
  TopologyResult,
  TopologySystem,
} from '../../../../protocol/topology';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface PageState {
  result?: TopologyResult;
  focused?: string;
  scrollY?: number;
}

const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;
const status = document.getElementById('status')!;
let state: PageState = (vscode.getState() as PageState | undefined) ?? {};

const number = new Intl.NumberFormat('en-US');

function save(patch: Partial<PageState>): void {
  state = { ...state, ...patch };
  vscode.setState(state);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Bar length, in percent of the widest: log10(count + 1) against the largest node's. */
function scaled(count: number, max: number): number {
  if (max <= 0 || count <= 0) return 0;
  return Math.max(1, (100 * Math.log10(count + 1)) / Math.log10(max + 1));
}

/** A node's problems, one mark per rule: the findings' ids, and how many of their entities sit here. */
function problemMarks(problems: readonly NodeProblem[]): HTMLElement {
  const list = el('ul', 'problems');
  list.setAttribute('aria-label', 'problems');
  const byRule = new Map<string, NodeProblem[]>();
  for (const p of problems) {
    const l = byRule.get(p.rule);
    if (l) l.push(p);
    else byRule.set(p.rule, [p]);
  }
  for (const [rule, ps] of byRule) {
    const count = ps.reduce((n, p) => n + p.count, 0);
    const partial = ps.some((p) => p.partial);
    const severity = ps.some((p) => p.severity === 'error') ? 'error' : ps.some((p) => p.severity === 'warning') ? 'warning' : 'info';
    const li = el('li', `problem severity-${severity}`);
    li.dataset.rule = rule;
    li.dataset.severity = severity;
    li.dataset.count = String(count);
    li.dataset.findingIds = ps.map((p) => p.findingId).join(' ');
    li.title =
      ps
        .map((p) => p.message)
        .slice(0, 5)
        .join('\n') + (ps.length > 5 ? `\n… and ${ps.length - 5} more findings` : '');
    li.append(el('span', 'dot', severity === 'error' ? '●' : severity === 'warning' ? '▲' : 'ℹ'));
    li.append(el('span', 'rule', rule));
    const findings = ps.length > 1 ? ` in ${ps.length} findings` : '';
    li.append(el('span', 'count', `${partial ? '≥ ' : ''}${number.format(count)}${findings}`));
    list.append(li);
  }
  return list;
}

function nodeButton(cluster: string, n: TopologyNode, max: number): HTMLElement {
  const li = el('li', 'node-item');
  const b = el('button', `node health-${n.health}`);
  b.type = 'button';
  b.tabIndex = -1;
  b.dataset.nodeId = n.id;
  b.dataset.cluster = cluster;
  b.dataset.role = n.role;
  b.dataset.health = n.health;
  const first = n.holds[0];
  const problems = n.problems.length ? `, ${n.problems.length} problem${n.problems.length === 1 ? '' : 's'}` : ', no problems';
  b.setAttribute(
    'aria-label',
    `${n.label}${n.state ? ` (${n.state})` : ''}: ${first ? `${number.format(first.count)} ${first.what}` : 'holds nothing'}${problems}. Enter reveals it in the ${n.reveal.subsystem} view.`,
  );

  const head = el('div', 'head');
  head.append(el('span', 'label', n.label));
  if (n.state) head.append(el('span', 'state', n.state));
  b.append(head);

  const bar = el('div', 'bar');
  bar.setAttribute('aria-hidden', 'true');
  const fill = el('div', 'fill');
  // CSSOM, not a style attribute: the CSP allows no inline styles.
  fill.style.width = `${scaled(first?.count ?? 0, max).toFixed(1)}%`;
  bar.append(fill);
  b.append(bar);

  const holds = el('div', 'holds');
  holds.textContent = n.holds.map((h) => `${h.what} ${number.format(h.count)}`).join(' · ');
  b.append(holds);
  if (n.problems.length) b.append(problemMarks(n.problems));
  li.append(b);
  return li;
}

function systemSection(cluster: string, s: TopologySystem, max: number): HTMLElement {
  const section = el('section', `system system-${s.id}`);
  section.dataset.system = s.id;
  const headingId = `h-${cluster}-${s.id}`.replace(/[^A-Za-z0-9_-]/g, '_');
  section.setAttribute('aria-labelledby', headingId);
  const h = el('h3', undefined, s.title);
  h.id = headingId;
  section.append(h);
  if (s.availability !== 'ok')
    section.append(
      el('p', 'message', `${s.availability === 'not-configured' ? 'Not configured' : 'Unavailable'}${s.reason ? `: ${s.reason}` : ''}`),
    );
  if (s.nodes.length) {
    const list = el('ul', 'nodes');
    for (const n of s.nodes) list.append(nodeButton(cluster, n, max));
    section.append(list);
  } else if (s.availability === 'ok') section.append(el('p', 'message', 'No nodes seen.'));
  if (s.unplaced.length) {
    const p = el('div', 'unplaced');
    p.append(el('span', 'unplaced-title', 'Not on one node:'), problemMarks(s.unplaced));
    section.append(p);
  }
  return section;
}

function clusterSection(t: ClusterTopology): HTMLElement {
  const section = el('section', 'cluster');
  section.dataset.cluster = t.cluster;
  section.append(el('h2', undefined, `Cluster ${t.cluster}`));
  if (t.message) section.append(el('p', 'message', t.message));
  const grid = el('div', 'systems');
  for (const s of t.systems) grid.append(systemSection(t.cluster, s, t.maxCount));
  section.append(grid);
  return section;
}

function legend(result: TopologyResult): HTMLElement {
  const max = Math.max(0, ...result.clusters.map((c) => c.maxCount));
  const p = el('p', 'legend');
  p.append(
    el('span', undefined, `Bar length ∝ log₁₀(count + 1) of what the node holds first, against the largest node (${number.format(max)}). `),
    el('span', 'severity-error', '● error'),
    el('span', undefined, ' '),
    el('span', 'severity-warning', '▲ warning'),
    el('span', undefined, ' · Enter or click: reveal the node in its view.'),
  );
  return p;
}

function nodes(): HTMLButtonElement[] {
  return [...root.querySelectorAll<HTMLButtonElement>('button.node')];
}

/** One tab stop: the focused node (or the first). */
function setTabStop(target: HTMLButtonElement | undefined): void {
  for (const b of nodes()) b.tabIndex = b === target ? 0 : -1;
}

function render(result: TopologyResult): void {
  const hadFocus = root.contains(document.activeElement);
  root.replaceChildren();
  if (!result.clusters.length) {
    root.append(el('p', 'message', 'No cluster is connected. Start the bundled simulator or connect to a cluster.'));
    return;
  }
  root.append(legend(result));
  for (const c of result.clusters) root.append(clusterSection(c));
  const all = nodes();
  const focused = all.find((b) => b.dataset.nodeId === state.focused) ?? all[0];
  setTabStop(focused);
  if (hadFocus) focused?.focus();
}

root.addEventListener('click', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.node');
  if (!b) return;
  setTabStop(b);
  save({ focused: b.dataset.nodeId });
  status.textContent = `Revealing ${b.querySelector('.label')?.textContent ?? ''}…`;
  vscode.postMessage({ type: 'reveal', cluster: b.dataset.cluster, nodeId: b.dataset.nodeId });
});

root.addEventListener('focusin', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.node');
  if (b) {
    setTabStop(b);
    save({ focused: b.dataset.nodeId });
  }
});

root.addEventListener('keydown', (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button.node');
  if (!b) return;
  const all = nodes();
  const i = all.indexOf(b);
  let next: number | undefined;
  if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = Math.min(all.length - 1, i + 1);
  else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = Math.max(0, i - 1);
  else if (e.key === 'Home') next = 0;
  else if (e.key === 'End') next = all.length - 1;
  if (next === undefined) return;
  e.preventDefault();
  setTabStop(all[next]);
  all[next]?.focus();
});

let scrollTimer: number | undefined;
window.addEventListener('scroll', () => {
  if (scrollTimer !== undefined) return;
  scrollTimer = window.setTimeout(() => {
    scrollTimer = undefined;
    save({ scrollY: window.scrollY });
  }, 200);
});

window.addEventListener('message', (event: MessageEvent<TopologyHostMessage>) => {
  const m = event.data;
  if (m.type === 'topology') {
    save({ result: m.result });
    render(m.result);
    document.body.dataset.updated = String(Date.now());
  } else if (m.type === 'error') {
    status.textContent = `Could not read the topology: ${m.message}`;
  } else if (m.type === 'revealed') {
    status.textContent = m.ok ? '' : (m.message ?? 'Could not reveal the node.');
  }
});

// Shown again after being hidden: the last picture at once, where it was; then a fresh one.
if (state.result) {
  render(state.result);
  if (state.scrollY) window.scrollTo(0, state.scrollY);
}
vscode.postMessage({ type: 'ready' });
