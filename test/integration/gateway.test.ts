// A cluster-gateway in a real VS Code: `Cluster: Start Gateway…` starts the bundled
// out/cluster-gateway.js from the workspace's config file and connects under the file's name; the
// Clusters view shows it read-only with its subsystems not configured; Repair All Safe says it is
// read-only; disconnecting stops it. `Cluster: Connect…` reaches a gateway started by hand.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { SUBSYSTEMS } from '../../src/protocol/collections';
import { ClusterClient } from '../../src/cluster/client';
import type { ClusterDebuggerApi } from '../../src/extension/api/extensionApi';
import { activateExtension, EXTENSION_ID, logTail, waitFor } from './helpers';
import { testSecret } from '../secrets';

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

function iconId(item: vscode.TreeItem): string | undefined {
  return item.iconPath instanceof vscode.ThemeIcon ? item.iconPath.id : undefined;
}

describe('cluster-gateway in a real VS Code', function () {
  this.timeout(120_000);
  this.bail(true);
  let api: ClusterDebuggerApi;
  let config: string;
  let byHand: ChildProcess | undefined;

  before(async () => {
    api = await activateExtension();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder, 'the test host opens a workspace folder');
    config = join(folder, 'ro.cluster-gateway.json');
    writeFileSync(config, '{}\n');
  });

  after(async () => {
    for (const name of ['ro', 'byhand']) {
      if (api.clusters().some((c) => c.name === name)) await vscode.commands.executeCommand('clusterDebugger.disconnect', name);
    }
    byHand?.kill();
    rmSync(config, { force: true });
  });

  it('Start Gateway… finds the workspace config, starts the gateway and connects it under the file name, read-only', async () => {
    const started = await vscode.commands.executeCommand<{ name: string; url: string } | undefined>('clusterDebugger.startGateway');
    assert.equal(started?.name, 'ro', `started from ro.cluster-gateway.json (log: ${logTail()})`);
    assert.match(started!.url, /^ws:\/\/127\.0\.0\.1:\d+/);
    const info = await waitFor('the gateway cluster to be live', () => api.clusters().find((c) => c.name === 'ro' && c.state === 'live'), {
      describe: () => JSON.stringify(api.clusters().map((c) => [c.name, c.state])),
    });
    assert.equal(info.status?.readOnly, true);
    assert.equal(info.status?.scenario, 'gateway');
  });

  it('the Clusters view shows it read-only (lock) with every subsystem not configured', async () => {
    const item = (await api.viewItems('clusters')).find((i) => i.cluster === 'ro');
    assert.ok(item, 'the cluster is listed');
    assert.match(String(item.treeItem.description), /^live · read-only/);
    assert.equal(iconId(item.treeItem), 'lock');
    assert.match((item.treeItem.tooltip as vscode.MarkdownString).value, /Read-only/);
    assert.match(String(item.treeItem.contextValue), /\bgateway\b/);
    const subsystems = await api.viewItems('clusters', item);
    assert.deepEqual(
      subsystems.map((s) => String(s.treeItem.description)),
      SUBSYSTEMS.map(() => 'not configured'),
    );
  });

  it('each subsystem view says "not configured" as a message, not an error', async () => {
    for (const s of SUBSYSTEMS) {
      // A refresh of the view may cancel a read in flight: read again until the page is whole.
      let seen = '';
      const [root, child] = await waitFor(
        `${s}: the gateway's root and its message`,
        async () => {
          const root = (await api.viewItems(s)).find((i) => i.cluster === 'ro');
          const [child] = root ? await api.viewItems(s, root) : [];
          seen = child ? label(child.treeItem) : '(none)';
          return root && child && !/^Could not load/.test(seen) ? ([root, child] as const) : undefined;
        },
        { timeoutMs: 20_000, describe: () => seen },
      );
      assert.match(String(root.treeItem.description), /not configured · read-only/);
      assert.equal(child.kind, 'message');
      assert.match(label(child.treeItem), /^Not configured: no \w+ section in the gateway config$/);
      assert.equal(child.node?.health, 'none');
    }
  });

  it('Repair All Safe on the read-only gateway says so and sends nothing', async () => {
    const result = await api.repairAllSafe('ro');
    assert.equal(result.ok, false);
    assert.match(result.summary, /read-only/);
    assert.equal(result.applied + result.refused, 0);
  });

  it('Connect… reaches a gateway started by hand', async () => {
    const script = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'out', 'cluster-gateway.js');
    const token = testSecret('gateway');
    byHand = spawn(process.execPath, [script, '--config', config, '--port', '0'], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', CLUSTER_GATEWAY_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    byHand.stdout!.on('data', (d) => (out += d));
    const url = await waitFor('the hand-started gateway to listen', () => /listening (ws:\/\/\S+)/.exec(out)?.[1], {
      timeoutMs: 30_000,
      describe: () => out,
    });
    await vscode.commands.executeCommand('clusterDebugger.connect', { url, name: 'byhand', token });
    const info = await waitFor('byhand to be live', () => api.clusters().find((c) => c.name === 'byhand' && c.state === 'live'));
    assert.equal(info.status?.readOnly, true);
    await vscode.commands.executeCommand('clusterDebugger.disconnect', 'byhand');
    assert.equal(byHand.exitCode, null, 'disconnecting does not stop a gateway this window did not start');
  });

  it('disconnecting the started gateway stops it', async () => {
    const url = api.clusters().find((c) => c.name === 'ro')!.url;
    await vscode.commands.executeCommand('clusterDebugger.disconnect', 'ro');
    await waitFor('ro to leave', () => !api.clusters().some((c) => c.name === 'ro'));
    await waitFor('the gateway process to stop listening', async () => {
      try {
        (await ClusterClient.connect({ url, token: testSecret('wrong'), clientName: 'probe' })).close();
        return false;
      } catch (e) {
        return /ECONNREFUSED/.test(String(e));
      }
    });
  });
});
