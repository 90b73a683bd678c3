// The extension's tree providers against a fake `vscode` (fake-vscode.ts) and a fake server: how
// the server's nodes and the cluster list become TreeItems (labels, collapsible state, contextValue,
// tooltip, command), and the message items that say why a view is empty. No VS Code needed.
import * as assert from 'node:assert/strict';
import { MarkdownString, ThemeIcon, TreeItemCollapsibleState } from 'vscode';
import type { ClusterInfo, RepairHistoryResult, TreeChildrenParams, TreeNode } from '../../../src/protocol/lsp';
import type { RepairHistoryEntry } from '../../../src/protocol/journal';
import { ClustersTreeProvider, type ClustersSource } from '../../../src/extension/views/trees/clustersProvider';
import { syncedTime } from '../../../src/extension/views/trees/clusterNode';
import type { ClusterElement, Element, MessageElement, ServerElement, SubsystemElement } from '../../../src/extension/views/trees/elements';
import { RepairHistoryProvider } from '../../../src/extension/views/trees/historyProvider';
import { ClusterTreeProvider, TREE_PAGE_SIZE, type SourceState, type TreeSource } from '../../../src/extension/views/trees/provider';
import { cluster, SYNCED_AT } from './clusterInfo';
import { fake } from './fake-vscode';

function node(n: Partial<TreeNode> & Pick<TreeNode, 'id' | 'kind' | 'label'>): TreeNode {
  return { health: 'none', hasChildren: false, cluster: 'sim', ...n };
}

const GROUP = node({
  id: 'shards/idx',
  kind: 'group',
  label: 'idx',
  description: '3 shards',
  tooltip: '**idx**: 3 shards',
  health: 'error',
  hasChildren: true,
});
const SHARD = node({
  id: 'shards/idx/shard-1',
  kind: 'entity',
  label: 'shard-1',
  health: 'error',
  icon: 'database',
  entity: { collection: 'quickwit.metastore.shards', key: 'idx/shard-1' },
  findingIds: ['shards/dangling:idx'],
  location: { uri: 'cluster://sim/sim.shards.clustersnap', line: 7 },
});
const MORE = node({ id: 'shards/idx/more@1', kind: 'loadMore', label: '', cursor: '1' });

/** A server that answers the root with GROUP and the group with `children` (or fails with `fail`). */
function source(children: TreeNode[], opts: { state?: SourceState; fail?: Error; calls?: TreeChildrenParams[] } = {}): TreeSource {
  return {
    state: () => opts.state ?? { kind: 'ready' },
    async treeChildren(params) {
      opts.calls?.push(params);
      if (opts.fail) throw opts.fail;
      return params.parentId === null ? [GROUP] : children;
    },
  };
}

function markdown(tooltip: unknown): string {
  assert.ok(tooltip instanceof MarkdownString, `a MarkdownString tooltip, not ${JSON.stringify(tooltip)}`);
  return tooltip.value;
}

function icon(item: { iconPath?: unknown }): { id: string; color?: string } {
  const i = item.iconPath;
  assert.ok(i instanceof ThemeIcon, 'a codicon');
  return { id: i.id, color: (i.color as { id: string } | undefined)?.id };
}

beforeEach(() => fake.reset());

describe('ClusterTreeProvider (a subsystem view)', () => {
  it('renders the server nodes as they come: label, state, id, description, tooltip, icon and contextValue', async () => {
    const calls: TreeChildrenParams[] = [];
    const provider = new ClusterTreeProvider('shards', source([SHARD, MORE], { calls }));
    const [group] = (await provider.getChildren()) as ServerElement[];
    assert.deepEqual(calls, [{ subsystem: 'shards', parentId: null, limit: TREE_PAGE_SIZE }]);

    const g = provider.getTreeItem(group);
    assert.equal(g.label, 'idx');
    assert.equal(g.collapsibleState, TreeItemCollapsibleState.Collapsed);
    assert.equal(g.id, 's:shards/idx', 'prefixed: the view shares its ids with the message items');
    assert.equal(g.description, '3 shards');
    assert.equal(markdown(g.tooltip), '**idx**: 3 shards');
    assert.deepEqual(icon(g), { id: 'error', color: 'problemsErrorIcon.foreground' }, "the health's codicon when the server names none");
    assert.equal(g.contextValue, 'clusterDebugger.group');
    assert.equal(g.command, undefined);

    const [shard, more] = (await provider.getChildren(group)) as ServerElement[];
    assert.equal(calls[1]?.parentId, 'shards/idx');
    assert.equal(provider.getParent(shard), group, 'the parent that reveal needs');
    const s = provider.getTreeItem(shard);
    assert.equal(s.label, 'shard-1');
    assert.equal(s.collapsibleState, TreeItemCollapsibleState.None);
    assert.equal(s.tooltip, undefined, 'no tooltip when the server sends none');
    assert.deepEqual(icon(s), { id: 'database', color: 'problemsErrorIcon.foreground' }, "the server's codicon");
    assert.equal(s.contextValue, 'clusterDebugger.entity repairable located hasEntity');
    assert.deepEqual(s.command, { command: 'clusterDebugger.showInDocument', title: 'Show in document', arguments: [shard] });

    const m = provider.getTreeItem(more);
    assert.equal(m.label, 'Load more…', 'the default label of a "Load more" node');
    assert.equal(m.contextValue, 'clusterDebugger.loadMore');
    assert.deepEqual(icon(m), { id: 'ellipsis', color: undefined }, "without health, the kind's codicon");
    assert.deepEqual(m.command, { command: 'clusterDebugger.loadMore', title: 'Load more', arguments: [more] });
  });

  it('says why a level is empty, or why it could not be loaded', async () => {
    const empty = new ClusterTreeProvider('shards', source([]));
    const [group] = await empty.getChildren();
    const [nothing] = (await empty.getChildren(group)) as MessageElement[];
    const n = empty.getTreeItem(nothing);
    assert.equal(n.label, 'Nothing here.');
    assert.equal(n.contextValue, 'clusterDebugger.message');
    assert.equal(n.command, undefined);
    assert.deepEqual(icon(n), { id: 'info', color: undefined });

    const failing = new ClusterTreeProvider('shards', source([], { fail: new Error('the server fell over\nat line 2') }));
    const [error] = (await failing.getChildren()) as MessageElement[];
    const e = failing.getTreeItem(error);
    assert.equal(e.label, 'Could not load: the server fell over', 'the first line only');
    assert.equal(e.collapsibleState, TreeItemCollapsibleState.None);
    assert.equal(e.contextValue, 'clusterDebugger.message error');
    assert.match(markdown(e.tooltip), /the server fell over\nat line 2/, 'the whole message in the tooltip');
    assert.deepEqual(e.command, { command: 'clusterDebugger.showLog', title: 'Show Log' });
  });

  it('shows the welcome content before any cluster, and the reason while the server is down', async () => {
    assert.deepEqual(await new ClusterTreeProvider('wal', source([], { state: { kind: 'welcome' } })).getChildren(), []);
    const down = new ClusterTreeProvider('wal', source([], { state: { kind: 'unavailable', reason: 'Starting the language server…' } }));
    const [message] = (await down.getChildren()) as MessageElement[];
    const item = down.getTreeItem(message);
    assert.equal(item.label, 'Starting the language server…');
    assert.equal(item.contextValue, 'clusterDebugger.message error');
  });
});

function clustersSource(list: ClusterInfo[], state: SourceState = { kind: 'ready' }): ClustersSource {
  return {
    state: () => state,
    clusters: () => list,
    cluster: (name) => list.find((c) => c.name.toLowerCase() === name.toLowerCase()),
    isSimulator: (name) => name === 'sim',
    isGateway: (name) => name === 'gw',
  };
}

describe('syncedTime', () => {
  it("shows today's sync as a time of day, an older one with its date", () => {
    const at = new Date(SYNCED_AT);
    assert.equal(syncedTime(SYNCED_AT, at), at.toLocaleTimeString());
    assert.equal(syncedTime(SYNCED_AT, new Date(at.getTime() + 3 * 86_400_000)), at.toLocaleString());
  });
});

describe('ClustersTreeProvider (the Clusters view)', () => {
  it('renders each cluster with its state, protection and counts, and menus keyed on its contextValue', async () => {
    const list = [
      cluster('sim', { errors: 2, warnings: 1, problems: { shards: 3 }, syncedAt: SYNCED_AT }),
      cluster('prod', { protection: 'read-only', syncedAt: undefined }),
      cluster('gw', { state: 'disconnected', error: 'connection refused' }),
    ];
    const provider = new ClustersTreeProvider(clustersSource(list));
    const [sim, prod, gw] = (await provider.getChildren()) as ClusterElement[];

    const s = provider.getTreeItem(sim);
    assert.equal(s.label, 'sim');
    assert.equal(s.collapsibleState, TreeItemCollapsibleState.Expanded);
    assert.equal(s.id, 'c:sim');
    assert.equal(s.description, 'live · 2 errors, 1 warning');
    assert.equal(s.contextValue, 'clusterDebugger.cluster simulator connected');
    assert.deepEqual(icon(s), { id: 'pulse', color: 'testing.iconPassed' });
    assert.match(markdown(s.tooltip), /^\*\*sim\*\* \(bundled simulator\)\n\n`ws:\/\/127\.0\.0\.1:7878\/sim` — live/);
    assert.ok(markdown(s.tooltip).includes(`— live, last synced ${syncedTime(SYNCED_AT)}`), 'the tooltip says when it last synced');
    assert.doesNotMatch(markdown(provider.getTreeItem(prod).tooltip), /last synced/, 'not before its first sync');

    const p = provider.getTreeItem(prod);
    assert.equal(p.description, 'live · read-only');
    assert.equal(p.contextValue, 'clusterDebugger.cluster connected');
    assert.equal(icon(p).id, 'lock');
    assert.match(markdown(p.tooltip), /\$\(lock\) Protection read-only: no repair is sent \(`clusterDebugger\.clusters`\)/);

    const g = provider.getTreeItem(gw);
    assert.equal(g.contextValue, 'clusterDebugger.cluster gateway', 'no `connected` flag: the Disconnect menu item hides');
    assert.equal(icon(g).id, 'error');
    assert.match(markdown(g.tooltip), /\(gateway started from this workspace\)[\s\S]*\$\(error\) connection refused$/);
    const [error, ...subsystems] = await provider.getChildren(gw);
    assert.equal(provider.getTreeItem(error).label, 'connection refused', 'the error as the first child of a cluster that is not live');
    assert.equal(subsystems.length, 5);
  });

  it("shows the user's role on a gateway with per-user tokens: a viewer's cluster is read-only, and says why", async () => {
    const list = [
      cluster('team', { caller: { user: 'alice', role: 'viewer' }, errors: 1 }),
      cluster('ops', { caller: { user: 'bob', role: 'operator' }, protection: 'confirm' }),
      cluster('prod', { protection: 'read-only', caller: { user: 'carol', role: 'viewer' } }),
    ];
    const provider = new ClustersTreeProvider(clustersSource(list));
    const [team, ops, prod] = (await provider.getChildren()) as ClusterElement[];

    const t = provider.getTreeItem(team);
    assert.equal(t.description, 'live · read-only · 1 error, 0 warnings · alice (viewer)');
    assert.equal(icon(t).id, 'lock');
    const tip = markdown(t.tooltip);
    assert.ok(tip.includes('$(lock) Signed in as alice, role viewer: can read and preview, not repair.'), tip);
    assert.doesNotMatch(tip, /Protection read-only/, 'the setting is not why: the role is');

    const o = provider.getTreeItem(ops);
    assert.equal(o.description, 'live · confirm · bob (operator)');
    assert.ok(markdown(o.tooltip).includes('$(account) Signed in as bob, role operator: can read, preview, repair and undo.'));
    assert.match(markdown(o.tooltip), /\$\(shield\) Protection confirm/);

    // Read-only by its setting too: both reasons are said.
    const p = markdown(provider.getTreeItem(prod).tooltip);
    assert.match(p, /Signed in as carol, role viewer[\s\S]*\$\(lock\) Protection read-only/);

    // Without per-user tokens (one shared token) nothing is said of a user.
    const shared = new ClustersTreeProvider(clustersSource([cluster('sim')]));
    const [plain] = (await shared.getChildren()) as ClusterElement[];
    assert.equal(shared.getTreeItem(plain).description, 'live');
    assert.doesNotMatch(markdown(shared.getTreeItem(plain).tooltip), /Signed in/);
  });

  it('lists the subsystems of a cluster, each opening its document', async () => {
    const provider = new ClustersTreeProvider(clustersSource([cluster('sim', { problems: { shards: 3 } })]));
    const [sim] = await provider.getChildren();
    const children = (await provider.getChildren(sim)) as SubsystemElement[];
    assert.deepEqual(
      children.map((c) => c.subsystem),
      ['shards', 'wal', 'ddl', 'regions', 'partitions'],
    );
    assert.equal(provider.getParent(children[0]), sim);
    const shards = provider.getTreeItem(children[0]);
    assert.equal(shards.label, 'Shards');
    assert.equal(shards.collapsibleState, TreeItemCollapsibleState.None);
    assert.equal(shards.id, 'c:sim/shards');
    assert.equal(shards.description, '3 problems');
    assert.equal(shards.tooltip, 'Open cluster://sim/sim.shards.clustersnap');
    assert.equal(shards.contextValue, 'clusterDebugger.subsystem');
    assert.deepEqual(icon(shards), { id: 'file-code', color: 'problemsErrorIcon.foreground' });
    assert.equal(shards.command?.command, 'vscode.open');
    assert.equal(String(shards.command?.arguments?.[0]), 'cluster://sim/sim.shards.clustersnap');
    assert.equal(provider.getTreeItem(children[1]).description, 'no problems');
  });

  it("renders a cluster from its latest info, not from the element's copy", async () => {
    const list = [cluster('sim', { errors: 1 })];
    const provider = new ClustersTreeProvider(clustersSource(list));
    const [sim] = (await provider.getChildren()) as Element[];
    list[0] = cluster('sim', { errors: 4, state: 'stale' });
    assert.equal(provider.getTreeItem(sim as ClusterElement).description, 'stale · 4 errors, 0 warnings');
  });

  it('says why it is empty while the language server is down', async () => {
    const provider = new ClustersTreeProvider(
      clustersSource([], { kind: 'unavailable', reason: 'Language server not running: it crashed' }),
    );
    const [message] = await provider.getChildren();
    const item = provider.getTreeItem(message);
    assert.equal(item.label, 'Language server not running: it crashed');
    assert.equal(item.contextValue, 'clusterDebugger.message error');
  });
});

describe('RepairHistoryProvider (the Repair History view)', () => {
  it('says why there is no history instead of failing', async () => {
    const off = new RepairHistoryProvider(async (): Promise<RepairHistoryResult> => ({ path: null, entries: [], problems: [] }));
    const [item] = await off.getChildren();
    assert.equal(off.getTreeItem(item).label, 'Repairs are not journalled (clusterDebugger.repairJournal is "off")');
    const teamOnly = new RepairHistoryProvider(async (): Promise<RepairHistoryResult> => ({
      path: null,
      entries: [
        {
          id: 'g1',
          at: '2026-12-06T06:00:00.000Z',
          cluster: 'team',
          findingId: 'f',
          title: 'Repair g1',
          safety: 'safe',
          source: 'gateway',
          user: 'bob',
          undoable: true,
          summary: 'applied 1',
          finished: true,
          batches: [],
        },
      ],
      problems: [],
    }));
    assert.deepEqual(
      (await teamOnly.getChildren()).map((r) => teamOnly.getTreeItem(r).label),
      ['Repair g1'],
      "a team gateway's repairs are listed with the editor's own journal off",
    );

    const broken = new RepairHistoryProvider(async () => {
      throw new Error('EACCES');
    });
    const [error] = await broken.getChildren();
    const e = broken.getTreeItem(error);
    assert.equal(e.label, 'Cannot read the repair journal: EACCES');
    assert.equal(e.contextValue, 'clusterDebugger.history.message');
    assert.deepEqual(icon(e), { id: 'error', color: undefined });

    const starting = new RepairHistoryProvider(async () => 'The Cluster Debugger language server is still starting.');
    const [reason] = await starting.getChildren();
    assert.equal(starting.getTreeItem(reason).label, 'The Cluster Debugger language server is still starting.');
  });

  it('lists a Repair All run as one row with its repairs under it; an undone repair reads "undone"; Undo is on undoable rows', async () => {
    const entry = (id: string, at: string, extra: Partial<RepairHistoryEntry> = {}): RepairHistoryEntry => ({
      id,
      at,
      cluster: 'sim',
      findingId: `f-${id}`,
      title: `Repair ${id}`,
      safety: 'safe',
      source: 'editor',
      undoable: true,
      summary: 'applied 1',
      finished: true,
      batches: [],
      ...extra,
    });
    const entries = [
      entry('u', '2026-12-06T06:04:00.000Z', {
        undoOf: 'b',
        undoable: false,
        undoNote: 'an undo is not itself undone',
        title: 'Undo: Repair b',
      }),
      entry('r2', '2026-12-06T06:03:00.000Z', { run: 'run-1', undoable: false, undoNote: 'this repair cannot be undone' }),
      entry('r1', '2026-12-06T06:02:00.000Z', { run: 'run-1' }),
      entry('b', '2026-12-06T06:01:00.000Z', { undoable: false, undoNote: 'already undone', undoneBy: 'u' }),
      entry('solo', '2026-12-06T06:00:00.000Z', { run: 'run-2' }),
      entry('team', '2026-12-06T05:59:00.000Z', { source: 'gateway', user: 'alice' }),
    ];
    const provider = new RepairHistoryProvider(async (): Promise<RepairHistoryResult> => ({ path: '/j.jsonl', entries, problems: [] }));
    const rows = await provider.getChildren();
    const items = rows.map((r) => provider.getTreeItem(r));
    assert.deepEqual(
      items.map((i) => [i.label, i.description]),
      [
        ['↶ Undo: Repair b', 'sim · 2026-12-06 06:04:00 · not undoable'],
        ['Run All Safe Repairs: 2 repairs', 'sim · 2026-12-06 06:03:00 · 1 of 2 undoable'],
        ['Repair b', 'sim · 2026-12-06 06:01:00 · undone'],
        ['Repair solo', 'sim · 2026-12-06 06:00:00 · undoable'],
        ['Repair team', 'sim · alice · 2026-12-06 05:59:00 · undoable'],
      ],
    );
    assert.match(
      String((items[4].tooltip as { value?: string }).value ?? items[4].tooltip),
      /from the gateway, by alice/,
      'who made it (a team gateway)',
    );
    const runRepairs = (await provider.getChildren(rows[1])).map((r) => provider.getTreeItem(r));
    assert.deepEqual(
      runRepairs.map((i) => [i.label, i.contextValue]),
      [
        ['Repair r2', 'clusterDebugger.history.repair'],
        ['Repair r1', 'clusterDebugger.history.repair.undoable'],
      ],
    );
    assert.equal(items[3].contextValue, 'clusterDebugger.history.repair.undoable', "an undoable row's context menu offers Undo");
  });
});
