// The generic tree provider against a fake server, inside the real extension host (it needs the
// `vscode` API): paging with "Load more", parents for `reveal`, and error / empty nodes when the
// server fails or lags behind. Deterministic, no cluster needed.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { TreeChildrenParams, TreeNode } from '../../src/protocol/lsp';
import { ClusterTreeProvider, TreeSource, TREE_PAGE_SIZE } from '../../src/extension/views/trees/provider';
import type { ServerElement } from '../../src/extension/views/trees/elements';
import { iconColor } from './helpers';

const TOTAL = 1234;

function entity(i: number): TreeNode {
  return {
    id: `shards/idx/src/shard-${i}`,
    kind: 'entity',
    label: `shard-${i}`,
    health: i % 2 ? 'error' : 'ok',
    hasChildren: false,
    cluster: 'fake',
    findingIds: i % 2 ? ['shards/dangling:idx/src'] : undefined,
  };
}

/** One group with TOTAL entities, served in pages with a numeric cursor. */
function fakeSource(calls: TreeChildrenParams[]): TreeSource {
  return {
    state: () => ({ kind: 'ready' }),
    async treeChildren(p) {
      calls.push(p);
      if (p.parentId === null) {
        return [
          {
            id: 'shards/idx',
            kind: 'group',
            label: 'idx',
            description: `${TOTAL} shards`,
            health: 'error',
            hasChildren: true,
            cluster: 'fake',
          },
        ];
      }
      const from = p.cursor ? Number(p.cursor) : 0;
      const limit = p.limit ?? TREE_PAGE_SIZE;
      const nodes = Array.from({ length: Math.min(limit, TOTAL - from) }, (_, k) => entity(from + k));
      if (from + limit < TOTAL) {
        nodes.push({
          id: `shards/idx/more@${from + limit}`,
          kind: 'loadMore',
          label: 'Load more…',
          health: 'none',
          hasChildren: false,
          cluster: 'fake',
          cursor: String(from + limit),
        });
      }
      return nodes;
    },
  };
}

describe('ClusterTreeProvider', () => {
  it('pages a large group with "Load more" and appends each page in place', async () => {
    const calls: TreeChildrenParams[] = [];
    const provider = new ClusterTreeProvider('shards', fakeSource(calls));
    const [group] = await provider.getChildren();
    assert.equal(provider.getTreeItem(group).collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);

    let children = (await provider.getChildren(group)) as ServerElement[];
    assert.equal(children.length, TREE_PAGE_SIZE + 1, 'one page and a "Load more" item');
    let more = children[children.length - 1];
    const moreItem = provider.getTreeItem(more);
    assert.equal(moreItem.label, 'Load more…');
    assert.equal(moreItem.command?.command, 'clusterDebugger.loadMore');

    const changed: unknown[] = [];
    provider.onDidChangeTreeData((e) => changed.push(e));
    while (more.node.kind === 'loadMore') {
      await provider.loadMore(more);
      children = (await provider.getChildren(group)) as ServerElement[];
      more = children[children.length - 1];
    }
    assert.equal(children.length, TOTAL, 'every entity once, no "Load more" left');
    assert.deepEqual(new Set(children.map((c) => c.node.id)).size, TOTAL, 'no duplicates');
    assert.ok(
      changed.every((e) => e === group),
      'only the paged group is refreshed, not the whole view',
    );
    assert.ok(
      calls.every((c) => (c.limit ?? 0) <= TREE_PAGE_SIZE),
      'never asks for more than a page',
    );
    assert.equal(provider.getParent(children[TOTAL - 1]), group, 'getParent works for reveal');
    provider.dispose();
  });

  it('renders health as a themed codicon, and marks repairable items for the context menu', async () => {
    const provider = new ClusterTreeProvider('shards', fakeSource([]));
    const [group] = await provider.getChildren();
    const [ok, bad] = (await provider.getChildren(group)) as ServerElement[];
    const okItem = provider.getTreeItem(ok);
    const badItem = provider.getTreeItem(bad);
    assert.equal(iconColor(okItem), 'testing.iconPassed');
    assert.equal(iconColor(badItem), 'problemsErrorIcon.foreground');
    assert.match(badItem.contextValue ?? '', /^clusterDebugger\.entity\b.*\brepairable\b/);
    assert.doesNotMatch(okItem.contextValue ?? '', /\brepairable\b/);
    provider.dispose();
  });

  it('shows an error node, not an exception, when the server fails or lacks the request', async () => {
    const provider = new ClusterTreeProvider('wal', {
      state: () => ({ kind: 'ready' }),
      treeChildren: () => Promise.reject(new Error('Unhandled method clusterDebugger/treeChildren')),
    });
    const [node] = await provider.getChildren();
    assert.equal(node.type, 'message');
    const item = provider.getTreeItem(node);
    assert.match(String(item.label), /Could not load: Unhandled method/);
    assert.equal(iconColor(item), 'problemsErrorIcon.foreground');
    provider.dispose();
  });

  it('says why a view is empty, and stays empty (welcome content) while disconnected', async () => {
    const empty = new ClusterTreeProvider('ddl', { state: () => ({ kind: 'ready' }), treeChildren: async () => [] });
    const [node] = await empty.getChildren();
    assert.match(String(empty.getTreeItem(node).label), /No entities/);
    const welcome = new ClusterTreeProvider('ddl', {
      state: () => ({ kind: 'welcome' }),
      treeChildren: async () => assert.fail('must not ask'),
    });
    assert.deepEqual(await welcome.getChildren(), []);
    empty.dispose();
    welcome.dispose();
  });
});
