// `Cluster: Compare Snapshots…` in a real VS Code, called with arguments (no picks): two snapshot
// files of the workspace open in VS Code's diff editor, and the comparison's findings summary
// (appeared / resolved) comes back and is in the report document; then a live cluster as one side.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { renderSnapshot, type ClusterModel } from '../../src/analysis';
import type { CompareOutcome } from '../../src/extension/views/compare';
import { BundledSimulator } from '../../src/extension/processes/simulator';
import * as F from '../unit/fixtures';
import { EXTENSION_ID, activateExtension, waitFor } from './helpers';

/** `n` dangling shards (in the metastore only, with a ready ingester), and one healthy partition. */
function cluster(n: number): ClusterModel {
  const b = F.model({ clusterName: 'prod' })
    .add('quickwit.ingesters', { key: 'ingester-1', version: 1, nodeId: 'ingester-1', status: 'ready' })
    .add('fluvio.partitions', F.partition('events', 0, { version: n ? 7 : 8, resolution: n ? 'Online' : 'OutOfStorage' }));
  for (let i = 0; i < n; i++) b.add('quickwit.metastore.shards', F.metastoreShard(`d${i}`));
  return b.build();
}

function diffTabs(): vscode.TabInputTextDiff[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs.map((t) => t.input))
    .filter((i): i is vscode.TabInputTextDiff => i instanceof vscode.TabInputTextDiff);
}

describe('Cluster: Compare Snapshots…', function () {
  this.timeout(120_000);

  before(async () => {
    await activateExtension();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens the diff editor on two snapshot files and reports the findings that appeared and were resolved', async () => {
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const before = join(folder, 'before.clustersnap');
    const after = join(folder, 'after.clustersnap');
    writeFileSync(before, renderSnapshot(cluster(30)));
    writeFileSync(after, renderSnapshot(cluster(0)));

    const outcome = await vscode.commands.executeCommand<CompareOutcome | undefined>('clusterDebugger.compareSnapshots', {
      a: before,
      b: after,
    });
    assert.ok(outcome, 'the command returned its outcome (a failure would have been shown and logged instead)');
    assert.equal(outcome.identical, false);
    assert.equal(outcome.totals.removed, 30);
    assert.equal(outcome.totals.changed, 1, 'the partition');
    assert.deepEqual(
      outcome.findings.resolved.map((id) => id.split(':')[0]),
      ['shards/dangling'],
    );
    assert.deepEqual(
      outcome.findings.appeared.map((id) => id.split(':')[0]),
      [],
      'no new finding: the SPU does not report a full disk',
    );
    assert.match(outcome.summary, /0 added, 30 removed, 1 changed in 2 collections; findings: 0 appeared, 1 resolved/);

    const tab = await waitFor('the diff editor on before ↔ after', () =>
      diffTabs().find((t) => t.original.fsPath === vscode.Uri.file(before).fsPath && t.modified.fsPath === vscode.Uri.file(after).fsPath),
    );
    assert.equal(tab.original.toString(), outcome.left.toString());
    assert.equal(tab.modified.toString(), outcome.right.toString());

    const report = (await vscode.workspace.openTextDocument(outcome.reportUri)).getText();
    assert.match(report, /quickwit\.metastore\.shards: 30 removed/);
    assert.match(report, /resolution: Online → OutOfStorage/);
    assert.match(report, /resolved {2}shards\/dangling:/);
  });

  it('compares a snapshot file with a live cluster', async () => {
    const script = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'out', 'cluster-sim.js');
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const sim = await BundledSimulator.start({ script, scenario: 'healthy', log: quiet });
    const name = 'compare-live';
    try {
      await vscode.commands.executeCommand('clusterDebugger.connect', { url: sim.url, name, token: sim.token });
      const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
      const file = join(folder, 'dangling.clustersnap');
      writeFileSync(file, renderSnapshot(cluster(5)));
      const outcome = await vscode.commands.executeCommand<CompareOutcome | undefined>('clusterDebugger.compareSnapshots', {
        a: file,
        b: { cluster: name },
      });
      assert.ok(outcome);
      assert.equal(outcome.identical, false);
      assert.deepEqual(
        outcome.findings.resolved.map((id) => id.split(':')[0]),
        ['shards/dangling'],
      );
      assert.equal(outcome.right.scheme, 'cluster-compare');
      await waitFor('the diff editor on the file ↔ the live cluster', () =>
        diffTabs().find((t) => t.modified.toString() === outcome.right.toString()),
      );
      const live = (await vscode.workspace.openTextDocument(outcome.right)).getText();
      assert.match(live, /^cluster sim scenario=healthy /m);
    } finally {
      await vscode.commands.executeCommand('clusterDebugger.disconnect', name);
      await sim.stop();
    }
  });
});
