/**
 * Findings from counts over LSP: the real language server against the real simulator, with a gate
 * in between that holds the sync's first `cluster.list` (and whatever the server sends after it).
 * While it is held, no page has arrived: the diagnostics then are the provisional findings of the
 * checks on `cluster.summary`, which say so and offer no repair. Released, the sync ends and the
 * full findings replace them under the same ids. No timing is involved.
 */
import * as assert from 'node:assert/strict';
import type { CodeAction, Diagnostic, Hover } from 'vscode-languageserver/node';
import {
  LspMethods,
  UNFINISHED_PROCEDURE_STATUSES,
  SUBSYSTEMS,
  clusterDocUri,
  type ClusterInfo,
  type FindingSummary,
  type Subsystem,
} from '../../src/protocol';
import { snapshot } from '../sim/helpers';
import { useGatedServer } from './gatedServer';

const NAME = 'big';
const doc = (s: Subsystem) => clusterDocUri(NAME, s);
const fmt = (n: number) => n.toLocaleString('en-US');
const PROVISIONAL = /\(from counts; the full sync is 0% done\)$/;
/** A diagnostic's text (the protocol allows markup; this server sends strings). */
const text = (d: Diagnostic) => String(d.message);

describe('provisional findings from counts (real server, real simulator, the sync held before its first page)', function () {
  this.timeout(60_000);
  // Each test starts its own scenario (rig.start) behind a gate that holds the first page request.
  const rig = useGatedServer({ holdRepair: 1, method: 'cluster.list' });

  /** Connects through a gate that holds the first page; resolves once it is held, with the connect still pending. */
  async function connectHeld(args: string[]): Promise<{ connected: Promise<ClusterInfo>; info: ClusterInfo }> {
    await rig.start(args);
    const connected = rig.lsp.request<ClusterInfo>(LspMethods.connect, { name: NAME, url: rig.gate.url, token: rig.sim.token });
    await rig.gate.held();
    // Messages come in order: once this answers, every diagnostic published before it has arrived.
    const { clusters } = await rig.lsp.request<{ clusters: ClusterInfo[] }>(LspMethods.clusters, {});
    return { connected, info: clusters[0]! };
  }

  const codeActions = (uri: string, d: Diagnostic) =>
    rig.lsp.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: d.range,
      context: { diagnostics: [d], only: ['quickfix'] },
    });

  it('shows the dangling shards and the DDL backlog before any page arrives, with the counts, and replaces them when the sync ends', async () => {
    const { connected, info } = await connectHeld([
      '--scenario',
      'incident-all',
      '--seed',
      '2',
      '--dangling-shards',
      '12000',
      '--live-shards',
      '30',
      '--ddl-retries',
      '400',
    ]);
    assert.equal(info.state, 'syncing');
    assert.equal(info.sync?.done, 0, 'no page has arrived');
    assert.equal(info.status, null, 'no model yet');
    assert.equal(info.provisional, 2, 'the cluster info says the findings are provisional');
    assert.equal(info.errors, 2);

    // What the cluster holds, read in full past the gate: the counts the messages must give.
    const snap = await snapshot(await rig.sim.client(), 5000);
    const shardsDoc = rig.lsp.diagnostics.get(doc('shards')) ?? [];
    assert.equal(shardsDoc.length, 1, JSON.stringify(shardsDoc));
    const early = shardsDoc[0]!;
    const findingId = (early.data as { findingId: string }).findingId;
    assert.equal(early.code, 'shards/dangling');
    const group = findingId.slice('shards/dangling:'.length);
    const ofSource = (s: { indexUid: string; sourceId: string }) => `${s.indexUid}/${s.sourceId}` === group;
    const open = [...snap['quickwit.metastore.shards'].values()].filter((s) => ofSource(s) && s.shardState !== 'closed').length;
    const known = [...snap['quickwit.controlPlane.shards'].values()].filter(ofSource).length;
    const held = [...snap['quickwit.ingester.shards'].values()].filter(ofSource).length;
    assert.ok(open > 12_000 && known > 0, `${open} open, ${known} known`);
    assert.match(text(early), new RegExp(`^At least ${fmt(open - known - held)} shards of index `));
    assert.ok(
      text(early).includes(`${fmt(open)} not closed in the metastore, ${fmt(known)} in the control plane, ${fmt(held)} on ingesters.`),
      text(early),
    );
    assert.match(text(early), PROVISIONAL);
    assert.equal(early.range.start.line, 0, 'no document yet: the top line');
    assert.deepEqual(await codeActions(doc('shards'), early), [], 'no repair from counts');

    const [backlog] = rig.lsp.diagnostics.get(doc('ddl')) ?? [];
    assert.equal(backlog?.code, 'ddl/backlog');
    const unfinished = [...snap['greptime.procedures'].values()].filter((p) => UNFINISHED_PROCEDURE_STATUSES.includes(p.status)).length;
    assert.match(text(backlog), new RegExp(`^DDL procedures are piling up in metasrv: ${fmt(unfinished)} unfinished procedures`));
    assert.match(text(backlog), PROVISIONAL);
    for (const s of ['wal', 'regions', 'partitions'] as const)
      assert.deepEqual(rig.lsp.diagnostics.get(doc(s)) ?? [], [], `${s}: nothing the counts prove`);

    const { findings } = await rig.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: NAME });
    assert.deepEqual(findings.map((f) => [f.id, f.provisional, f.repairs.length]).sort(), [
      ['ddl/backlog:metasrv', true, 0],
      [findingId, true, 0],
    ]);
    const hover = await rig.lsp.request<Hover>('textDocument/hover', {
      textDocument: { uri: doc('shards') },
      position: { line: 0, character: 0 },
    });
    const because = (hover.contents as { value: string }).value.replace(/\\(.)/g, '$1');
    assert.ok(because.includes(`The control plane (epoch `) && because.includes(`counts ${fmt(known)} of ${group}`), because);

    rig.gate.release();
    const live = await connected;
    assert.equal(live.state, 'live');
    assert.equal(live.provisional, undefined, 'nothing provisional once synced');
    const full = await rig.lsp.waitForDiagnostics(doc('shards'), (d) =>
      d.some((x) => x.code === 'shards/dangling' && !text(x).includes('from counts')),
    );
    const dangling = full.find((x) => x.code === 'shards/dangling')!;
    assert.equal((dangling.data as { findingId: string }).findingId, findingId, 'the same finding, now from the entities');
    assert.match(text(dangling), new RegExp(`^${fmt(open - known)} shards of index `));
    assert.ok(
      (await codeActions(doc('shards'), dangling)).some((a) => a.isPreferred),
      'a repair is offered now',
    );
    for (const s of SUBSYSTEMS) for (const d of rig.lsp.diagnostics.get(doc(s)) ?? []) assert.ok(!text(d).includes('from counts'), text(d));
    const after = await rig.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: NAME });
    assert.ok(after.findings.every((f) => f.provisional === undefined));
  });

  it('a healthy cluster has no provisional finding', async () => {
    const { connected, info } = await connectHeld(['--scenario', 'healthy', '--seed', '2']);
    assert.equal(info.state, 'syncing');
    assert.equal(info.provisional, undefined);
    assert.equal(info.errors + info.warnings, 0);
    for (const s of SUBSYSTEMS) assert.deepEqual(rig.lsp.diagnostics.get(doc(s)) ?? [], [], s);
    rig.gate.release();
    assert.equal((await connected).state, 'live');
    for (const s of SUBSYSTEMS) assert.deepEqual(rig.lsp.diagnostics.get(doc(s)) ?? [], [], s);
  });
});
