/**
 * The user's role reaches the editor (#20 item 7): the real language server connected to a real
 * gateway with per-user tokens, over a real etcd, gives the cluster's `ClusterInfo.caller` (what the
 * Clusters view shows); a viewer's quick fixes come disabled with "your role on this gateway is
 * viewer", and its Repair All is refused before anything is sent; an operator's are not disabled.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { CodeAction } from 'vscode-languageserver/node';
import { hashToken } from '../../src/cluster/auth';
import { LspCommands, LspMethods, type ApplyRepairResult, type ClusterInfo, type ClustersResult } from '../../src/protocol';
import { clusterDocUri } from '../../src/protocol/uri';
import { LspHarness } from '../server/lsp';
import { startSim, type RunningSim } from '../server/sim';
import { snapshotKeys, startEtcd, type RunningEtcd } from './etcd';
import { startGateway, type RunningGateway } from './gateway';

const VIEWER_REASON = 'your role on this gateway is viewer (user bob is a viewer: repairs need the operator role)';

describe("the caller's role in the editor (real language server, real gateway with per-user tokens, real etcd)", function () {
  this.timeout(120_000);
  const aliceToken = randomBytes(18).toString('hex');
  const bobToken = randomBytes(18).toString('hex');
  let etcd: RunningEtcd | undefined;
  let sim: RunningSim | undefined;
  let gateway: RunningGateway | undefined;
  let lsp: LspHarness | undefined;

  afterEach(async () => {
    await lsp?.stop();
    await gateway?.stop();
    await sim?.stop();
    await etcd?.stop();
    [lsp, gateway, sim, etcd] = [undefined, undefined, undefined, undefined];
  });

  async function codeActions(h: LspHarness, cluster: string): Promise<CodeAction[]> {
    const uri = clusterDocUri(cluster, 'ddl');
    const [diagnostic] = await h.waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'ddl/backlog'), `ddl/backlog on ${cluster}`);
    return h.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic] },
    });
  }

  it("a viewer's connection carries its caller into ClusterInfo and disables its repairs with the reason; an operator's does not", async () => {
    etcd = await startEtcd();
    sim = await startSim(['--etcd', etcd.url, '--scenario', 'greptime-ddl-backlog']);
    gateway = await startGateway({
      greptime: { etcd: { endpoints: [etcd.url] } },
      repairs: true,
      users: [
        { name: 'alice', role: 'operator', tokenHash: await hashToken(aliceToken, { N: 1024, r: 8, p: 1 }) },
        { name: 'bob', role: 'viewer', tokenHash: await hashToken(bobToken, { N: 1024, r: 8, p: 1 }) },
      ],
    });
    lsp = await LspHarness.start();

    const viewer = await lsp.request<ClusterInfo>(LspMethods.connect, { name: 'team', url: gateway.url, token: bobToken });
    assert.deepEqual(viewer.caller, { user: 'bob', role: 'viewer' });
    assert.equal(viewer.protection, 'confirm', 'the setting is as given: the role makes it read-only, not the level');
    assert.notEqual(viewer.status?.readOnly, true, 'the gateway itself repairs');
    const operator = await lsp.request<ClusterInfo>(LspMethods.connect, { name: 'team-ops', url: gateway.url, token: aliceToken });
    assert.deepEqual(operator.caller, { user: 'alice', role: 'operator' });
    const { clusters } = await lsp.request<ClustersResult>(LspMethods.clusters, {});
    assert.deepEqual(
      clusters.map((c) => [c.name, c.caller]),
      [
        ['team', { user: 'bob', role: 'viewer' }],
        ['team-ops', { user: 'alice', role: 'operator' }],
      ],
    );

    // The viewer's quick fixes are offered disabled, with why; the operator's are not.
    const viewerActions = await codeActions(lsp, 'team');
    assert.ok(viewerActions.length > 0);
    for (const a of viewerActions) assert.equal(a.disabled?.reason, `Read-only: ${VIEWER_REASON}`);
    const operatorActions = await codeActions(lsp, 'team-ops');
    assert.ok(operatorActions.length > 0);
    assert.ok(
      operatorActions.every((a) => !a.disabled),
      JSON.stringify(operatorActions.map((a) => a.disabled)),
    );

    // Repair All from the viewer, sent straight to the server: refused before anything is sent.
    const before = await snapshotKeys(etcd.client, ['/__procedure__/']);
    const all = await lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyAllSafe,
      arguments: [{ cluster: 'team' }],
    });
    assert.equal(all.ok, false);
    assert.equal(all.summary, `Refused: ${VIEWER_REASON}; nothing was sent`);
    assert.deepEqual(await snapshotKeys(etcd.client, ['/__procedure__/']), before, 'nothing was written');
    // No token in what the server said.
    const said = JSON.stringify([viewer, operator, clusters, viewerActions, all]) + lsp.logs.join('\n') + gateway.output();
    assert.ok(!said.includes(aliceToken) && !said.includes(bobToken), 'a token appears in an answer or a log');
  });
});
