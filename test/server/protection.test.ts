/**
 * Protection levels, enforced by the language server itself: a `read-only`
 * cluster gets no repair, whatever sends it (here a bare LSP client's
 * `workspace/executeCommand`, with no editor in between), and its quick
 * fixes come disabled with the reason. The preview works on it all the same:
 * it sends nothing.
 */
import * as assert from 'node:assert/strict';
import type { CodeAction } from 'vscode-languageserver/node';
import {
  LspCommands,
  LspMethods,
  type ApplyRepairResult,
  type ClusterInfo,
  type FindingSummary,
  type PreviewResult,
} from '../../src/protocol';
import { useLanguageServer } from './lsp';
import { startSim, type RunningSim } from './sim';
import { clusterDocUri } from '../../src/protocol/uri';

describe('protection levels (real language server, real simulator)', function () {
  this.timeout(60_000);
  const t = useLanguageServer();

  async function metastoreShards(sim: RunningSim): Promise<number> {
    return (await (await sim.client()).request('cluster.status', {})).counts['quickwit.metastore.shards'];
  }

  it('a read-only cluster refuses a repair sent straight to the server, and accepts it once the level is lowered', async () => {
    const sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1']);
    t.sims.push(sim);
    const info = await t.lsp.request<ClusterInfo>(LspMethods.connect, {
      name: 'prod',
      url: sim.url,
      token: sim.token,
      protection: 'read-only',
    });
    assert.equal(info.protection, 'read-only');
    const { findings } = await t.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'prod' });
    const dangling = findings.find((f) => f.rule === 'shards/dangling')!;
    const args = { cluster: 'prod', findingId: dangling.id, repairId: 'delete-uninitialised' };
    const shardsBefore = await metastoreShards(sim);

    // The preview sends nothing, so it is allowed, and says what the repair would do.
    const { preview, text } = await t.lsp.request<PreviewResult>(LspMethods.preview, args);
    assert.ok(preview);
    assert.deepEqual(
      preview.resolves.map((f) => f.id),
      [dangling.id],
    );
    assert.match(preview.summary, /^resolves 1 finding, creates none; deletes [\d,]+ metastore shards$/);
    assert.match(text, /Findings resolved \(1\)/);

    const refused = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [args],
    });
    assert.equal(refused.ok, false);
    assert.equal(refused.applied, 0);
    assert.match(refused.summary, /prod is protected read-only.*nothing was sent/);
    const all = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyAllSafe,
      arguments: [{ cluster: 'prod' }],
    });
    assert.match(all.summary, /protected read-only/);
    assert.equal(await metastoreShards(sim), shardsBefore, 'no shard was deleted');

    // Its quick fixes are offered disabled, with the reason.
    const uri = clusterDocUri('prod', 'shards');
    const [diagnostic] = await t.lsp.waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'shards/dangling'));
    const actions = await t.lsp.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic] },
    });
    assert.ok(actions.length > 0);
    for (const a of actions) assert.match(a.disabled?.reason ?? '', /protected read-only/);
    // The hover says why too: a client that hides disabled actions shows an empty lightbulb.
    const hover = await t.lsp.request<{ contents: { value: string } } | null>('textDocument/hover', {
      textDocument: { uri },
      position: diagnostic.range.start,
    });
    assert.match(hover?.contents.value ?? '', /\*\*Quick fixes disabled:\*\* Read-only: prod is protected read-only/);

    // The setting changes: the same request now repairs.
    const lowered = await t.lsp.request<ClusterInfo>(LspMethods.setProtection, { cluster: 'prod', protection: 'confirm' });
    assert.equal(lowered.protection, 'confirm');
    const done = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [args],
    });
    assert.ok(done.applied > 0, done.summary);
    assert.equal(await metastoreShards(sim), shardsBefore - done.applied);
  });

  it('a client that names no level gets confirm, which the server does not enforce (the editor asks)', async () => {
    const sim = await startSim(['--scenario', 'healthy', '--seed', '1']);
    t.sims.push(sim);
    const info = await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'other', url: sim.url, token: sim.token });
    assert.equal(info.protection, 'confirm');
  });
});
