// The extension end to end in a real VS Code: the bundled simulator with every incident, the
// language server's diagnostics on cluster:// documents, the trees, the quick fix, the palette
// repair and "Repair All Safe Findings". What is asserted is what a user would see.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { SUBSYSTEMS, Subsystem } from '../../src/protocol/collections';
import { RULE_IDS } from '../../src/protocol/findings';
import { plural } from '../../src/protocol/format';
import type { ApplyRepairResult, FindingSummary, TimelineResult } from '../../src/protocol/lsp';
import { SCENARIOS } from '../../src/protocol/methods';
import { subsystemOfDocPath } from '../../src/protocol/uri';
import type { ClusterDebuggerApi, ViewItem } from '../../src/extension/api/extensionApi';
import { BundledSimulator } from '../../src/extension/processes/simulator';
import { INCIDENT_RULES } from '../scenarioRules';
import {
  EXTENSION_ID,
  activateExtension,
  iconColor,
  clusterDiagnostics,
  describeRules,
  extensionLog,
  logTail,
  ruleOf,
  rulesPresent,
  waitFor,
} from './helpers';
import { testSecret } from '../secrets';

/** A ViewItem the language server rendered (it has a node). */
type NodeItem = ViewItem & { node: NonNullable<ViewItem['node']> };

/** Child process ids of `pid` (Linux /proc). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 4 of /proc/PID/stat is the parent pid; the command name (field 2) may hold spaces, so split after ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Walks a view breadth-first (loaded pages only) until `found` matches; bounded. */
async function findInTree(api: ClusterDebuggerApi, view: Subsystem, found: (el: NodeItem) => boolean): Promise<NodeItem | undefined> {
  let level: (ViewItem | undefined)[] = [undefined];
  for (let depth = 0; depth < 5 && level.length; depth++) {
    const next: ViewItem[] = [];
    for (const parent of level) {
      for (const el of await api.viewItems(view, parent)) {
        if (el.node && found(el as NodeItem)) return el as NodeItem;
        if (el.node?.hasChildren) next.push(el);
      }
    }
    level = next.slice(0, 50);
  }
  return undefined;
}

/**
 * Where the views' and the API's counts of `cluster` disagree with the Problems panel
 * (vscode.languages.getDiagnostics), or undefined when every label agrees: the Clusters view's
 * cluster item ("live · 2 errors, 1 warning") and subsystem items ("1 problem"), each subsystem
 * view's badge, and the counts the status bar is drawn from. Only `cluster` may be connected.
 */
async function labelsDisagree(api: ClusterDebuggerApi, cluster: string): Promise<string | undefined> {
  const perSubsystem = new Map<Subsystem, number>();
  let errors = 0;
  let warnings = 0;
  for (const [uri, d] of clusterDiagnostics(cluster)) {
    const s = subsystemOfDocPath(uri.path)!;
    perSubsystem.set(s, (perSubsystem.get(s) ?? 0) + 1);
    if (d.severity === vscode.DiagnosticSeverity.Error) errors++;
    else if (d.severity === vscode.DiagnosticSeverity.Warning) warnings++;
  }
  const wrong: string[] = [];
  const expect = (what: string, got: unknown, want: unknown) => {
    if (got !== want) wrong.push(`${what}: ${JSON.stringify(got)}, Problems panel: ${JSON.stringify(want)}`);
  };
  const info = api.clusters().find((c) => c.name === cluster);
  expect('status bar errors', info?.errors, errors);
  expect('status bar warnings', info?.warnings, warnings);
  const item = (await api.viewItems('clusters')).find((i) => i.kind === 'cluster' && i.cluster === cluster);
  const counts = errors || warnings ? ` · ${plural(errors, 'error')}, ${plural(warnings, 'warning')}` : '';
  expect('Clusters view', item?.treeItem.description, `live${counts}`);
  const subsystems = item ? await api.viewItems('clusters', item) : [];
  for (const s of SUBSYSTEMS) {
    const n = perSubsystem.get(s) ?? 0;
    const row = subsystems.find((i) => i.kind === 'subsystem' && String(i.treeItem.id).endsWith(`/${s}`));
    expect(`Clusters view ${s}`, row?.treeItem.description, n ? plural(n, 'problem') : 'no problems');
    expect(`${s} badge`, api.view(s).badge?.value ?? 0, n);
  }
  return wrong.length ? wrong.join('; ') : undefined;
}

/** Waits until every label agrees with the Problems panel. */
async function waitForLabelsToAgree(api: ClusterDebuggerApi, cluster: string): Promise<void> {
  let last: string | undefined;
  await waitFor(
    'the Clusters view, the badges and the status counts to agree with the Problems panel',
    async () => (last = await labelsDisagree(api, cluster)) === undefined,
    { timeoutMs: 20_000, describe: () => last ?? '' },
  );
}

describe('Cluster Debugger in a real VS Code', function () {
  this.timeout(180_000);
  // Each step builds on the one before: after the first failure the rest would only repeat it.
  this.bail(true);
  let api: ClusterDebuggerApi;

  before(async () => {
    api = await activateExtension();
  });

  after(async () => {
    // Only after a failure: the last step stops it itself.
    if (api?.simulator()) await vscode.commands.executeCommand('clusterDebugger.stopSimulator');
  });

  it('contributes the settings the protocol defines (scenarios, one severity per rule)', () => {
    const pkg = vscode.extensions.getExtension('cluster-debugger.cluster-debugger')!.packageJSON;
    const props = pkg.contributes.configuration.properties;
    assert.deepEqual(props['clusterDebugger.simulator.defaultScenario'].enum, [...SCENARIOS]);
    assert.deepEqual(Object.keys(props['clusterDebugger.rules'].properties).sort(), [...RULE_IDS].sort());
    const views = pkg.contributes.views.clusterDebugger.map((v: { id: string }) => v.id);
    assert.deepEqual(views, [
      'clusterDebugger.clusters',
      ...SUBSYSTEMS.map((s) => `clusterDebugger.${s}`),
      'clusterDebugger.stuck',
      'clusterDebugger.repairHistory',
    ]);
  });

  it('shows no cluster, and empty views for the welcome content, before connecting', async () => {
    assert.equal(api.clusters().length, 0);
    for (const s of SUBSYSTEMS) assert.deepEqual(await api.viewItems(s), [], `${s} view`);
    // Needs a connection: says why, returns nothing, throws nothing.
    assert.equal(await vscode.commands.executeCommand('clusterDebugger.repairAllSafe'), undefined);
  });

  it('starts the bundled simulator with incident-all and shows every incident in the Problems panel', async () => {
    const started = await vscode.commands.executeCommand<{ url: string } | undefined>('clusterDebugger.startSimulator', {
      scenario: 'incident-all',
    });
    assert.match(started?.url ?? '', /^ws:\/\/127\.0\.0\.1:\d+/, `the simulator listens on loopback (log: ${logTail()})`);
    await waitFor(`diagnostics ${INCIDENT_RULES.join(', ')} on cluster://sim/…`, () => INCIDENT_RULES.every((r) => rulesPresent().has(r)), {
      describe: describeRules,
    });
    for (const [uri] of clusterDiagnostics()) assert.match(uri.toString(), /^cluster:\/\/sim\/sim\.[a-z]+\.clustersnap$/);
    assert.equal(api.clusters().find((c) => c.name === 'sim')?.state, 'live');
  });

  it('opens the virtual document at the diagnostic, in the clustersnap language', async () => {
    const [uri, diag] = clusterDiagnostics().find(([, d]) => ruleOf(d) === 'shards/dangling')!;
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.equal(doc.languageId, 'clustersnap');
    assert.ok(diag.range.start.line < doc.lineCount, 'the diagnostic points at a line of the document');
    assert.ok(doc.lineAt(diag.range.start.line).text.trim().length > 0, 'and that line shows something');
  });

  it("links the diagnostic's facts to their lines (relatedInformation) and shows them in its hover", async () => {
    const [uri, diag] = clusterDiagnostics().find(([, d]) => ruleOf(d) === 'shards/dangling')!;
    const doc = await vscode.workspace.openTextDocument(uri);
    const related = diag.relatedInformation ?? [];
    const facts = [
      /^The metastore has [\d,]+ shards of \S+ that are not closed\.$/,
      /^The control plane \(epoch \d+\) knows ([\d,]+|none) of them\.$/,
      /^(Ingesters hold [\d,]+ of them|No ingester holds any of them)\.$/,
      /^(The other [\d,]+|They) \([\d,]+ open\) (have no ingester|were never initialised): open_shards succeeded, init_shards did not/,
    ];
    assert.equal(related.length, facts.length, related.map((r) => r.message).join('\n'));
    related.forEach((r, i) => assert.match(r.message, facts[i]!));
    for (const r of related) {
      assert.equal(r.location.uri.toString(), uri.toString(), 'the facts of shards are in the shards document');
      assert.ok(doc.lineAt(r.location.range.start.line).text.trim().length > 0, r.message);
    }
    // The control plane's fact points into its own section of the document.
    const cpLine = related[1]!.location.range.start.line;
    const lines = doc.getText().split('\n');
    const cpSection = lines.findIndex((l) => l.startsWith('[quickwit.controlPlane.shards]'));
    const nextSection = lines.findIndex((l, i) => i > cpSection && l.startsWith('['));
    assert.ok(
      cpSection >= 0 && cpLine >= cpSection && (nextSection < 0 || cpLine < nextSection),
      `line ${cpLine} is in the control plane's section (lines ${cpSection}–${nextSection})`,
    );
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      new vscode.Position(diag.range.start.line, 2),
    );
    const text = hovers
      .flatMap((h) => h.contents)
      .map((c) => (typeof c === 'string' ? c : c.value))
      .join('\n')
      .replace(/\\(.)/g, '$1');
    assert.match(
      text,
      new RegExp(
        `\\*\\*shards/dangling\\*\\*, because of the ${related.length} facts above, each linked to its line: the views of metastore, control plane, ingester, read at t=\\d+ s\\.`,
      ),
    );
    // Each fact once: VS Code lists the related locations in the diagnostic's part of the hover; the server's part does not repeat them.
    for (const r of related) assert.ok(!text.includes(r.message), `the server's hover repeats ${r.message}`);
    // The code links the rule's runbook, the page beside the bundles (docs/rules/, shipped in the VSIX), as the hover's last line does.
    const code = diag.code as { value: string; target: vscode.Uri };
    assert.equal(code.target.scheme, 'file', code.target.toString());
    assert.ok(code.target.path.endsWith('/docs/rules/shards/dangling.md') && existsSync(code.target.fsPath), code.target.toString());
    assert.ok(text.includes('Runbook: [shards/dangling]('), text);
  });

  it('shows each subsystem’s entities with problem markers and a badge', async () => {
    for (const s of SUBSYSTEMS) {
      const bad = await waitFor(`an error or warning item in the ${s} view`, () =>
        findInTree(api, s, (el) => el.node.health === 'error' || el.node.health === 'warning'),
      );
      const item = bad.treeItem;
      const color = iconColor(item);
      assert.ok(color === 'problemsErrorIcon.foreground' || color === 'list.warningForeground', `${s}: health colour, got ${color}`);
      assert.ok(String(item.label).length > 0, `${s}: item has a label`);
      assert.ok((api.view(s).badge?.value ?? 0) > 0, `${s}: the view's badge counts its problems`);
    }
  });

  it('turns a rule off, and on again, from the clusterDebugger.rules setting', async () => {
    const config = vscode.workspace.getConfiguration('clusterDebugger');
    await config.update('rules', { 'ddl/duplicate': 'off' }, vscode.ConfigurationTarget.Global);
    try {
      await waitFor(
        'ddl/duplicate to disappear while ddl/backlog stays',
        () => !rulesPresent().has('ddl/duplicate') && rulesPresent().has('ddl/backlog'),
        {
          describe: describeRules,
        },
      );
    } finally {
      await config.update('rules', undefined, vscode.ConfigurationTarget.Global);
    }
    await waitFor('ddl/duplicate to come back', () => rulesPresent().has('ddl/duplicate'), { describe: describeRules });
  });

  it('opens an entity from the tree at its line of the virtual document', async () => {
    const entity = await waitFor('a Shards entity with a document line', () =>
      findInTree(api, 'shards', (el) => el.node.kind === 'entity' && el.node.location !== undefined),
    );
    const item = entity.treeItem;
    assert.equal(item.command?.command, 'clusterDebugger.showInDocument', 'clicking it shows it in the document');
    await vscode.commands.executeCommand(item.command.command, ...(item.command.arguments ?? []));
    const editor = vscode.window.activeTextEditor;
    assert.equal(editor?.document.uri.toString(), entity.node.location!.uri);
    assert.equal(editor?.selection.active.line, entity.node.location!.line);
  });

  it('finds an entity by part of its id with Cluster: Find Entity…, opens its line and reveals it in its view', async () => {
    const entity = await waitFor('a DDL procedure with a document line', () =>
      findInTree(
        api,
        'ddl',
        (el) => el.node.kind === 'entity' && el.node.entity?.collection === 'greptime.procedures' && el.node.location !== undefined,
      ),
    );
    const key = entity.node.entity!.key;
    const found = await vscode.commands.executeCommand<
      { entity: { key: string; collection: string; treeId?: string }; inTree: boolean; line?: number } | undefined
    >('clusterDebugger.findEntity', { query: key.slice(1).toUpperCase() });
    assert.equal(found?.entity.key, key);
    assert.equal(found.entity.treeId, entity.node.id, 'its tree id is the node the view shows');
    assert.ok(found.inTree, 'revealed in the DDL view');
    const editor = vscode.window.activeTextEditor;
    assert.equal(editor?.document.uri.toString(), entity.node.location!.uri);
    assert.equal(editor?.selection.active.line, entity.node.location!.line);
  });

  it('copies the selected row of a view as it is shown (Ctrl+C runs clusterDebugger.copy with its view)', async () => {
    // The entity Find Entity revealed is selected in the DDL view.
    await vscode.env.clipboard.writeText('');
    const copied = await vscode.commands.executeCommand<string | undefined>('clusterDebugger.copy', { view: 'ddl' });
    assert.ok(copied, 'a row was copied');
    assert.equal(await vscode.env.clipboard.readText(), copied);
    const entity = await findInTree(api, 'ddl', (el) => el.node.kind === 'entity' && copied.startsWith(String(el.node.label)));
    assert.ok(entity, `the copied text starts with a DDL entity's label: ${copied}`);
  });

  it('applies the preferred quick fix for shards/dangling and the diagnostic goes away', async () => {
    const [uri, diag] = clusterDiagnostics().find(([, d]) => ruleOf(d) === 'shards/dangling')!;
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, diag.range);
    const fixes = actions.filter((a) => a.kind?.value.startsWith('quickfix'));
    assert.ok(fixes.length > 0, `quick fixes offered (got: ${actions.map((a) => a.title).join(' | ')})`);
    const preferred = fixes.find((a) => a.isPreferred);
    assert.ok(
      preferred?.command,
      `one is preferred and has a command (got: ${fixes.map((a) => `${a.title}${a.isPreferred ? '*' : ''}`).join(' | ')})`,
    );
    // The server's own command (any LSP client can run it); in VS Code the client's middleware runs it as the
    // extension's repairFinding: confirmation when it may lose data, progress, the log line, the result.
    assert.equal(preferred.command.command, 'clusterDebugger.applyRepair');
    const args = preferred.command.arguments?.[0] as { findingId: string; repairId: string };
    const result = await vscode.commands.executeCommand<ApplyRepairResult | undefined>(
      preferred.command.command,
      ...(preferred.command.arguments ?? []),
    );
    assert.ok(result?.ok, `the quick fix's repair succeeded: ${result?.summary ?? `no result; log: ${logTail()}`}`);
    assert.ok(extensionLog().includes(`Repair ${args.repairId} (safe, `), `the extension's repair flow logged it (log: ${logTail()})`);
    await waitFor('shards/dangling to disappear', () => !rulesPresent().has('shards/dangling'), { describe: describeRules });
    // After the repair every label agrees with the Problems panel, the Clusters view's counts included.
    await waitForLabelsToAgree(api, 'sim');
  });

  it('repairs another finding from Cluster: Repair… and it goes away', async () => {
    const findings = await api.findings({ cluster: 'sim' });
    const finding = findings.find((f: FindingSummary) => f.rule === 'regions/stale-prepared');
    assert.ok(finding, `a regions/stale-prepared finding (got: ${findings.map((f) => f.rule).join(', ')})`);
    const repair = finding.repairs.find((r) => r.safety === 'safe');
    assert.ok(repair, 'with a safe repair (no modal in a test)');
    const result = await vscode.commands.executeCommand<ApplyRepairResult | undefined>('clusterDebugger.repair', {
      cluster: 'sim',
      findingId: finding.id,
      repairId: repair.id,
    });
    assert.ok(result?.ok, `the repair succeeded: ${result?.summary ?? `no result; log: ${logTail()}`}`);
    await waitFor('regions/stale-prepared to disappear', () => !rulesPresent().has('regions/stale-prepared'), { describe: describeRules });
  });

  it('repairs every remaining finding with Cluster: Run All Safe Repairs, asking nothing where the setting says so', async () => {
    // By default it asks first (a modal, which nothing answers here); the bundled simulator's
    // protection is `none`, which this setting exempts from the question.
    const config = vscode.workspace.getConfiguration('clusterDebugger');
    await config.update('repairAllSafe.confirm', 'exceptProtectionNone', vscode.ConfigurationTarget.Global);
    let results: ApplyRepairResult[] | undefined;
    try {
      results = await vscode.commands.executeCommand<ApplyRepairResult[]>('clusterDebugger.repairAllSafe');
    } finally {
      await config.update('repairAllSafe.confirm', undefined, vscode.ConfigurationTarget.Global);
    }
    assert.ok(results && results.length === 1, `one result for the one connected cluster (log: ${logTail()})`);
    await waitFor('every diagnostic on cluster://sim to disappear', () => clusterDiagnostics().length === 0, { describe: describeRules });
    const shardsBad = await findInTree(api, 'shards', (el) => el.node.health === 'error');
    assert.equal(shardsBad, undefined, 'the Shards view has no error item left');
    await waitForLabelsToAgree(api, 'sim');
  });

  it('saves a snapshot of the live cluster to a file', async () => {
    const target = vscode.Uri.file(join(mkdtempSync(join(tmpdir(), 'cluster-snap-')), 'sim.clustersnap'));
    const saved = await vscode.commands.executeCommand<vscode.Uri | undefined>('clusterDebugger.saveSnapshot', {
      cluster: 'sim',
      uri: target,
    });
    assert.equal(saved?.toString(), target.toString());
    assert.ok(readFileSync(target.fsPath, 'utf8').length > 0, 'the snapshot has content');
  });

  it('shows the timeline of the cluster, filtered, and of one entity, as read-only documents', async () => {
    type Shown = { uri: vscode.Uri; result: TimelineResult } | undefined;
    // The repairs above set the orders partitions back to OutOfStorage: the timeline recorded it.
    const shown = await vscode.commands.executeCommand<Shown>('clusterDebugger.showTimeline', {
      cluster: 'sim',
      subsystems: ['partitions'],
      states: ['OutOfStorage'],
    });
    assert.ok(shown && shown.result.matched > 0, `transitions to or from OutOfStorage (log: ${logTail()})`);
    const doc = vscode.window.activeTextEditor?.document;
    assert.equal(doc?.uri.scheme, 'cluster-timeline');
    const text = doc!.getText();
    assert.match(text, /^# Timeline of sim: .*\(subsystem partitions, state OutOfStorage; /);
    const rows = text.split('\n').filter((l) => l.startsWith('t='));
    assert.equal(rows.length, shown.result.transitions.length);
    for (const row of rows) assert.match(row, /^t=\d+ s seq \d+ {2}fluvio\.\S+ \S+: .*OutOfStorage.* {2}\[partitions\]/);

    const first = shown.result.transitions[0];
    const one = await vscode.commands.executeCommand<Shown>('clusterDebugger.showTimeline', {
      cluster: 'sim',
      collection: first.collection,
      key: first.key,
    });
    assert.ok(
      one &&
        one.result.transitions.length > 0 &&
        one.result.transitions.every((t) => t.key === first.key && t.collection === first.collection),
    );
    assert.match(
      vscode.window.activeTextEditor?.document.getText() ?? '',
      new RegExp(`^# Timeline of ${first.collection.replace(/\./g, '\\.')} ${first.key} on sim: `),
    );
  });

  it('shows a failed connection as an error node in the Clusters view, then disconnects it', async () => {
    // Port 9 (discard) on loopback: nothing listens there.
    await vscode.commands.executeCommand('clusterDebugger.connect', {
      url: 'ws://127.0.0.1:9',
      name: 'nowhere',
      token: testSecret('wrong'),
    });
    const nowhere = await waitFor('the nowhere cluster in the list', () => api.clusters().find((c) => c.name === 'nowhere'));
    assert.notEqual(nowhere.state, 'live');
    const roots = await api.viewItems('clusters');
    const cluster = roots.find((el) => el.kind === 'cluster' && el.cluster === 'nowhere');
    assert.ok(cluster, 'the cluster has an item');
    const errorNode = (await api.viewItems('clusters', cluster)).find((el) => el.kind === 'message');
    assert.ok(errorNode && errorNode.severity === 'error', 'with an error node under it');
    await vscode.commands.executeCommand('clusterDebugger.disconnect', 'nowhere');
    await waitFor('nowhere to leave the list', () => !api.clusters().some((c) => c.name === 'nowhere'));
  });

  it('pages a group of 1,200 dangling shards from the real server with "Load more"', async () => {
    const script = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'out', 'cluster-sim.js');
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const big = await BundledSimulator.start({
      script,
      scenario: 'quickwit-dangling-shards',
      extraArgs: ['--dangling-shards', '1200'],
      log,
    });
    try {
      await vscode.commands.executeCommand('clusterDebugger.connect', { url: big.url, name: 'big', token: big.token });
      await waitFor('shards/dangling on cluster://big', () => rulesPresent('big').has('shards/dangling'), {
        describe: () => describeRules('big'),
      });
      const more = await waitFor('a "Load more" item in the Shards view', () =>
        findInTree(api, 'shards', (el) => el.node.cluster === 'big' && el.node.kind === 'loadMore'),
      );
      assert.equal(more.treeItem.command?.command, 'clusterDebugger.loadMore');
      const parent = more.parent;
      const before = (await api.viewItems('shards', parent)).length;
      let last: ViewItem = more;
      // What a click on the item does: its command, with its arguments.
      for (let page = 0; page < 10 && last.node?.kind === 'loadMore'; page++) {
        await vscode.commands.executeCommand(last.treeItem.command!.command, ...(last.treeItem.command!.arguments ?? []));
        const now = await api.viewItems('shards', parent);
        last = now[now.length - 1];
      }
      const all = (await api.viewItems('shards', parent)) as NodeItem[];
      assert.ok(all.length > before, `more items after "Load more" (${before} → ${all.length})`);
      assert.notEqual(last.node?.kind, 'loadMore', 'every page loaded');
      assert.equal(new Set(all.map((e) => e.node.id)).size, all.length, 'no duplicates across pages');
      assert.ok(all.length >= 1200, `all 1,200 dangling shards reachable (got ${all.length})`);
    } finally {
      await vscode.commands.executeCommand('clusterDebugger.disconnect', 'big');
      await big.stop();
    }
  });

  it('connects a cluster added to clusterDebugger.clusters, with the token stored for its URL', async () => {
    const script = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'out', 'cluster-sim.js');
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const other = await BundledSimulator.start({ script, scenario: 'healthy', log });
    const config = vscode.workspace.getConfiguration('clusterDebugger');
    try {
      // Connecting once with a token stores it in SecretStorage, keyed by the URL…
      await vscode.commands.executeCommand('clusterDebugger.connect', { url: other.url, name: 'first', token: other.token });
      await waitFor('first to be live', () => api.clusters().find((c) => c.name === 'first')?.state === 'live');
      await vscode.commands.executeCommand('clusterDebugger.disconnect', 'first');
      // …so a settings entry for the same URL connects without asking.
      await config.update('clusters', [{ name: 'configured', url: other.url }], vscode.ConfigurationTarget.Global);
      await waitFor('the configured cluster to be live', () => api.clusters().find((c) => c.name === 'configured')?.state === 'live', {
        describe: () => JSON.stringify(api.clusters().map((c) => [c.name, c.state, c.error])),
      });
    } finally {
      await config.update('clusters', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('clusterDebugger.disconnect', 'configured');
      await other.stop();
    }
  });

  it('stops the simulator and forgets the connection', async () => {
    await vscode.commands.executeCommand('clusterDebugger.stopSimulator');
    assert.equal(api.simulator(), undefined);
    await waitFor('the sim cluster to leave the list', () => !api.clusters().some((c) => c.name === 'sim'), {
      describe: () => JSON.stringify(api.clusters().map((c) => [c.name, c.state])),
    });
  });

  it('reconnects the simulator when the language server crashes and is restarted', async function () {
    if (process.platform !== 'linux') this.skip(); // finds the server's pid in /proc
    const started = await vscode.commands.executeCommand<{ url: string } | undefined>('clusterDebugger.startSimulator', {
      scenario: 'greptime-ddl-backlog',
    });
    assert.ok(started, `started (log: ${logTail()})`);
    await waitFor('ddl/backlog on cluster://sim', () => rulesPresent().has('ddl/backlog'), { describe: describeRules });
    const serverPid = childPids(process.pid).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server.js'));
    assert.ok(serverPid, 'the language server runs as a child of the extension host');
    process.kill(serverPid, 'SIGKILL');
    await waitFor('a new server process', () =>
      childPids(process.pid).some((pid) => pid !== serverPid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('server.js')),
    );
    await waitFor(
      'ddl/backlog back on cluster://sim, from the new server',
      () => rulesPresent().has('ddl/backlog') && api.clusters().some((c) => c.name === 'sim' && c.state === 'live'),
      {
        describe: () => `${describeRules()}; ${JSON.stringify(api.clusters().map((c) => [c.name, c.state]))}`,
      },
    );
    await vscode.commands.executeCommand('clusterDebugger.stopSimulator');
    await waitFor('sim to leave the list', () => !api.clusters().some((c) => c.name === 'sim'));
  });

  it('marks the views stale when the simulator dies, and says so', async () => {
    const started = await vscode.commands.executeCommand<{ url: string } | undefined>('clusterDebugger.startSimulator', {
      scenario: 'healthy',
    });
    assert.ok(started, `started again (log: ${logTail()})`);
    await waitFor('sim to be live', () => api.clusters().find((c) => c.name === 'sim')?.state === 'live');
    process.kill(api.simulator()!.pid!, 'SIGKILL');
    await waitFor('the simulator to be known dead', () => api.simulator() === undefined);
    await waitFor(
      'the views to say the cluster is stale',
      () => /sim is (stale|disconnected|connecting)/.test(api.view('shards').message ?? ''),
      {
        describe: () => `${api.view('shards').message}; ${JSON.stringify(api.clusters().map((c) => [c.name, c.state]))}`,
      },
    );
    await vscode.commands.executeCommand('clusterDebugger.disconnect', 'sim');
    await waitFor('sim to leave the list', () => !api.clusters().some((c) => c.name === 'sim'));
    assert.equal(api.view('shards').message, undefined, 'no stale message once it is gone');
  });
});
