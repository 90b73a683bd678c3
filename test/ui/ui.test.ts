// The UI test: what a user sees and does, from the packaged VSIX, in a real VS Code (code-server
// 4.100.3 = VS Code 1.100.3) driven through Debian's Chromium by playwright-core.
// Run: npm run test:ui (packages the VSIX, then runs this file with its own mocha invocation).
// Screenshots go to .test-artifacts/ui/; with UPDATE_SCREENSHOTS=1 the README's ones in
// media/screenshots/ are refreshed from this run.
import * as assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { MAX_REPAIR_TARGETS } from '../../src/protocol/methods';
import { INCIDENT_RULES } from '../scenarioRules';
import { BatchGate } from '../server/batchGate';
import { startSim, type RunningSim } from '../server/sim';
import { launchBrowser, type BrowserSession } from '../vscode-host/browser';
import { CodeServer } from '../vscode-host/codeServer';
import { artifactsRoot, assertHostInstalled, newRunDir, repoRoot } from '../vscode-host/paths';
import { DEFAULT_DEADLINE_MS, Workbench, escapeRegExp, extensionLog, problemsText, rowsText, treeRows, waitUntil, type TreeRow } from './workbench';

const VSIX = process.env.CLUSTER_DEBUGGER_VSIX ?? join(repoRoot, 'cluster-debugger.vsix');
const CONTAINER_ID = 'clusterDebugger';
const CONTAINER_TITLE = 'Cluster Debugger';
const SUBSYSTEM_VIEWS = ['Shards', 'WAL Nodes', 'DDL Tasks', 'Regions', 'Partitions'];
const QUICK_FIX_RULE = 'shards/dangling';
const PALETTE_REPAIR_RULE = 'regions/stale-prepared';
/** Its second repair, force-removing the node, may lose data: it asks for a modal confirmation. */
const CONFIRM_RULE = 'wal/close-blocked';
const CONFIRM_REPAIR = /Force-remove StreamingNode/;
const CONFIRM_REPAIR_ID = 'force-remove-node';
/**
 * A second cluster, "big": the repo's out/cluster-sim.js with four batches of dangling shards (a
 * repair long enough to cancel), started by this test behind a BatchGate (test/server/batchGate.ts).
 */
const BIG_DANGLING = 4 * MAX_REPAIR_TARGETS;
const CANCEL_RULE = 'shards/dangling';
const CANCEL_REPAIR = /Delete 20,000 uninitialised shards/;
/** Screenshots worth showing in the README, copied to media/screenshots/ on request. */
const README_SHOTS = ['03-views.png', '04-problems.png', '04b-topology.png', '05-quick-fix.png', '07-repair-pick.png', '09-confirm-modal.png', '11-repair-progress.png'];

const shotsDir = join(artifactsRoot, 'ui');

describe('Cluster Debugger UI, from the VSIX, in code-server + Chromium', function () {
  this.timeout(5 * 60_000);
  let server: CodeServer | undefined;
  let session: BrowserSession | undefined;
  let wb: Workbench;
  let runDir: string;
  let bigSim: RunningSim | undefined;
  /** The simulator mirroring its Fluvio metadata to a folder, for the fluvio-only gateway. */
  let fluvioSim: RunningSim | undefined;
  let gate: BatchGate | undefined;
  let failedStep: string | undefined;

  async function shot(name: string): Promise<void> {
    if (!session) return;
    await wb.settleNotifications();
    await session.page.screenshot({ path: join(shotsDir, name) }).catch(() => {});
  }

  before(async function () {
    this.timeout(3 * 60_000);
    assertHostInstalled();
    assert.ok(existsSync(VSIX), `no VSIX at ${VSIX}: build it with npm run package`);
    mkdirSync(shotsDir, { recursive: true });
    runDir = newRunDir(join('ui', 'runs'));
    const workspace = join(runDir, 'workspace');
    cpSync(join(repoRoot, 'test', 'vscode-host', 'workspace'), workspace, { recursive: true });
    server = await CodeServer.start({
      runDir,
      vsix: VSIX,
      // A steady picture: no minimap or breadcrumbs crowding the screenshots.
      settings: { 'editor.minimap.enabled': false, 'breadcrumbs.enabled': false, 'workbench.colorTheme': 'Default Dark Modern' },
    });
    session = await launchBrowser();
    wb = new Workbench(session.page);
    await session.page.goto(server.workbenchUrl(workspace), { waitUntil: 'domcontentloaded' });
    await wb.ready();
  });

  // Each step builds on the one before; after a failure the rest would only repeat it.
  beforeEach(function () {
    if (failedStep) this.skip();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      failedStep = this.currentTest.title;
      const base = `failure-${this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`;
      await shot(`${base}.png`);
      if (session) writeFileSync(join(shotsDir, `${base}.html`), await session.page.content().catch(() => ''));
    }
  });

  after(async () => {
    await session?.close();
    await server?.stop();
    await gate?.close();
    await bigSim?.stop();
    await fluvioSim?.stop();
    if (!failedStep && process.env.UPDATE_SCREENSHOTS === '1') {
      const media = join(repoRoot, 'media', 'screenshots');
      mkdirSync(media, { recursive: true });
      for (const name of README_SHOTS) copyFileSync(join(shotsDir, name), join(media, name));
    }
  });

  it('opens the Cluster Debugger container with its views', async () => {
    await wb.openContainer(CONTAINER_TITLE, CONTAINER_ID);
    for (const view of ['Clusters', ...SUBSYSTEM_VIEWS]) {
      await wb.pane(CONTAINER_ID, view).waitFor({ timeout: DEFAULT_DEADLINE_MS }).catch(() => {
        throw new Error(`the container has no "${view}" view`);
      });
    }
    await shot('01-container.png');
  });

  it('starts the bundled simulator with incident-all from the command palette', async () => {
    await wb.runCommand('Cluster: Start Bundled Simulator');
    await wb.pick(/scenario/i, /incident-all/, 'incident-all');
    const clusters = wb.pane(CONTAINER_ID, 'Clusters');
    await wb.expandPane(clusters);
    await waitUntil('the Clusters view to list the "sim" cluster', async () =>
      (await clusters.locator('.monaco-list-row[role="treeitem"]', { hasText: 'sim' }).count()) > 0,
      { timeoutMs: 60_000, describe: () => rowsText(clusters) },
    );
    await shot('02-simulator-started.png');
  });

  it('shows entities with problem markers in all five views', async () => {
    await wb.collapsePane(wb.pane(CONTAINER_ID, 'Clusters'));
    for (const view of SUBSYSTEM_VIEWS) {
      const pane = wb.pane(CONTAINER_ID, view);
      await wb.expandPane(pane);
      await waitUntil(`an entity with an error or warning marker in the ${view} view`, () => revealMarkedEntity(pane), {
        timeoutMs: 60_000,
        describe: () => rowsText(pane),
      });
    }
    await shot('03-views.png');
  });

  it('lists the incidents’ rule ids in the Problems panel', async () => {
    for (const rule of INCIDENT_RULES) {
      const rows = await wb.filterProblems(rule);
      await waitUntil(`the Problems panel to list ${rule}`, async () => (await rows.count()) > 0, {
        timeoutMs: 60_000,
        describe: () => problemsText(wb),
      });
    }
    await wb.filterProblems('');
    await shot('04-problems.png');
  });

  it('draws the topology in a webview, with each incident on its node; Enter on a node reveals it in its view', async () => {
    await wb.runCommand('Cluster: Show Topology');
    const frame = topologyFrame(session!.page);
    const nodes = frame.locator('button.node');
    // Each incident's rule on the node it sits on (role → rules), read from the webview's DOM.
    const expected: Record<string, string[]> = {
      metastore: ['shards/dangling'],
      'streaming-node': ['wal/close-blocked'],
      metasrv: ['ddl/backlog', 'ddl/duplicate'],
      store: ['regions/stale-prepared'],
      sc: ['partitions/online-out-of-space'],
      spu: ['partitions/online-out-of-space'],
    };
    const marks = () =>
      nodes.evaluateAll((els: any[]) =>
        els.map((b) => ({
          label: b.querySelector('.label')?.textContent ?? '',
          role: b.dataset.role,
          health: b.dataset.health,
          rules: [...b.querySelectorAll('.problem')].map((p: any) => p.dataset.rule).sort(),
        })),
      );
    const seen = await waitUntil('the topology to show every incident on its node', async () => {
      const all = await marks();
      const ok = Object.entries(expected).every(([role, rules]) => all.some((n) => n.role === role && rules.every((r) => n.rules.includes(r))));
      return ok && all;
    }, { timeoutMs: 60_000, describe: async () => JSON.stringify(await marks().catch(() => [])).slice(0, 600) });
    assert.ok(seen.some((n) => n.role === 'ingester' && n.rules.length === 0 && n.health === 'ok'), 'ingesters without a problem are drawn healthy');
    for (const n of seen) assert.equal(n.health === 'ok', n.rules.length === 0, `${n.label}: marked iff it has problems`);
    assert.match(await frame.locator('.legend').innerText(), /log₁₀\(count \+ 1\)/, 'the legend says how sizes scale');
    // The page runs under a strict CSP with a nonce.
    const csp = await frame.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(csp ?? '', /default-src 'none'/);
    assert.match(csp ?? '', /script-src 'nonce-[^']+'/);
    await wb.runCommand('View: Hide Panel'); // the Problems panel: the picture gets the editor's height
    await shot('04b-topology.png');

    // Keyboard: Enter on the store with the stale region reveals (and selects) it in the Regions view.
    const store = nodes.filter({ has: frame.locator('.problem[data-rule="regions/stale-prepared"]') }).first();
    const label = (await store.locator('.label').innerText()).trim();
    await store.focus();
    await store.press('Enter');
    const regions = wb.pane(CONTAINER_ID, 'Regions');
    await waitUntil(`${label} to be selected in the Regions view`, async () =>
      (await regions.locator('.monaco-list-row.selected[role="treeitem"]', { hasText: label }).count()) > 0,
      { describe: () => rowsText(regions) },
    );
    await wb.runCommand('View: Close All Editors');
  });

  it(`opens the ${QUICK_FIX_RULE} problem and applies its preferred quick fix from the lightbulb`, async () => {
    const { page } = session!;
    const rows = await wb.filterProblems(QUICK_FIX_RULE);
    await waitUntil(`the ${QUICK_FIX_RULE} problem`, async () => (await rows.count()) > 0, { describe: () => problemsText(wb) });
    const where = /\[Ln (\d+), Col (\d+)\]/.exec(await rows.first().innerText());
    assert.ok(where, `the problem row shows its position (got: ${await rows.first().innerText()})`);
    await rows.first().dblclick(); // opens the cluster:// document at the entity
    await waitUntil('the editor to show the clustersnap document', async () =>
      /\.clustersnap/.test(await page.locator('.tabs-container .tab.active').innerText().catch(() => '')),
    );
    // Revealed at the entity: its squiggle is in view and the line number is on screen.
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.squiggly-error, .squiggly-warning').first().waitFor({ timeout: DEFAULT_DEADLINE_MS }).catch(() => {
      throw new Error('the opened document shows no squiggle for the problem');
    });
    await editor.locator('.line-numbers', { hasText: new RegExp(`^${where[1]}$`) }).first().waitFor({ timeout: DEFAULT_DEADLINE_MS });
    const menu = await openQuickFixMenu(QUICK_FIX_RULE);
    await shot('05-quick-fix.png');
    // VS Code lists the preferred fix first among the quick fixes.
    await menu.first().click();
    await waitRepairedWithoutModal(wb, QUICK_FIX_RULE);
    const shards = wb.pane(CONTAINER_ID, 'Shards');
    await waitUntil('the Shards view to drop its problem markers', async () => !(await treeRows(shards)).some((r) => r.marked), {
      describe: () => rowsText(shards),
    });
    // The extension's status bar item counts what VS Code's own Problems item counts (only sim is connected).
    await waitUntil('the Cluster Debugger status bar item to agree with the Problems panel', async () => {
      const ours = counts(await statusText(session!.page, 'ours'));
      const problems = counts(await statusText(session!.page, 'problems'));
      return ours.length >= 2 && problems.length >= 2 && ours.slice(-2).join() === problems.slice(0, 2).join();
    }, {
      describe: async () => `ours: "${await statusText(session!.page, 'ours')}", Problems: "${await statusText(session!.page, 'problems')}"`,
    });
    await wb.filterProblems('');
    await shot('06-after-quick-fix.png');
  });

  it(`repairs ${PALETTE_REPAIR_RULE} with Cluster: Repair… from the palette`, async () => {
    await wb.runCommand('Cluster: Repair…');
    await wb.pick(/pick a finding/i, PALETTE_REPAIR_RULE, PALETTE_REPAIR_RULE);
    const safeRepair = await wb.waitForPick(new RegExp(`Repair ${PALETTE_REPAIR_RULE}`), /safe/);
    await shot('07-repair-pick.png');
    await safeRepair.click();
    await waitRepairedWithoutModal(wb, PALETTE_REPAIR_RULE);
    await wb.filterProblems('');
    await shot('08-after-repair.png');
  });

  /** `Cluster: Repair…` on CONFIRM_RULE with the repair that may lose data, up to its modal confirmation. */
  async function startRepairThatMayLoseData(): Promise<Locator> {
    await wb.runCommand('Cluster: Repair…');
    await wb.pick(/pick a finding/i, CONFIRM_RULE, CONFIRM_RULE);
    const risky = await wb.waitForPick(new RegExp(`Repair ${escapeRegExp(CONFIRM_RULE)}`), CONFIRM_REPAIR);
    assert.match(await risky.innerText(), /may lose data/, 'the pick says the repair may lose data before it runs');
    await risky.click();
    const dialog = modalDialog(wb);
    await dialog.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS }).catch(() => {
      throw new Error('no modal confirmation appeared for a repair that may lose data');
    });
    return dialog;
  }

  it(`asks before a repair that may lose data (${CONFIRM_RULE}), and Cancel sends nothing`, async () => {
    const rows = await wb.filterProblems(CONFIRM_RULE);
    await waitUntil(`the ${CONFIRM_RULE} problem`, async () => (await rows.count()) === 1, { describe: () => problemsText(wb) });
    const dialog = await startRepairThatMayLoseData();
    assert.match(await dialog.locator('.dialog-message-text').innerText(), /may lose data/);
    assert.match(await dialog.locator('.dialog-message-detail').innerText(), new RegExp(`${escapeRegExp(CONFIRM_RULE)}[\\s\\S]*Removes the node`));
    // What the preview says the repair does, and its Preview button.
    assert.match(await dialog.locator('.dialog-message-detail').innerText(), /Preview: resolves 1 finding, creates none; deletes/);
    // VS Code orders the buttons per platform (Cancel first on Linux).
    assert.deepEqual((await dialogButtons(dialog)).sort(), ['Apply Repair', 'Cancel', 'Preview']);
    await shot('09-confirm-modal.png');

    await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Cancel$/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: DEFAULT_DEADLINE_MS });
    // The extension logs its decision; nothing was sent, so the problem is still there.
    const notConfirmed = new RegExp(`Repair ${CONFIRM_REPAIR_ID} of ${escapeRegExp(CONFIRM_RULE)}:\\S+ on sim: not confirmed, nothing sent`);
    const log = await waitUntil('the log to say the repair was not confirmed', async () => {
      const text = extensionLog(runDir);
      return notConfirmed.test(text) && text;
    }, { describe: async () => extensionLog(runDir).split('\n').slice(-4).join(' | ') });
    assert.doesNotMatch(log, new RegExp(`Repair ${CONFIRM_REPAIR_ID} \\(|→ ${CONFIRM_REPAIR_ID}`), 'no repair was started after Cancel');
    assert.equal(await (await wb.filterProblems(CONFIRM_RULE)).count(), 1, `${CONFIRM_RULE} is still in the Problems panel`);
  });

  it(`asks before a quick fix that may lose data (${CONFIRM_RULE}, from the lightbulb), and Cancel sends nothing`, async () => {
    // The quick fix names the server's clusterDebugger.applyRepair; the extension's middleware still confirms first.
    // The Problems panel offers quick fixes only for a document that is open: open it at the problem first.
    await (await wb.filterProblems(CONFIRM_RULE)).first().dblclick();
    await waitUntil('the editor to show the wal document', async () =>
      /wal\.clustersnap/.test(await session!.page.locator('.tabs-container .tab.active').innerText().catch(() => '')),
    );
    const menu = await openQuickFixMenu(CONFIRM_RULE);
    const risky = menu.filter({ hasText: CONFIRM_REPAIR });
    await waitUntil('the quick fix that may lose data', async () => (await risky.count()) > 0, {
      describe: async () => `menu: ${(await menu.allInnerTexts()).join(' | ')}`,
    });
    assert.match(await risky.first().innerText(), /may lose data/);
    // Not a click: the second item of this menu does not take one reliably; hovering focuses it, Enter runs it.
    await risky.first().hover();
    await session!.page.keyboard.press('Enter');
    const dialog = modalDialog(wb);
    await dialog.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS }).catch(() => {
      throw new Error('no modal confirmation appeared for a quick fix that may lose data');
    });
    assert.match(await dialog.locator('.dialog-message-text').innerText(), /may lose data/);
    const before = extensionLog(runDir).split(/not confirmed, nothing sent/).length;
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Cancel$/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: DEFAULT_DEADLINE_MS });
    await waitUntil('the log to say the quick fix was not confirmed', async () => extensionLog(runDir).split(/not confirmed, nothing sent/).length > before, {
      describe: async () => extensionLog(runDir).split('\n').slice(-4).join(' | '),
    });
    assert.equal(await (await wb.filterProblems(CONFIRM_RULE)).count(), 1, `${CONFIRM_RULE} is still in the Problems panel`);
  });

  it(`repairs ${CONFIRM_RULE} once "Apply Repair" is pressed`, async () => {
    const dialog = await startRepairThatMayLoseData();
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Apply Repair$/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: DEFAULT_DEADLINE_MS });
    await waitUntil(`${CONFIRM_RULE} to leave the Problems panel`, async () => (await (await wb.filterProblems(CONFIRM_RULE)).count()) === 0, {
      timeoutMs: 60_000,
      describe: () => problemsText(wb),
    });
    await waitUntil('the log to record the confirmed repair', async () => new RegExp(`Repair ${CONFIRM_REPAIR_ID} \\(may-lose-data`).test(extensionLog(runDir)));
    await wb.filterProblems('');
    await shot('10-after-confirmed-repair.png');
  });

  it('connects a second cluster with Cluster: Connect…', async () => {
    // Behind a gate that holds the repair's second batch, so the next step can cancel it part-way
    // with no race: the batch is let through only once the server has the cancel.
    bigSim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1', '--dangling-shards', String(BIG_DANGLING)]);
    gate = await BatchGate.start(bigSim.url, { holdRepair: 2 });
    await wb.runCommand('Cluster: Connect…');
    await wb.answerInput(/Connect to a cluster \(1\/3\)/, gate.url);
    await wb.answerInput(/Connect to a cluster \(2\/3\)/, 'big');
    await wb.answerInput(/Connect to a cluster \(3\/3\)/, bigSim.token);
    const rows = await wb.filterProblems(CANCEL_RULE); // sim's was repaired by the quick fix: these are big's
    await waitUntil(`big's ${CANCEL_RULE} problem`, async () => /20,000 shards/.test((await rows.allInnerTexts()).join(' ')), {
      timeoutMs: 60_000,
      describe: () => problemsText(wb),
    });
  });

  it('cancels a long repair from its progress notification: the batch in flight ends it, no more are sent', async () => {
    const { page } = session!;
    const toasts = page.locator('.notifications-toasts .notification-toast');
    await wb.runCommand('Notifications: Clear All Notifications');
    await wb.runCommand('Cluster: Repair…');
    await wb.pick(/pick a finding/i, /big/, CANCEL_RULE);
    await wb.pick(new RegExp(`Repair ${escapeRegExp(CANCEL_RULE)}`), CANCEL_REPAIR);
    const progress = toasts.filter({ hasText: 'Cluster: Delete 20,000 uninitialised shards' });
    await progress.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS });
    await gate!.held(); // batch 1 applied, batch 2 sent and held
    // The server reports each batch to the extension's own notification (not to one of its own).
    await waitUntil('the progress notification to show batch 1 of 4 done', async () => /5,000 of 20,000/.test(await progress.innerText()), {
      describe: () => progress.innerText(),
    });
    await shot('11-repair-progress.png');
    await progress.locator('.monaco-button', { hasText: /^Cancel$/ }).click({ timeout: DEFAULT_DEADLINE_MS }).catch(() => {
      throw new Error('the repair’s progress notification has no Cancel button');
    });
    // A barrier: the pick below lists findings from the server, over the same ordered channels as
    // the cancel (workbench → extension host → server); once it shows, the server has the cancel.
    await wb.runCommand('Cluster: Repair…');
    await wb.waitForPick(/pick a finding/i, /big/, CANCEL_RULE);
    await wb.closeQuickInput();
    gate!.release();

    const outcome = toasts.filter({ hasText: /applied 10,000; cancelled before the remaining batches/ });
    await outcome.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS }).catch(async () => {
      throw new Error(`no "cancelled" outcome (${gate!.repairs.length} batches sent); notifications: ${(await toasts.allInnerTexts()).join(' | ')}`);
    });
    assert.equal(gate!.repairs.length, 2, 'no batch was sent after the cancel');
    await progress.waitFor({ state: 'hidden', timeout: DEFAULT_DEADLINE_MS });
    const rows = await wb.filterProblems(CANCEL_RULE);
    await waitUntil(`${CANCEL_RULE} to stay, with the 10,000 shards not deleted`, async () => /10,000 shards/.test((await rows.allInnerTexts()).join(' ')), {
      describe: () => problemsText(wb),
    });
    await waitUntil('the log to say the repair was cancelled', async () => /delete-uninitialised .*cancelled before the remaining batches/.test(extensionLog(runDir)), {
      describe: async () => extensionLog(runDir).split('\n').slice(-4).join(' | '),
    });
    await wb.filterProblems('');
    await shot('12-after-cancel.png');
  });

  it('starts a read-only gateway from the workspace config with Cluster: Start Gateway…, and shows it read-only', async () => {
    // The gateway with no store configured: read-only, every subsystem "not configured".
    writeFileSync(join(runDir, 'workspace', 'gw.cluster-gateway.json'), '{}\n');
    await wb.runCommand('Notifications: Clear All Notifications');
    await wb.runCommand('Cluster: Start Gateway…');
    // The only config in the workspace: no pick.
    // The Clusters view gets the side bar's height: its list renders only the rows in sight.
    for (const view of SUBSYSTEM_VIEWS) await wb.collapsePane(wb.pane(CONTAINER_ID, view));
    const clusters = wb.pane(CONTAINER_ID, 'Clusters');
    await wb.expandPane(clusters);
    await waitUntil('the Clusters view to list "gw" as read-only', async () =>
      (await clusters.locator('.monaco-list-row[role="treeitem"]', { hasText: /read-only/ }).filter({ hasText: 'gw' }).count()) > 0,
      { timeoutMs: 60_000, describe: () => rowsText(clusters) },
    );
    const gwRow = clusters.locator('.monaco-list-row[role="treeitem"]', { hasText: 'gw' }).filter({ hasText: /read-only/ }).first();
    assert.equal(await gwRow.locator('.codicon-lock').count(), 1, 'a lock on the read-only cluster');
    const status = session!.page.locator('[id="cluster-debugger.cluster-debugger.clusterDebugger.status"]');
    await waitUntil('the status bar to show a lock', async () => (await status.locator('.codicon-lock').count()) > 0, {
      describe: () => statusText(session!.page, 'ours'),
    });
    await shot('13-gateway-read-only.png');
  });

  it('shows the gateway’s subsystems as "not configured" in their views (a message, not an error)', async () => {
    await wb.collapsePane(wb.pane(CONTAINER_ID, 'Clusters'));
    const shards = wb.pane(CONTAINER_ID, 'Shards');
    await wb.expandPane(shards);
    const gw = shards.locator('.monaco-list-row[role="treeitem"]', { hasText: 'gw' }).first();
    await waitUntil('the Shards view to list gw as not configured', async () => /not configured/.test(await gw.innerText().catch(() => '')), {
      timeoutMs: 30_000,
      describe: () => rowsText(shards),
    });
    if ((await gw.getAttribute('aria-expanded')) !== 'true') await gw.locator('.monaco-tl-twistie').click();
    const message = shards.locator('.monaco-list-row[role="treeitem"]', { hasText: /Not configured: no quickwit section in the gateway config/ });
    await waitUntil('the "Not configured" message under gw', async () => (await message.count()) > 0, { describe: () => rowsText(shards) });
    const rows = await treeRows(shards);
    const row = rows.find((r) => /Not configured: no quickwit section/.test(r.label));
    assert.equal(row?.marked, false, 'a message, not an error');
    await shot('14-gateway-not-configured.png');
  });

  it('finds the Fluvio incident through a fluvio-only gateway over the simulator’s mirrored metadata', async function () {
    const fluvioSource = readFileSync(join(repoRoot, 'src', 'gateway', 'sources', 'fluvio.ts'), 'utf8');
    if (/not implemented/.test(fluvioSource)) {
      console.log('    (skipped: src/gateway/sources/fluvio.ts is not implemented on this branch; the gateway cannot read Fluvio metadata yet)');
      this.skip();
    }
    // The bundled simulator (incident-all) may list this rule too: the gateway's is one problem more.
    // (A problem row's resource is `partitions.clustersnap` under `/` for either cluster: the name is not shown.)
    const problemRows = (rows: Locator) => rows.filter({ hasText: /are Online at the SC, but the leader SPU reports its storage full/ });
    const before = await problemRows(await wb.filterProblems('partitions/online-out-of-space')).count();
    await wb.filterProblems('');
    const metadata = join(runDir, 'fluvio-metadata');
    mkdirSync(metadata, { recursive: true });
    fluvioSim = await startSim(['--scenario', 'fluvio-out-of-space-reverted', '--fluvio-metadata', metadata]);
    // Fluvio keeps no SPU storage report in its metadata: the gateway reads each SPU's free space
    // from where the config says; the simulator writes its SPUs' as files beside the metadata.
    const reports = join(metadata, '.cluster-sim');
    const spuStorage = readdirSync(reports).map((f) => ({ spuId: Number(/spu-(\d+)/.exec(f)![1]), file: join(reports, f), fullBelowBytes: 0 }));
    writeFileSync(join(runDir, 'workspace', 'fluvio.cluster-gateway.json'), JSON.stringify({ fluvio: { metadataDir: metadata, spuStorage } }));
    await wb.runCommand('Cluster: Start Gateway…');
    await wb.pick(/Start Gateway: pick a config/, /^fluvio/, 'fluvio');
    const partitions = wb.pane(CONTAINER_ID, 'Partitions');
    await wb.expandPane(partitions);
    await waitUntil('an entity with a problem marker in the Partitions view', () => revealMarkedEntity(partitions), {
      timeoutMs: 60_000,
      describe: () => rowsText(partitions),
    });
    const rows = await wb.filterProblems('partitions/online-out-of-space');
    // The gateway's cluster in the Partitions view says it has the problem (the Problems panel shows no cluster names).
    const gwRoot = partitions.locator('.monaco-list-row[role="treeitem"]', { hasText: 'fluvio' }).first();
    await waitUntil('the fluvio gateway in the Partitions view with its problem', async () => /1 problem/.test(await gwRoot.innerText().catch(() => '')), {
      timeoutMs: 60_000,
      describe: () => rowsText(partitions),
    });
    await waitUntil(`the Problems panel to list one more partitions/online-out-of-space (${before} before)`, async () => (await problemRows(rows).count()) > before, {
      timeoutMs: 60_000,
      describe: async () => `${await problemRows(rows).count()} rows: ${await problemsText(wb)}`,
    });
    await wb.filterProblems('');
    await shot('15-gateway-fluvio-incident.png');
  });

  /**
   * The quick fix menu of `rule`'s problem. Virtual cluster:// documents are read-only, and VS Code
   * 1.100 computes no code actions (so draws no lightbulb) in a read-only editor; the Problems
   * panel's lightbulb asks the same provider for the same quick fixes.
   */
  async function openQuickFixMenu(rule: string): Promise<Locator> {
    const { page } = session!;
    const problem = (await wb.filterProblems(rule)).first();
    await problem.hover();
    const bulb = problem.locator('.markers-panel-action-quickfix');
    await bulb.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS }).catch(() => {
      throw new Error(`the ${rule} problem has no lightbulb (no quick fix offered)`);
    });
    await bulb.click();
    const menu = page.locator('.context-view .monaco-menu .action-item:not(.disabled) .action-label');
    await waitUntil('the quick fix menu', async () => (await menu.count()) > 0, {
      describe: async () => `menu: ${await page.locator('.context-view').innerText().catch(() => '(none)')}`,
    });
    return menu;
  }
});

/**
 * A status bar item's text (codicons drop out): the extension's ("sim  3  1": errors, warnings)
 * or VS Code's own Problems item ("3 1": errors, warnings).
 */
async function statusText(page: import('playwright-core').Page, which: 'ours' | 'problems'): Promise<string> {
  const item =
    which === 'problems'
      ? page.locator('[id="status.problems"]')
      : page.locator('[id="cluster-debugger.cluster-debugger.clusterDebugger.status"]');
  return ((await item.first().innerText({ timeout: 2000 }).catch(() => '')) || '').replace(/\s+/g, ' ').trim();
}

/** The numbers in a status text, in order ("1,234" is one number). */
function counts(text: string): number[] {
  return [...text.matchAll(/\d[\d,]*/g)].map((m) => Number(m[0].replace(/,/g, '')));
}

/**
 * Expands marked rows (cluster → group → …) until a marked row below the top level shows: an
 * entity, or a group of entities, with a problem marker. Bounded by the tree's depth.
 */
async function revealMarkedEntity(pane: Locator): Promise<TreeRow | undefined> {
  for (let depth = 0; depth < 5; depth++) {
    const rows = await treeRows(pane);
    const entity = rows.find((r) => r.marked && r.level >= 2);
    if (entity) return entity;
    const collapsed = rows.find((r) => r.marked && r.expanded === 'false');
    if (!collapsed) return undefined;
    const row = pane.locator(`.monaco-list-row[data-index="${collapsed.index}"]`);
    await row.locator('.monaco-tl-twistie').click();
    await waitUntil(`"${collapsed.label}" to expand`, async () => (await row.getAttribute('aria-expanded')) === 'true');
  }
  return undefined;
}

/** The topology webview's page: VS Code draws a webview in an iframe whose page is another iframe, `active-frame`. */
function topologyFrame(page: import('playwright-core').Page): import('playwright-core').FrameLocator {
  return page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
}

/** VS Code's modal dialog (in the browser it is drawn in the page, not by the OS). */
function modalDialog(wb: Workbench): Locator {
  return wb.page.locator('.monaco-dialog-box');
}

async function dialogButtons(dialog: Locator): Promise<string[]> {
  return (await dialog.locator('.dialog-buttons .monaco-button').allInnerTexts()).map((t) => t.trim());
}

/**
 * Waits for a safe repair's `rule` to leave the Problems panel, and fails at once if a modal
 * dialog shows instead: safe repairs must not ask (and a dialog would block the repair, so it
 * cannot go unseen while we wait).
 */
async function waitRepairedWithoutModal(wb: Workbench, rule: string): Promise<void> {
  const dialog = modalDialog(wb);
  let modal: string | undefined;
  await waitUntil(`${rule} to leave the Problems panel, with no confirmation asked`, async () => {
    if (await dialog.isVisible()) {
      modal = (await dialog.innerText()).replace(/\s+/g, ' ');
      return true;
    }
    return (await (await wb.filterProblems(rule)).count()) === 0;
  }, { timeoutMs: 60_000, describe: () => problemsText(wb) });
  assert.equal(modal, undefined, `a safe repair of ${rule} asked for a modal confirmation: "${modal}"`);
}
