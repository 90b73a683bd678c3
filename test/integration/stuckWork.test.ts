// The Stuck Work view in a real VS Code, on the bundled simulator with every incident: its items
// (label, age, what they wait on) oldest first, a chain expanded to its end, the repair that end
// offers run through the extension's repair flow, and the view refreshed without that item.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ApplyRepairResult } from '../../src/protocol/lsp';
import type { ClusterDebuggerApi, ViewItem } from '../../src/extension/api/extensionApi';
import { activateExtension, logTail, waitFor } from './helpers';

const WAL = 'by-dev-rootcoord-dml_1';

type StuckViewItem = ViewItem & { stuck: NonNullable<ViewItem['stuck']> };

async function stuckItems(api: ClusterDebuggerApi, parent?: ViewItem): Promise<StuckViewItem[]> {
  return (await api.viewItems('stuck', parent)).filter((i): i is StuckViewItem => i.stuck !== undefined);
}

const describeView = (items: readonly ViewItem[]) => JSON.stringify(items.map((i) => [i.treeItem.label, i.treeItem.description]));

describe('Stuck Work view', function () {
  this.timeout(180_000);
  this.bail(true);
  let api: ClusterDebuggerApi;
  let seen: readonly ViewItem[] = [];

  before(async () => {
    api = await activateExtension();
  });

  after(async () => {
    if (api?.simulator()) await vscode.commands.executeCommand('clusterDebugger.stopSimulator');
  });

  it('lists what waits in every subsystem, oldest first, each with its age and what it waits on', async () => {
    const started = await vscode.commands.executeCommand<{ url: string } | undefined>('clusterDebugger.startSimulator', {
      scenario: 'incident-all',
    });
    assert.ok(started, `the simulator started (log: ${logTail()})`);
    const items = await waitFor(
      'stuck items of the five subsystems in the Stuck Work view',
      async () => {
        const list = await stuckItems(api);
        seen = list;
        return new Set(list.map((i) => i.stuck.item.subsystem)).size === 5 && list;
      },
      { describe: () => describeView(seen) },
    );
    for (const i of items) {
      assert.equal(i.cluster, 'sim');
      assert.equal(i.stuck.step, 0);
      assert.ok(i.treeItem.collapsibleState === vscode.TreeItemCollapsibleState.Collapsed, `${i.treeItem.label}: a chain to expand`);
    }
    const ages = items.map((i) => i.stuck.item.age ?? -1);
    assert.deepEqual(
      ages,
      [...ages].sort((a, b) => b - a),
      'oldest first, unknown ages last',
    );
    const labels = items.map((i) => [i.treeItem.label, i.treeItem.description]);
    assert.ok(
      labels.some(([l, d]) => l === 'close(node-1)' && new RegExp(`^\\d+m\\d+s · waits on append\\(${WAL}\\) ×5$`).test(String(d))),
      describeView(items),
    );
    assert.ok(
      labels.some(([l, d]) => l === 'partition(orders) ×4' && /^\d+m\d+s · waits on report\(spu-5001\)$/.test(String(d))),
      describeView(items),
    );
    assert.ok(
      labels.some(([l, d]) => /^prepared\(store-1\/region-\d+\)$/.test(String(l)) && d === 'age unknown · waits on write batch(store-1)'),
      describeView(items),
    );
    assert.ok(
      labels.some(([l]) => /^shards\(.+\) ×300$/.test(String(l))),
      describeView(items),
    );
    assert.ok(
      labels.some(([l]) => /^CreateTable\(greptime\.public\.\w+\) ×25$/.test(String(l))),
      describeView(items),
    );
  });

  it('expands a chain to its end, which offers the repair', async () => {
    const close = (await stuckItems(api)).find((i) => i.treeItem.label === 'close(node-1)')!;
    const [append] = await stuckItems(api, close);
    assert.equal(append?.treeItem.label, `append(${WAL}) ×5`);
    assert.equal(append.treeItem.description, `waits on recovery(${WAL})`);
    const [recovery] = await stuckItems(api, append);
    assert.equal(recovery?.treeItem.label, `recovery(${WAL})`);
    assert.equal(recovery.treeItem.collapsibleState, vscode.TreeItemCollapsibleState.None, 'the end of the chain');
    assert.deepEqual(await stuckItems(api, recovery), []);
    assert.match(String(recovery.treeItem.contextValue), /^clusterDebugger\.stuck\b.*\bfixable\b/, 'the inline repair action shows on it');
    const repair = recovery.stuck.item.chain[recovery.stuck.step]!.repair;
    assert.deepEqual(repair && [repair.findingId, repair.repairId], ['wal/close-blocked:node-1', 'cancel-appends-and-close']);
  });

  it('runs that repair through the repair flow, and the view drops the item', async () => {
    const close = (await stuckItems(api)).find((i) => i.treeItem.label === 'close(node-1)')!;
    const end = close.stuck.item.chain.at(-1)!.repair!;
    const result = await vscode.commands.executeCommand<ApplyRepairResult | undefined>('clusterDebugger.repairStuck', {
      cluster: 'sim',
      findingId: end.findingId,
      repairId: end.repairId,
    });
    assert.equal(result?.ok, true, `${result?.summary} (log: ${logTail()})`);
    await waitFor(
      'the WAL close to leave the Stuck Work view',
      async () => {
        const list = await stuckItems(api);
        seen = list;
        return list.length > 0 && !list.some((i) => i.treeItem.label === 'close(node-1)');
      },
      { timeoutMs: 20_000, describe: () => describeView(seen) },
    );
  });

  it('is empty once the simulator is stopped, for the welcome content', async () => {
    await vscode.commands.executeCommand('clusterDebugger.stopSimulator');
    await waitFor('the Stuck Work view to empty', async () => (seen = await api.viewItems('stuck')).length === 0, {
      describe: () => describeView(seen),
    });
  });
});
