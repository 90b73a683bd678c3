/**
 * `npm run bench:ui`: the Quickwit incident at its real scale (763,471 metastore shards, 769,568
 * entities) in the real UI: the packaged VSIX in code-server, driven through Debian's Chromium by
 * playwright-core, as the UI test drives it (test/ui/, docs/vscode-host.md). Not a test: it prints
 * what it measured, appends it to bench/RESULTS.md, and asserts nothing about time.
 *
 * Each figure runs from the user's action to what the user sees, polled in the page (about every
 * 200 ms, plus the probe itself: a figure is late by up to ~0.3 s):
 *  1. `Cluster: Connect…` (Enter on the token) → the cluster's row in the Shards view → its groups
 *     (expanded as soon as the row shows) → the first problem in the Problems panel → every
 *     dangling shard counted there (the whole model synced and checked).
 *  2. Expanding the group of 760,471 shards (cluster → index → source → metastore) → its first
 *     page; `Load more…` → the next page in its place.
 *  3. `Cluster: Save Snapshot…` → the extension's log says it is saved (a file outside the workspace).
 *  4. `Cluster: Run All Safe Repairs` (its confirmation answered) → no problem left in the Problems panel.
 * Over each step, the extension host's event-loop delay (p50, p99, max), read with the extension's
 * own `Cluster: Show Extension Host Event-Loop Delay` from its log: nothing should hold the host
 * for more than 50 ms. And the workbench renderer's main-thread work (Chromium's own totals): it
 * shares the CPUs with the language server (a progress bar animated for each batch once took 5 s
 * of it over Repair All).
 *
 * After step 4, the size of the repair journal the extension wrote (it is on by default). The
 * figures of issue 21's table (Repair All Safe with the journal on, the journal's size) also go to
 * .test-artifacts/bench-ui/figures.json, where `npm run bench`'s summary reads them.
 *
 * Usage: npm run bench:ui (sets up code-server, packages the VSIX, then runs out/bench/ui/run.js).
 * CLUSTER_DEBUGGER_VSIX=path picks another VSIX; BENCH_UI_NO_RECORD=1 prints without appending;
 * BENCH_UI_PROFILE=1 also writes, per step, a CPU profile of the workbench's renderer and a Chromium
 * trace (open it in chrome://tracing or Perfetto) into the run's folder, and screenshots 1.5 s and
 * 3 s into Repair All;
 * BENCH_UI_DANGLING=N runs a smaller incident (N dangling shards), to try the bench itself quickly.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { CDPSession, Locator } from 'playwright-core';
import { startSim, type RunningSim } from '../../test/server/sim';
import { launchBrowser, type BrowserSession } from '../../test/vscode-host/browser';
import { CodeServer } from '../../test/vscode-host/codeServer';
import { assertHostInstalled, newRunDir, repoRoot } from '../../test/vscode-host/paths';
import { Workbench, escapeRegExp, extensionLog, problemsText, rowsText, treeRows, waitUntil } from '../../test/ui/workbench';
import { INCIDENT } from '../processes';
import { changedSinceCommit, uiFiguresFile, type UiFigures } from '../results';

const VSIX = process.env.CLUSTER_DEBUGGER_VSIX ?? join(repoRoot, 'cluster-debugger.vsix');
const CONTAINER_ID = 'clusterDebugger';
const CLUSTER = 'big';
const STEP_DEADLINE_MS = 15 * 60_000;
const DANGLING = Number(process.env.BENCH_UI_DANGLING ?? INCIDENT.danglingShards);
const SIM_ARGS =
  DANGLING === INCIDENT.danglingShards
    ? ['--scale', 'incident']
    : ['--dangling-shards', String(DANGLING), '--live-shards', String(INCIDENT.liveShards)];
/** What `describeEventLoopDelay` (src/extension/eventLoop.ts) writes to the log. */
const DELAY_LINE =
  /Extension host event-loop delay over the last ([\d.]+) s: p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms \(([\d,]+) samples\)/g;

interface Delay {
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  samples: number;
}
interface Step {
  name: string;
  /** What the user waited for, and how long, in ms from the step's action. */
  waits: Array<[string, number]>;
  delay?: Delay;
  /** The workbench page's own work over the step (Chromium's `Performance.getMetrics`), in ms. */
  renderer?: RendererWork;
}

/** What the workbench's renderer spent over a step: all its main-thread tasks, and the script, style and layout within them. */
interface RendererWork {
  tasks: number;
  script: number;
  style: number;
  layout: number;
}

const steps: Step[] = [];
/** What `npm run bench`'s summary of issue 21's table reads from this run (`uiFiguresFile`). */
const figures: UiFigures['figures'] = {};
const loadAtStart = loadavg();

async function main(): Promise<void> {
  assertHostInstalled();
  if (!existsSync(VSIX)) throw new Error(`no VSIX at ${VSIX}: build it with npm run package`);
  const runDir = newRunDir(join('bench-ui', 'runs'));
  let sim: RunningSim | undefined;
  let server: CodeServer | undefined;
  let session: BrowserSession | undefined;
  try {
    console.log(`bench:ui: building the incident in the simulator (${SIM_ARGS.join(' ')})…`);
    sim = await startSim(['--scenario', 'quickwit-dangling-shards', ...SIM_ARGS, '--seed', '1'], 300_000);
    const workspace = join(runDir, 'workspace');
    cpSync(join(repoRoot, 'test', 'vscode-host', 'workspace'), workspace, { recursive: true });
    server = await CodeServer.start({ runDir, vsix: VSIX, log: (l) => console.log(`bench:ui: ${l}`) });
    session = await launchBrowser();
    const wb = new Workbench(session.page);
    await session.page.goto(server.workbenchUrl(workspace), { waitUntil: 'domcontentloaded' });
    await wb.ready();
    await wb.openContainer('Cluster Debugger', CONTAINER_ID);
    const clusters = wb.pane(CONTAINER_ID, 'Clusters');
    // The server is up (the extension active, its language server started) once the welcome shows.
    await waitUntil('the Clusters view to offer Connect…', async () => /No cluster is connected/.test(await clusters.innerText()), {
      timeoutMs: 120_000,
    });
    await wb.collapsePane(clusters);
    // The Shards view gets the side bar's height.
    for (const view of ['WAL Nodes', 'DDL Tasks', 'Regions', 'Partitions']) await wb.collapsePane(wb.pane(CONTAINER_ID, view));
    const shards = wb.pane(CONTAINER_ID, 'Shards');
    await wb.expandPane(shards);
    await wb.openProblems();
    await eventLoopDelay(wb, runDir); // starts the first step's interval

    try {
      await step(wb, runDir, 'connect and sync', () => connectAndSync(wb, shards, sim!));
      await step(wb, runDir, `expand the ${DANGLING.toLocaleString('en-US')}-shard group, Load more`, () => expandAndLoadMore(wb, shards));
      await step(wb, runDir, 'save a snapshot', () => saveSnapshot(wb, runDir));
      await step(wb, runDir, 'Run All Safe Repairs', () => repairAllSafe(wb, runDir));
    } catch (err) {
      await session.page.screenshot({ path: join(runDir, 'failure.png') }).catch(() => {});
      throw err;
    }
  } finally {
    await session?.close();
    await server?.stop();
    await sim?.stop();
  }
  report(runDir);
}

async function step(wb: Workbench, runDir: string, name: string, run: () => Promise<Array<[string, number]>>): Promise<void> {
  console.log(`bench:ui: ${name}…`);
  const cdp = await wb.page.context().newCDPSession(wb.page);
  await cdp.send('Performance.enable');
  const profile = process.env.BENCH_UI_PROFILE === '1';
  if (profile) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
  }
  const browser = wb.page.context().browser();
  if (profile && browser)
    await browser.startTracing(wb.page, {
      categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'cc'],
    });
  const before = await rendererWork(cdp);
  const s: Step = { name, waits: await run() };
  const after = await rendererWork(cdp);
  if (profile && browser) writeFileSync(join(runDir, `trace-${steps.length + 1}.json`), await browser.stopTracing());
  s.renderer = workBetween(before, after);
  if (profile) {
    const { profile: p } = await cdp.send('Profiler.stop');
    const file = join(runDir, `renderer-${steps.length + 1}.cpuprofile`);
    writeFileSync(file, JSON.stringify(p));
    console.log(`bench:ui:   the workbench renderer's CPU profile over the step: ${file}`);
  }
  await cdp.detach();
  s.delay = await eventLoopDelay(wb, runDir);
  for (const [what, ms] of s.waits) console.log(`bench:ui:   ${what}: ${fmtMs(ms)}`);
  console.log(`bench:ui:   extension host event-loop delay: p50 ${s.delay.p50} ms, p99 ${s.delay.p99} ms, max ${s.delay.max} ms`);
  const r = s.renderer;
  console.log(
    `bench:ui:   the workbench renderer's main thread: ${fmtMs(r.tasks)} of tasks (script ${fmtMs(r.script)}, style ${fmtMs(r.style)}, layout ${fmtMs(r.layout)})`,
  );
  steps.push(s);
}

function workBetween(a: RendererWork, b: RendererWork): RendererWork {
  return { tasks: b.tasks - a.tasks, script: b.script - a.script, style: b.style - a.style, layout: b.layout - a.layout };
}

/** Chromium's running totals for the page (seconds in `Performance.getMetrics`), in ms. */
async function rendererWork(cdp: CDPSession): Promise<RendererWork> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = (name: string) => 1000 * (metrics.find((x) => x.name === name)?.value ?? NaN);
  return { tasks: m('TaskDuration'), script: m('ScriptDuration'), style: m('RecalcStyleDuration'), layout: m('LayoutDuration') };
}

/**
 * A palette command, reliably (#11: two runs on a quiet machine stopped here, waiting for the
 * palette's input while it stayed hidden: F1 had reached the workbench while the last quick input
 * was still going away, and the palette never opened). As the UI test points only at what is laid
 * out (`Workbench.waitForBox`): the last quick input gone first, then F1 again until the palette's
 * input is laid out and in view, the title typed and read back, and its row clicked once laid out.
 */
async function runCommand(wb: Workbench, title: string): Promise<void> {
  const widget = wb.page.locator('.quick-input-widget');
  const input = widget.locator('.quick-input-box input');
  await waitUntil('the last quick input to go', async () => {
    if (!(await widget.isVisible())) return true;
    await wb.page.keyboard.press('Escape');
    return false;
  });
  await waitUntil(
    'the command palette to open',
    async () => {
      if (!(await input.isVisible())) await wb.page.keyboard.press('F1');
      return wb.waitForBox('the command palette’s input', input, { timeoutMs: 3000 });
    },
    { timeoutMs: 60_000 },
  );
  await input.fill(`>${title}`);
  await waitUntil(`the palette to hold "${title}"`, async () => (await input.inputValue()) === `>${title}`);
  // Several commands can match the typed prefix: the row whose label is exactly the title.
  const row = wb
    .quickPickRows()
    .filter({ has: wb.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) })
    .first();
  await wb.waitForBox(`the palette's row "${title}"`, row, { describe: () => wb.quickPickLabels() });
  await row.click();
}

/** Runs the extension's command and reads its figures back from the extension's log. */
async function eventLoopDelay(wb: Workbench, runDir: string): Promise<Delay> {
  const lines = () => [...extensionLog(runDir).matchAll(DELAY_LINE)];
  const before = lines().length;
  await runCommand(wb, 'Cluster: Show Extension Host Event-Loop Delay');
  const m = await waitUntil('the event-loop delay in the extension’s log', async () => {
    const all = lines();
    return all.length > before && all[all.length - 1];
  });
  const [seconds, p50, p99, max] = m.slice(1, 5).map(Number);
  return { seconds, p50, p99, max, samples: Number(m[5].replace(/,/g, '')) };
}

/** `Cluster: Connect…` to the incident, timed from Enter on the last prompt. */
async function connectAndSync(wb: Workbench, shards: Locator, sim: RunningSim): Promise<Array<[string, number]>> {
  await runCommand(wb, 'Cluster: Connect…');
  await wb.answerInput(/Connect to a cluster \(1\/3\)/, sim.url);
  await wb.answerInput(/Connect to a cluster \(2\/3\)/, CLUSTER);
  const widget = wb.page.locator('.quick-input-widget');
  await waitUntil('the token prompt', async () =>
    /Connect to a cluster \(3\/3\)/.test(await widget.locator('.quick-input-title').innerText()),
  );
  await widget.locator('.quick-input-box input').fill(sim.token);
  const t0 = performance.now();
  await wb.page.keyboard.press('Enter');

  const seen = new Map<string, number>();
  const mark = (what: string) => void (seen.has(what) || seen.set(what, performance.now() - t0));
  const problems = problemRows(wb);
  const names = {
    row: 'connect → the cluster’s row in the Shards view',
    groups: 'connect → its groups in the Shards view',
    first: 'connect → the first problem in the Problems panel',
    all: `connect → all ${DANGLING.toLocaleString('en-US')} dangling shards in the Problems panel`,
    marked: 'connect → the groups marked with their problems in the Shards view (the full sync checked)',
  };
  await waitUntil(
    'the whole incident in the Problems panel',
    async () => {
      const rows = await treeRows(shards);
      const root = rows.find((r) => r.level === 1 && r.label.startsWith(CLUSTER));
      if (root) {
        mark(names.row);
        if (root.expanded === 'false') await shards.locator(`.monaco-list-row[data-index="${root.index}"] .monaco-tl-twistie`).click();
      }
      if (rows.some((r) => r.level === 2)) mark(names.groups);
      const texts = await problems.allInnerTexts();
      if (texts.length) mark(names.first);
      if (danglingCounted(texts) === DANGLING) mark(names.all);
      if (rows.some((r) => r.level === 2 && r.marked)) mark(names.marked);
      return seen.size === Object.keys(names).length;
    },
    { timeoutMs: STEP_DEADLINE_MS, describe: async () => `${await rowsText(shards)} / ${await problemsText(wb)}` },
  );
  return Object.values(names).map((n) => [n, seen.get(n)!]);
}

/** Problem rows (each shows its position), not the rows of their files. */
function problemRows(wb: Workbench): Locator {
  return wb.page.locator('.markers-panel .monaco-list-row').filter({ hasText: /\[Ln \d+, Col \d+\]/ });
}

/** The shards that `shards/dangling` problems count ("760,471 shards of index …"). */
function danglingCounted(texts: string[]): number {
  return texts.reduce(
    (n, t) => n + [...t.matchAll(/(\d[\d,]*) shards? of index/g)].reduce((a, m) => a + Number(m[1].replace(/,/g, '')), 0),
    0,
  );
}

/** The largest number in a row's label, e.g. 763,471 in "…·763,471 metastore shards". */
function largestCount(label: string): number {
  return Math.max(0, ...[...label.matchAll(/\d[\d,]*/g)].map((m) => Number(m[0].replace(/,/g, ''))));
}

async function expandAndLoadMore(wb: Workbench, shards: Locator): Promise<Array<[string, number]>> {
  const waits: Array<[string, number]> = [];
  const loadMoreRow = () => shards.locator('.monaco-list-row[role="treeitem"]', { hasText: /^Load more/ });
  // Down the marked rows, biggest first, to the metastore's group of dangling shards. (VS Code
  // expands a node's only child along with it: some of these levels open by themselves.)
  for (let depth = 0; depth < 6; depth++) {
    const rows = await treeRows(shards);
    const group = rows.find((r) => r.marked && r.label.startsWith('metastore'));
    if (group?.expanded === 'true') break;
    const next =
      group ?? rows.filter((r) => r.marked && r.expanded === 'false').sort((a, b) => largestCount(b.label) - largestCount(a.label))[0];
    if (!next) throw new Error(`no collapsed group with a problem to expand: ${await rowsText(shards)}`);
    const row = shards.locator(`.monaco-list-row[data-index="${next.index}"]`);
    const t0 = performance.now();
    await row.locator('.monaco-tl-twistie').click();
    await waitUntil(
      `"${next.label}" to show its children`,
      async () => {
        const below = (await treeRows(shards)).find((r) => Number(r.index) === Number(next.index) + 1);
        return below !== undefined && below.level === next.level + 1;
      },
      { timeoutMs: STEP_DEADLINE_MS, describe: () => rowsText(shards) },
    );
    waits.push([`expand "${next.label.trim()}" → its first page`, performance.now() - t0]);
  }
  // The list is virtual: page down the 500 rows (the tree has the focus since the last click; moving
  // the focus opens nothing) until their "Load more" row is drawn.
  const more = loadMoreRow().first();
  await waitUntil(
    'the "Load more" row to be drawn',
    async () => {
      if (await more.isVisible()) return true;
      for (let i = 0; i < 5; i++) await wb.page.keyboard.press('PageDown');
      return false;
    },
    { timeoutMs: 60_000, describe: () => rowsText(shards) },
  );
  const label = (await more.getAttribute('aria-label')) ?? '';
  const t0 = performance.now();
  await more.click();
  await waitUntil(
    'the next page in place of "Load more"',
    async () => {
      const labels = await loadMoreRow().evaluateAll((els) =>
        els.map((e) => (e as { getAttribute(n: string): string | null }).getAttribute('aria-label')),
      );
      return !labels.includes(label);
    },
    { timeoutMs: STEP_DEADLINE_MS, describe: () => rowsText(shards) },
  );
  waits.push([`"${label.trim()}" → the next page`, performance.now() - t0]);
  return waits;
}

async function saveSnapshot(wb: Workbench, runDir: string): Promise<Array<[string, number]>> {
  const file = join(runDir, `${CLUSTER}.clustersnap`);
  await runCommand(wb, 'Cluster: Save Snapshot…');
  // In the browser the save dialog is VS Code's own: a quick input holding the path.
  const widget = wb.page.locator('.quick-input-widget');
  await waitUntil(
    'the save dialog',
    async () => (await widget.isVisible()) && /snapshot/i.test(await widget.locator('.quick-input-title').innerText()),
  );
  const input = widget.locator('.quick-input-box input');
  await input.fill(file);
  await waitUntil('the save dialog to hold the path', async () => (await input.inputValue()) === file);
  // The dialog lists the folder of what was typed, busy while it reads it: Enter pressed then was
  // lost once (the dialog stayed open). As a person does: the list settled, then its OK button.
  await waitUntil('the save dialog to settle on the folder', async () => {
    // VS Code's progress bar is always in the DOM; `active` while the dialog is busy.
    const busy = (await widget.locator('.quick-input-progress.active').count()) > 0;
    return !busy && (await wb.quickPickLabels()).includes('user-data');
  });
  const ok = widget.locator('.monaco-button', { hasText: /^OK$/ });
  await wb.waitForBox('the save dialog’s OK button', ok);
  const t0 = performance.now();
  await ok.click();
  await widget.waitFor({ state: 'hidden', timeout: 30_000 }).catch(async () => {
    throw new Error(`the save dialog stayed open: "${await widget.innerText().catch(() => '')}"`);
  });
  const saved = new RegExp(`Saved a snapshot of ${CLUSTER} to \\S+ \\(([\\d,]+) entities`);
  const m = await waitUntil('the log to say the snapshot is saved', async () => saved.exec(extensionLog(runDir)), {
    timeoutMs: STEP_DEADLINE_MS,
    describe: async () => extensionLog(runDir).split('\n').slice(-3).join(' | '),
  });
  return [[`Save Snapshot… → saved (${m[1]} entities)`, performance.now() - t0]];
}

async function repairAllSafe(wb: Workbench, runDir: string): Promise<Array<[string, number]>> {
  const problems = problemRows(wb);
  await runCommand(wb, 'Cluster: Run All Safe Repairs');
  // It asks once, with the counts: timed from the answer on, as the repairs themselves are.
  const dialog = wb.page.locator('.monaco-dialog-box');
  await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Apply [\d,]+ Repairs?$/ }).click({ timeout: STEP_DEADLINE_MS });
  const t0 = performance.now();
  if (process.env.BENCH_UI_PROFILE === '1') {
    // What the workbench shows while the repair runs.
    for (const at of [1500, 3000]) {
      setTimeout(() => void wb.page.screenshot({ path: join(runDir, `repair-${at}ms.png`) }).catch(() => undefined), at);
    }
  }
  await waitUntil('no problem left in the Problems panel', async () => (await problems.count()) === 0, {
    timeoutMs: STEP_DEADLINE_MS,
    describe: () => problemsText(wb),
  });
  const took = performance.now() - t0;
  figures['Repair All Safe, code-server, journal on'] = took / 1000;
  recordJournalSize(runDir);
  return [['Run All Safe Repairs → 0 problems', took]];
}

/** The repair journal the extension names in its log ("Repair journal: PATH"), and its size: the journal is on by default. */
function recordJournalSize(runDir: string): void {
  const path = /Repair journal: (.+)$/m.exec(extensionLog(runDir))?.[1]?.trim();
  if (!path || !existsSync(path)) {
    console.log(`bench:ui: no repair journal found (${path ?? 'the log names none'}): is clusterDebugger.repairJournal "off"?`);
    return;
  }
  const mb = statSync(path).size / 1e6;
  figures['journal size'] = mb;
  console.log(`bench:ui:   the repair journal (${path}) holds ${mb.toFixed(1)} MB`);
}

function fmtMs(ms: number): string {
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

function report(runDir: string): void {
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const dirty = changedSinceCommit(repoRoot) ? ' + uncommitted changes' : '';
  const lines = [
    `### bench:ui, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit \`${git('rev-parse', '--short', 'HEAD')}\` (${git('rev-parse', '--abbrev-ref', 'HEAD')})${dirty}`,
    '',
    ...(DANGLING === INCIDENT.danglingShards
      ? []
      : [`A smaller incident: ${DANGLING.toLocaleString('en-US')} dangling shards (BENCH_UI_DANGLING).`, '']),
    `Machine: ${availableParallelism()} CPUs (\`nproc\`), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; ` +
      `load average ${load(loadAtStart)} at the start, ${load(loadavg())} at the end.`,
    '',
    '| step | what the user waited for | time |',
    '|---|---|---:|',
    ...steps.flatMap((s) => s.waits.map(([what, ms]) => `| ${s.name} | ${what} | ${fmtMs(ms)} |`)),
    '',
    '| step | extension host event-loop delay over it: p50 | p99 | max | samples | workbench renderer main thread: tasks (script, style, layout) |',
    '|---|---:|---:|---:|---:|---:|',
    ...steps.map(
      (s) =>
        `| ${s.name} (${s.delay!.seconds.toFixed(1)} s) | ${s.delay!.p50} ms | ${s.delay!.p99} ms | **${s.delay!.max} ms** | ${s.delay!.samples.toLocaleString('en-US')} ` +
        `| ${fmtMs(s.renderer!.tasks)} (${fmtMs(s.renderer!.script)}, ${fmtMs(s.renderer!.style)}, ${fmtMs(s.renderer!.layout)}) |`,
    ),
    '',
  ];
  const text = lines.join('\n');
  console.log(`\n${text}`);
  console.log(`bench:ui: the run's logs and screenshots: ${runDir}`);
  const file = uiFiguresFile(repoRoot);
  mkdirSync(dirname(file), { recursive: true });
  const ui: UiFigures = {
    at: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    commit: git('rev-parse', '--short', 'HEAD') + dirty,
    dangling: DANGLING,
    figures,
  };
  writeFileSync(file, JSON.stringify(ui, null, 2));
  console.log(`bench:ui: its figures for npm run bench's summary: ${file}`);
  if (process.env.BENCH_UI_NO_RECORD !== '1') {
    appendFileSync(join(repoRoot, 'bench', 'RESULTS.md'), `\n${text}`);
    console.log('bench:ui: appended to bench/RESULTS.md');
  }
}

main().catch((err: Error) => {
  console.error(`bench:ui: ${err.stack ?? err.message}`);
  process.exit(1);
});
