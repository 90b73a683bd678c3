/**
 * The real language server process, driven over LSP (stdio), against the real
 * simulator. Asserts what the editor would show: published diagnostics, code
 * actions, tree children, and the cluster's state after a repair.
 */
import * as assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { CodeAction, Diagnostic } from 'vscode-languageserver/node';
import {
  LspCommands,
  LspMethods,
  type ApplyRepairArgs,
  type ApplyRepairResult,
  type ClusterInfo,
  type FindingSummary,
  type ScenarioName,
  type Subsystem,
  type TreeNode,
} from '../../src/protocol';
import { keys } from '../../src/protocol';
import { runbookUrl } from '../../src/protocol/runbooks';
import { processRunbooksBase } from '../../src/engine/runbooks';
import { SCENARIO_RULES, type IncidentScenario } from '../scenarioRules';
import { RESTART_DOWN_TICKS } from '../../src/simulator/quickwit';
import { LspHarness, useLanguageServer } from './lsp';
import { incarnationOf } from '../sim/helpers';
import { ROOT, startSim, type RunningSim } from './sim';
import { clusterDocUri } from '../../src/protocol/uri';

const doc = clusterDocUri;
const codes = (d: Diagnostic[]) => [...new Set(d.map((x) => String(x.code)))].sort();

/** The document each incident scenario's diagnostics land on. */
const SCENARIO_DOCUMENT: Record<IncidentScenario, Subsystem> = {
  'quickwit-dangling-shards': 'shards',
  'milvus-wal-close-blocked': 'wal',
  'greptime-ddl-backlog': 'ddl',
  'tikv-stale-prepared-region': 'regions',
  'fluvio-out-of-space-reverted': 'partitions',
};

describe('language server (real process, real simulator)', function () {
  this.timeout(60_000);
  const t = useLanguageServer();

  async function connect(name: string, scenario: ScenarioName, extra: string[] = []): Promise<RunningSim> {
    const sim = await startSim(['--scenario', scenario, '--seed', '1', ...extra]);
    t.sims.push(sim);
    const info = await t.lsp.request<ClusterInfo>(LspMethods.connect, { name, url: sim.url, token: sim.token });
    assert.equal(info.state, 'live');
    return sim;
  }

  for (const [scenario, subsystem] of Object.entries(SCENARIO_DOCUMENT) as Array<[IncidentScenario, Subsystem]>) {
    const rules = SCENARIO_RULES[scenario];
    it(`publishes ${rules.join(', ')} for ${scenario}, and nothing on the other documents`, async () => {
      await connect('sim', scenario);
      const diagnostics = await t.lsp.waitForDiagnostics(doc('sim', subsystem), (d) => d.length > 0);
      assert.deepEqual(codes(diagnostics), [...rules].sort());
      for (const d of diagnostics) {
        assert.equal(d.source, 'cluster-debugger');
        assert.deepEqual(Object.keys(d.data as object).sort(), ['cluster', 'findingId']);
        assert.ok(!String(d.message).startsWith('[stale]'));
      }
      // Every subsystem document is published, even when empty, so clearing works.
      for (const other of ['shards', 'wal', 'ddl', 'regions', 'partitions'] as Subsystem[]) {
        if (other !== subsystem) assert.deepEqual(t.lsp.diagnostics.get(doc('sim', other)), [], `${other} should be clean`);
      }
      // The diagnostic's line is in the document the extension shows.
      const { text } = await t.lsp.request<{ text: string }>(LspMethods.document, { uri: doc('sim', subsystem) });
      const lines = text.split('\n');
      for (const d of diagnostics) assert.ok(d.range.start.line < lines.length, `line ${d.range.start.line} inside the document`);
    });
  }

  it("links each fact of a diagnostic to its entity's line (relatedInformation), and its hover says whose views they are without listing them again", async () => {
    await connect('sim', 'incident-all');
    const { findings } = await t.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'sim' });
    for (const subsystem of ['shards', 'partitions'] as Subsystem[]) {
      const uri = doc('sim', subsystem);
      const diagnostics = await t.lsp.waitForDiagnostics(uri, (d) => d.length > 0);
      const lines = (await t.lsp.request<{ text: string }>(LspMethods.document, { uri })).text.split('\n');
      for (const d of diagnostics) {
        const finding = findings.find((f) => f.id === (d.data as { findingId: string }).findingId)!;
        // One related location per fact, with its sentence, on the line of its entity (or of its group or section).
        const related = d.relatedInformation ?? [];
        assert.deepEqual(
          related.map((r) => r.message),
          finding.facts.map((x) => x.says),
        );
        finding.facts.forEach((x, i) => {
          const at = related[i]!.location;
          assert.equal(at.uri, uri);
          const line = lines[at.range.start.line]!;
          if (x.subject.kind === 'entity') assert.ok(line.includes(x.subject.key), `${x.says}: line ${at.range.start.line} is ${line}`);
          else
            assert.ok(
              line.startsWith('group ') ||
                line.startsWith(`[${x.subject.collection}]`) ||
                (x.subject.key !== undefined && line.includes(x.subject.key)),
              `${x.says}: ${line}`,
            );
        });
        const hover = await t.lsp.request<{ contents: { kind: string; value: string } } | null>('textDocument/hover', {
          textDocument: { uri },
          position: { line: d.range.start.line, character: 3 },
        });
        assert.ok(hover, `a hover on line ${d.range.start.line}`);
        assert.equal(hover.contents.kind, 'markdown');
        const text = hover.contents.value.replace(/\\(.)/g, '$1');
        // Every fact is linked (above), so the hover's own part names their views and when, and repeats none.
        const views = [...new Set(finding.facts.map((x) => x.component))].join(', ');
        const n = finding.facts.length;
        // Its last line, and the diagnostic's code, link the rule's runbook (the copy beside out/server.js).
        const runbook = runbookUrl(finding.rule, processRunbooksBase()!);
        assert.equal(d.codeDescription?.href, runbook);
        assert.equal(
          text,
          `**${d.code}**, because of the ${n} ${n === 1 ? 'fact' : 'facts'} above, each linked to its line: the views of ${views}, read at t=${finding.facts[0]!.readAt} s.\n\n` +
            `Runbook: [${d.code}](${runbook})`,
        );
        for (const x of finding.facts) assert.ok(!text.includes(x.says), `the hover does not repeat ${x.says}:\n${text}`);
      }
    }
    // The Fluvio finding's facts: what the SC says and what the SPU last reported, with its time and version.
    const fluvio = findings.find((f) => f.rule === 'partitions/online-out-of-space')!;
    assert.deepEqual(
      fluvio.facts.slice(0, 2).map((x) => [x.component, x.subject.collection]),
      [
        ['SC', 'fluvio.partitions'],
        ['SPU 5001', 'fluvio.spuReports'],
      ],
    );
    assert.match(fluvio.facts[1]!.says, /^SPU 5001's last report \(t=\d+ s\) says its storage is full/);
    // No hover where there is no diagnostic.
    const nothing = await t.lsp.request<unknown>('textDocument/hover', {
      textDocument: { uri: doc('sim', 'partitions') },
      position: { line: 0, character: 0 },
    });
    assert.equal(nothing, null);
  });

  it('publishes no diagnostics for healthy and for a buggy scenario in fixed mode', async () => {
    await connect('ok', 'healthy');
    await connect('fixed', 'incident-all', ['--bugs', 'fixed']);
    for (const name of ['ok', 'fixed']) {
      for (const s of ['shards', 'wal', 'ddl', 'regions', 'partitions'] as Subsystem[]) {
        await t.lsp.waitForDiagnostics(doc(name, s), (d) => d.length === 0);
      }
    }
    const { clusters } = await t.lsp.request<{ clusters: ClusterInfo[] }>(LspMethods.clusters, {});
    assert.deepEqual(clusters.map((c) => [c.name, c.errors, c.warnings]).sort(), [
      ['fixed', 0, 0],
      ['ok', 0, 0],
    ]);
  });

  it('offers the safe quick fix first; executing it deletes the shards and clears the diagnostic', async () => {
    const sim = await connect('sim', 'quickwit-dangling-shards');
    const uri = doc('sim', 'shards');
    const [diagnostic] = await t.lsp.waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'shards/dangling'));
    const actions = await t.lsp.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic], only: ['quickfix'] },
    });
    assert.ok(actions.length >= 1);
    const preferred = actions.filter((a) => a.isPreferred);
    assert.equal(preferred.length, 1, 'exactly one preferred action');
    assert.match(preferred[0].title, /^Delete [\d,]+ uninitialised shards? .*\(safe\)$/);
    assert.equal(preferred[0].kind, 'quickfix');
    // A command the server itself executes, so any LSP client can run the fix.
    assert.equal(preferred[0].command?.command, LspCommands.applyRepair);
    const { capabilities } = t.lsp.initializeResult as { capabilities: { executeCommandProvider: { commands: string[] } } };
    for (const a of actions)
      assert.ok(capabilities.executeCommandProvider.commands.includes(a.command!.command), `${a.title}: ${a.command?.command}`);
    const args = preferred[0].command!.arguments![0] as ApplyRepairArgs;
    assert.equal(args.cluster, 'sim');

    const client = await sim.client();
    const before = await countAll(client, 'quickwit.metastore.shards');
    const result = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [args],
    });
    assert.equal(result.ok, true, result.summary);
    assert.ok(result.applied > 0);
    assert.equal(result.refused, 0);
    assert.equal(result.resolved, true);
    const after = await countAll(client, 'quickwit.metastore.shards');
    assert.equal(after, before - result.applied, 'the simulator lost exactly the repaired shards');
    await t.lsp.waitForDiagnostics(uri, (d) => !d.some((x) => x.code === 'shards/dangling'), 'the dangling-shards diagnostic to clear');
    // The change notification carries the counts the extension's labels show: they agree with the diagnostics.
    const summary = await t.lsp.waitFor('a didChange whose summary has no shards problem', () =>
      t.lsp.didChanges.at(-1)?.clusters.find((c) => c.name === 'sim' && c.problems.shards === 0),
    );
    assert.equal(summary.errors, 0);
  });

  it('publishes shards/orphaned after an ingester restart (quickwit #6531); the safe quick fix resets the orphans and clears it', async () => {
    const sim = await connect('sim', 'healthy');
    const uri = doc('sim', 'shards');
    await t.lsp.waitForDiagnostics(uri, (d) => d.length === 0, 'the healthy shards document');
    const client = await sim.client();
    await client.request('sim.inject', { fault: 'quickwit.ingesterRollingRestart', target: 'ingester-0' });
    // Orphans appear only when the ingester is back, on the last of these ticks, so what is published is the final state.
    await client.request('sim.tick', { ticks: RESTART_DOWN_TICKS });
    const diagnostics = await t.lsp.waitForDiagnostics(uri, (d) => d.length > 0, 'the orphaned-shards diagnostics');
    assert.deepEqual(codes(diagnostics), ['shards/orphaned']);
    const orphans = await orphanedIngesterShards(client);
    assert.ok(orphans.length > 0);
    assert.ok(orphans.every((o) => o.ingesterId === 'ingester-0' && o.shardState === 'closed'));

    let applied = 0;
    for (const diagnostic of diagnostics) {
      const actions = await t.lsp.request<CodeAction[]>('textDocument/codeAction', {
        textDocument: { uri },
        range: diagnostic.range,
        context: { diagnostics: [diagnostic], only: ['quickfix'] },
      });
      // The shards were reloaded closed from the WAL after the metastore deleted them: nothing here may lose data.
      assert.ok(actions.length >= 1);
      for (const a of actions) assert.match(a.title, /\(safe\)$/);
      const preferred = actions.filter((a) => a.isPreferred);
      assert.equal(preferred.length, 1, 'exactly one preferred action');
      assert.match(preferred[0].title, /^Reset [\d,]+ ingester shards? with no unpublished records of \S+\/_ingest-source \(safe\)$/);
      const args = preferred[0].command!.arguments![0] as ApplyRepairArgs;
      const result = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
        command: LspCommands.applyRepair,
        arguments: [args],
      });
      assert.equal(result.ok, true, result.summary);
      assert.ok(result.applied > 0, result.summary);
      assert.equal(result.refused, 0);
      assert.equal(result.resolved, true);
      applied += result.applied;
    }
    assert.equal(applied, orphans.length, 'one reset per orphaned shard');
    await t.lsp.waitForDiagnostics(uri, (d) => d.length === 0, 'the orphaned-shards diagnostics to clear');
    assert.deepEqual(await orphanedIngesterShards(client), [], 'the simulator no longer has orphaned ingester shards');
  });

  it('refuses the items of a planned repair whose entities moved on, and reports them', async () => {
    const sim = await connect('sim', 'fluvio-out-of-space-reverted');
    const uri = doc('sim', 'partitions');
    const [diagnostic] = await t.lsp.waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'partitions/online-out-of-space'));
    const actions = await t.lsp.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic] },
    });
    const fix = actions.find((a) => a.isPreferred) ?? actions[0];
    assert.ok(fix, 'a quick fix is offered');
    const args = fix.command!.arguments![0] as ApplyRepairArgs;

    // Another operator repairs one of the partitions first: its version moves on.
    const client = await sim.client();
    const partitions = await listAll(client, 'fluvio.partitions');
    const reports = await listAll(client, 'fluvio.spuReports');
    const affected = partitions.filter(
      (p) =>
        p.resolution === 'Online' &&
        reports.some((r) => r.spuId === p.leader.spu && r.topic === p.topic && r.partition === p.partition && r.storageFull),
    );
    assert.ok(affected.length >= 1);
    const first = affected[0];
    const res = await client.request('repair', {
      requestId: `other-operator-${first.key}`,
      incarnation: await incarnationOf(client),
      repair: { command: 'fluvio.restoreFromSpuReport', targets: [{ key: first.key, version: first.version }] },
    });
    assert.equal(res.applied, 1);

    // The editor lists findings again (the palette's pick does): it sees the finding as it is now...
    const current = async () =>
      (await t.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'sim' })).findings.find(
        (f) => f.id === args.findingId,
      );
    for (const deadline = Date.now() + 20_000; (await current())?.count !== affected.length - 1;) {
      assert.ok(Date.now() < deadline, "the server saw the other operator's repair");
      const seen = t.lsp.didChanges.length;
      await t.lsp.waitFor('a change from the server', () => t.lsp.didChanges.length > seen);
    }
    // ...but reading findings does not replace the plan the quick fix showed: the repair still sends that one.
    const { finding: plan } = await t.lsp.request<{ finding: FindingSummary | null }>(LspMethods.plan, {
      cluster: 'sim',
      findingId: args.findingId,
    });
    assert.equal(
      plan?.repairs.find((r) => r.id === args.repairId)?.targetCount,
      affected.length,
      'the pinned plan covers every partition the user saw',
    );

    const result = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [args],
    });
    assert.equal(result.ok, false);
    // The finding still stands (other partitions): the plan the user saw is sent, and the moved entity is refused.
    assert.ok(affected.length > 1, 'the scenario affects several partitions');
    assert.equal(result.refused, 1, result.summary);
    assert.equal(result.applied, affected.length - 1);
    assert.match(result.summary, new RegExp(`refused 1: ${first.key} `));
    assert.ok(
      result.details.some((d) => d.includes(first.key)),
      result.details.join('\n'),
    );
    await t.lsp.waitForDiagnostics(uri, (d) => d.length === 0, 'the partitions diagnostics to clear');
  });

  it('honours per-rule settings from initializationOptions and didChangeConfiguration', async () => {
    await t.lsp.stop();
    t.lsp = await LspHarness.start({ rules: { 'shards/dangling': 'off' } });
    await connect('sim', 'quickwit-dangling-shards');
    const uri = doc('sim', 'shards');
    await t.lsp.waitForDiagnostics(uri, (d) => d.length === 0, 'shards/dangling turned off');
    await t.lsp.notify('workspace/didChangeConfiguration', { settings: { clusterDebugger: { rules: { 'shards/dangling': 'warning' } } } });
    const [d] = await t.lsp.waitForDiagnostics(uri, (x) => x.length > 0, 'shards/dangling back, as a warning');
    assert.equal(d.code, 'shards/dangling');
    assert.equal(d.severity, 2);
  });

  it('pages big tree groups with a loadMore node', async () => {
    await connect('big', 'quickwit-dangling-shards');
    await t.lsp.waitForDiagnostics(doc('big', 'shards'), (d) => d.length > 0);
    const children = (parentId: string | null, cursor?: string) =>
      t.lsp
        .request<{ nodes: TreeNode[] }>(LspMethods.treeChildren, { subsystem: 'shards', parentId, cursor, limit: 100 })
        .then((r) => r.nodes);
    const [root] = await children(null);
    assert.equal(root.kind, 'cluster');
    assert.equal(root.health, 'error');
    // Walk to the biggest group: index → source → metastore.
    let node = root;
    for (const pick of ['index', 'source', 'metastore']) {
      const kids = await children(node.id);
      node = pick === 'metastore' ? kids.find((k) => k.label === 'metastore')! : (kids.find((k) => k.health === 'error') ?? kids[0]);
      assert.ok(node, `a ${pick} node`);
      assert.equal(node.kind, 'group');
    }
    const page1 = await children(node.id);
    assert.equal(page1.length, 101, 'limit entities then loadMore');
    const more = page1[100];
    assert.equal(more.kind, 'loadMore');
    assert.ok(more.cursor);
    const page2 = await children(node.id, more.cursor);
    assert.equal(page2[0].kind, 'entity');
    assert.notEqual(page2[0].id, page1[0].id);
    assert.equal(new Set([...page1, ...page2].map((n) => n.id)).size, page1.length + page2.length, 'ids are unique');
    assert.ok(page1[0].location?.uri.startsWith(clusterDocUri('big', 'shards')));
  });

  it('shows a message node when no cluster is connected', async () => {
    const { nodes } = await t.lsp.request<{ nodes: TreeNode[] }>(LspMethods.treeChildren, { subsystem: 'wal', parentId: null });
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0].kind, 'message');
    assert.match(nodes[0].label, /No cluster connected/);
  });

  it('analyses a snapshot file offline: findings with disabled fixes, syntax errors as diagnostics', async () => {
    await connect('sim', 'fluvio-out-of-space-reverted');
    const { text } = await t.lsp.request<{ text: string }>(LspMethods.snapshot, { cluster: 'sim' });
    const uri = pathToFileURL(join(ROOT, 'out', 'test', 'offline.clustersnap')).href;
    await t.lsp.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'clustersnap', version: 1, text } });
    const diagnostics = await t.lsp.waitForDiagnostics(uri, (d) => d.length > 0);
    assert.deepEqual(codes(diagnostics), ['partitions/online-out-of-space']);
    const actions = await t.lsp.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: diagnostics[0].range,
      context: { diagnostics },
    });
    assert.ok(actions.length > 0);
    for (const a of actions) assert.equal(a.disabled?.reason, 'Repairs need a live connection to the cluster');

    // A client that does not declare textDocument.codeAction.disabledSupport would show them as runnable: it gets none.
    const plain = await LspHarness.start({}, {});
    try {
      await plain.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'clustersnap', version: 1, text } });
      const seen = await plain.waitForDiagnostics(uri, (d) => d.length > 0);
      assert.deepEqual(codes(seen), ['partitions/online-out-of-space']);
      const none = await plain.request<CodeAction[]>('textDocument/codeAction', {
        textDocument: { uri },
        range: seen[0].range,
        context: { diagnostics: seen },
      });
      assert.deepEqual(none, []);
    } finally {
      await plain.stop();
    }

    const broken = `${text}\nthis is not a snapshot line ===\n`;
    await t.lsp.notify('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: broken }] });
    const withError = await t.lsp.waitForDiagnostics(uri, (d) => d.some((x) => x.source === 'clustersnap'));
    const syntax = withError.find((x) => x.source === 'clustersnap')!;
    assert.equal(syntax.severity, 1);
    assert.equal(syntax.range.start.line, broken.split('\n').indexOf('this is not a snapshot line ==='));
  });

  it('saves a snapshot file itself (saveSnapshot), streamed, with progress: the same text as the snapshot request', async () => {
    await connect('sim', 'incident-all');
    const { text } = await t.lsp.request<{ text: string }>(LspMethods.snapshot, { cluster: 'sim' });
    const dir = mkdtempSync(join(tmpdir(), 'save-snapshot-'));
    const path = join(dir, 'sim.clustersnap');
    const saved = await t.lsp.request<{ path: string; bytes: number; entities: number }>(LspMethods.saveSnapshot, {
      cluster: 'sim',
      path,
      workDoneToken: 'save-1',
    });
    assert.equal(saved.path, path);
    assert.equal(readFileSync(path, 'utf8'), text);
    assert.equal(saved.bytes, Buffer.byteLength(text, 'utf8'));
    assert.equal(
      saved.entities,
      text.split('\n').filter((l) => /^\w+ \S+ .*version=\d+$/.test(l) && !/^(cluster|bugs|config|counts) /.test(l)).length,
    );
    const progress = t.lsp.progress.filter((p) => p.token === 'save-1').map((p) => p.value.kind);
    assert.equal(progress[0], 'begin');
    assert.equal(progress.at(-1), 'end');
    assert.deepEqual(readdirSync(dir), ['sim.clustersnap'], 'no temporary file is left');
    const failed = await t.lsp.request(LspMethods.saveSnapshot, { cluster: 'sim', path: 'relative.clustersnap' }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.match(String(failed?.message), /not an absolute path/);
    const missing = await t.lsp
      .request(LspMethods.saveSnapshot, { cluster: 'sim', path: join(dir, 'no', 'such', 'dir', 'x.clustersnap') })
      .then(
        () => undefined,
        (e: Error) => e,
      );
    assert.match(String(missing?.message), /cannot save the snapshot to .*ENOENT/);
  });

  it('marks diagnostics stale when the cluster goes away and refuses to repair from stale state', async () => {
    const sim = await connect('sim', 'tikv-stale-prepared-region');
    const uri = doc('sim', 'regions');
    const [diagnostic] = await t.lsp.waitForDiagnostics(uri, (d) => d.length > 0);
    const data = diagnostic.data as { cluster: string; findingId: string };
    await sim.stop();
    await t.lsp.waitForDiagnostics(
      uri,
      (d) => d.length > 0 && d.every((x) => String(x.message).startsWith('[stale] ')),
      'stale diagnostics',
    );
    const result = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [{ cluster: 'sim', findingId: data.findingId, repairId: 'anything' }],
    });
    assert.equal(result.ok, false);
    assert.match(result.summary, /stale/);
    const { clusters } = await t.lsp.request<{ clusters: ClusterInfo[] }>(LspMethods.clusters, {});
    assert.equal(clusters[0].state, 'stale');

    // The cluster comes back on the same address: the server reconnects (backoff) and resyncs by itself.
    const port = new URL(sim.url).port;
    t.sims.push(await startSim(['--scenario', 'tikv-stale-prepared-region', '--seed', '1', '--port', port, '--token', sim.token]));
    await t.lsp.waitForDiagnostics(
      uri,
      (d) => d.length > 0 && d.every((x) => !String(x.message).startsWith('[stale]')),
      'live diagnostics again',
    );
    const after = await t.lsp.request<{ clusters: ClusterInfo[] }>(LspMethods.clusters, {});
    assert.equal(after.clusters[0].state, 'live');
  });

  it('answers bad params with an error instead of crashing', async () => {
    await assert.rejects(t.lsp.request(LspMethods.treeChildren, { subsystem: 'nope', parentId: null }), /treeChildren/);
    await assert.rejects(t.lsp.request(LspMethods.document, { uri: clusterDocUri('missing', 'shards') }), /no cluster named/);
    const { nodes } = await t.lsp.request<{ nodes: TreeNode[] }>(LspMethods.treeChildren, { subsystem: 'ddl', parentId: null });
    assert.equal(nodes[0].kind, 'message', 'still serving');
  });
});

type Client = Awaited<ReturnType<RunningSim['client']>>;

async function listAll<C extends 'fluvio.partitions' | 'fluvio.spuReports' | 'quickwit.metastore.shards' | 'quickwit.ingester.shards'>(
  client: Client,
  c: C,
) {
  const out = [];
  for await (const page of client.listAll(c, { limit: 5000 })) out.push(...page);
  return out;
}

async function orphanedIngesterShards(client: Client) {
  const metastore = new Set((await listAll(client, 'quickwit.metastore.shards')).map((m) => m.key));
  return (await listAll(client, 'quickwit.ingester.shards')).filter((i) => !metastore.has(keys.shard(i.indexUid, i.sourceId, i.shardId)));
}

async function countAll(client: Client, c: 'quickwit.metastore.shards'): Promise<number> {
  return (await listAll(client, c)).length;
}
