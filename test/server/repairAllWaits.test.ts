/**
 * Repair All during a sync (#21, item 4): it waits for the sync to end, saying how far it is
 * ("waiting for the sync (37%)"), then runs; a cancel while it waits sends nothing; a sync that
 * fails, or a disconnect, ends the wait with a refusal that says why. The engine (the workspace the
 * language server and the CLI share) against the real simulator, with the sync held after its first
 * page by a gate in the link: no timing involved.
 */
import * as assert from 'node:assert/strict';
import { LspCommands, LspMethods, MAX_PAGE_LIMIT, type ApplyRepairResult, type ClusterInfo } from '../../src/protocol';
import { ClusterWorkspace } from '../../src/engine/workspace';
import { ConnectError } from '../../src/engine/cluster';
import { useSimulator } from '../sim/helpers';
import { GatedLinks } from './gatedLinks';
import { danglingShards, useGatedServer } from './gatedServer';

const METASTORE = 'quickwit.metastore.shards';
/** Three pages of dangling shards: a sync held after its first page is part-way (neither 0% nor 100%). */
const DANGLING = 3 * MAX_PAGE_LIMIT;

/** Links whose sync pauses after its first page, until `release` (or fails there, `fail`); every method asked is recorded. */
const heldSync = () => new GatedLinks({ pagesBeforeGate: 1 });

describe('Repair All during a sync waits for it (engine, real simulator)', function () {
  this.timeout(60_000);
  const sim = useSimulator();
  let workspace: ClusterWorkspace | undefined;
  const log: string[] = [];

  beforeEach(async () => {
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1, size: { danglingShards: DANGLING } });
    log.length = 0;
  });
  afterEach(() => workspace?.dispose());

  async function metastoreCount(): Promise<number> {
    return (await sim.client.request('cluster.status', {})).counts[METASTORE] ?? 0;
  }

  /** Connects through `links`, and returns once the first sync is held after its first page. */
  async function connectHeld(links: GatedLinks): Promise<{ ws: ClusterWorkspace; connected: Promise<unknown> }> {
    const ws = new ClusterWorkspace({ connect: links.factory, log: (m) => log.push(m), reconnect: false, statusPollMs: 0 });
    workspace = ws;
    const connected = ws.connect({ name: 'big', url: sim.server.url, token: sim.server.token });
    connected.catch(() => undefined);
    await links.held;
    assert.equal(ws.get('big')?.session.state, 'syncing');
    return { ws, connected };
  }

  /** Repair All with hooks that record its progress; resolves `waiting` at its first "waiting for the sync" report. */
  function repairAll(ws: ClusterWorkspace, cancelled = () => false) {
    const messages: Array<{ done: number; total: number; message: string }> = [];
    let saw!: () => void;
    const waiting = new Promise<void>((resolve) => (saw = resolve));
    const result = ws.applyAllSafe('big', {
      cancelled,
      progress: (done, total, message) => {
        messages.push({ done, total, message });
        if (/^waiting for the sync/.test(message)) saw();
      },
    });
    return { messages, waiting, result };
  }

  it('waits for the first sync, reporting its percentage, then applies: the findings are gone', async () => {
    const links = heldSync();
    const { ws, connected } = await connectHeld(links);
    const before = await metastoreCount();
    const run = repairAll(ws);
    await run.waiting;
    // Held: nothing was sent, and the run says how far the sync is.
    assert.ok(!links.requests.includes('repair'), 'no repair while the sync runs');
    const first = run.messages[0];
    const pct = Number(/^waiting for the sync \((\d+)%\)$/.exec(first.message)?.[1]);
    assert.ok(pct > 0 && pct < 100, `a percentage part-way: ${first.message}`);
    assert.equal(first.done, 0, 'no share of the repair is done while it waits');
    assert.equal(ws.get('big')?.session.state, 'syncing');

    links.release();
    await connected;
    const result: ApplyRepairResult = await run.result;
    assert.ok(result.ok && result.resolved, result.summary);
    assert.equal(result.applied, DANGLING, result.summary);
    assert.equal(before - (await metastoreCount()), DANGLING, 'the cluster lost exactly the dangling shards');
    assert.deepEqual(
      ws.findings({ cluster: 'big' }).map((f) => f.rule),
      [],
      'no finding remains',
    );
    // It waited, then applied: the waiting reports come before any of the repair's own.
    const waited = run.messages.map((m) => m.message.startsWith('waiting for the sync'));
    const lastWaiting = waited.lastIndexOf(true);
    const firstRepair = waited.indexOf(false);
    assert.ok(firstRepair > lastWaiting, run.messages.map((m) => m.message).join(' | '));
    assert.ok(
      log.some((l) => /Repair All waits for the sync to end/.test(l)),
      log.join('\n'),
    );
  });

  it('a cancel while it waits sends nothing: the cluster is unchanged', async () => {
    const links = heldSync();
    const { ws, connected } = await connectHeld(links);
    const before = await metastoreCount();
    let cancel = false;
    const run = repairAll(ws, () => cancel);
    await run.waiting;
    cancel = true;
    const result = await run.result;
    assert.equal(result.ok, false);
    assert.equal(result.applied, 0);
    assert.match(result.summary, /^Cancelled while waiting for the sync of big; nothing was sent$/);

    // The sync still ends, and still nothing was sent.
    links.release();
    await connected;
    assert.ok(!links.requests.includes('repair'), `requests: ${links.requests.join(', ')}`);
    assert.equal(await metastoreCount(), before, 'the cluster kept every shard');
    assert.ok(
      ws.findings({ cluster: 'big' }).some((f) => f.rule === 'shards/dangling'),
      'the finding stays',
    );
  });

  it('a sync that fails while it waits ends the wait with a refusal that says why', async () => {
    const links = heldSync();
    const { ws, connected } = await connectHeld(links);
    const run = repairAll(ws);
    await run.waiting;
    links.fail('the store went away');
    await assert.rejects(connected, (e: unknown) => e instanceof ConnectError);
    const result = await run.result;
    assert.equal(result.ok, false);
    assert.match(result.summary, /^Refused: the sync of big failed \(.*the store went away.*\); nothing was sent$/);
    assert.ok(!links.requests.includes('repair'));
  });

  it('a disconnect while it waits ends the wait with a refusal', async () => {
    const links = heldSync();
    const { ws, connected } = await connectHeld(links);
    const before = await metastoreCount();
    const run = repairAll(ws);
    await run.waiting;
    ws.disconnect('big');
    const result = await run.result;
    assert.equal(result.ok, false);
    assert.match(result.summary, /^Refused: big was disconnected while waiting for its sync; nothing was sent$/);
    links.release();
    await assert.rejects(connected);
    assert.ok(!links.requests.includes('repair'));
    assert.equal(await metastoreCount(), before);
  });
});

describe('Repair All during a sync, over LSP: the work-done progress says it waits (real server, real simulator)', function () {
  this.timeout(60_000);
  // The sync's second page request is held: the sync is under way, and stays so until the test lets it go.
  const rig = useGatedServer({ holdRepair: 2, method: 'cluster.list' }, danglingShards(DANGLING));

  it('reports "waiting for the sync (N%)" to the editor\'s progress, then applies once the sync ends', async () => {
    const connected = rig.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'big', url: rig.gate.url, token: rig.sim.token });
    await rig.gate.held();
    const running = rig.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyAllSafe,
      arguments: [{ cluster: 'big' }],
      workDoneToken: 'repair-all',
    });
    const waiting = await rig.lsp.waitFor('a "waiting for the sync" progress report', () =>
      rig.lsp.progress.find(
        (p) => p.token === 'repair-all' && p.value.kind === 'report' && /^waiting for the sync/.test(p.value.message ?? ''),
      ),
    );
    assert.match(waiting.value.message!, /^waiting for the sync \(\d+%\)$/);
    assert.equal(waiting.value.percentage, 0, "none of the repair's own share is done while it waits");

    rig.gate.release();
    assert.equal((await connected).state, 'live');
    const result = await running;
    assert.ok(result.ok && result.resolved, result.summary);
    assert.equal(result.applied, DANGLING, result.summary);
  });
});
