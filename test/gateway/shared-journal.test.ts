/**
 * One gateway's audit journal shared by a team (#20 item 6): two engineers' real language servers
 * (over LSP) on one real gateway over a REAL PostgreSQL metastore, with per-user tokens (alice and
 * bob operators, carol a viewer). Alice previews and repairs an incident; bob's Repair History
 * shows it with her name, finding and title; carol's undo is refused (a viewer); bob undoes it and
 * the metastore's rows are back; alice's history shows it undone by bob's undo; the gateway's
 * journal lists alice and bob (one `repair` line per repair) and alice's preview. Then
 * `cluster-check undo URL` over the gateway's journal. No token appears in anything printed or written.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  LspCommands,
  LspMethods,
  type ApplyRepairResult,
  type ClusterInfo,
  type FindingSummary,
  type RepairHistoryEntry,
  type RepairHistoryResult,
} from '../../src/protocol';
import { parseJournal } from '../../src/engine/journal';
import { hashToken } from '../../src/cluster/auth';
import { ClusterClient } from '../../src/cluster/client';
import { cli } from '../cli/cliProcess';
import { LspHarness } from '../server/lsp';
import { startSim, type RunningSim } from '../server/sim';
import { startGateway, type RunningGateway } from './gateway';
import { postgresAvailable, startPostgres, type TestPostgres } from './postgres';

const ROWS =
  'SELECT index_uid, source_id, shard_id, leader_id, follower_id, shard_state::text, publish_position_inclusive, publish_token, doc_mapping_uid FROM shards ORDER BY 1, 2, 3';

async function sql(url: string, text: string): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

/** Polls `probe` until it gives a value (or the deadline passes): the store and the gateway's mirror are read on their own schedules. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200)); // the gateway's poll interval is 500 ms
  }
}

describe("a team gateway's journal, shared: one engineer's repair in another's history, undone by them (real PostgreSQL)", function () {
  this.timeout(240_000);
  // Random, so a grep of the outputs for them finds only a leak.
  const tokens = { alice: randomBytes(18).toString('hex'), bob: randomBytes(18).toString('hex'), carol: randomBytes(18).toString('hex') };
  let pg: TestPostgres | undefined;
  let sim: RunningSim | undefined;
  let gateway: RunningGateway | undefined;
  let dir: string;
  let db: string;
  let journal: string;
  const servers: Array<{ lsp: LspHarness; stderr: () => string }> = [];
  /** Everything the processes printed, and every journal they wrote: none may hold a token. */
  const outputs: string[] = [];

  before(async function () {
    if (!postgresAvailable()) throw new Error('PostgreSQL 15 is not installed (scripts/setup-test-deps.sh installs it)');
    pg = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'shared-journal-'));
  });
  after(async () => {
    for (const s of servers.splice(0)) {
      await s.lsp.stop();
      outputs.push(s.lsp.logs.join('\n'), s.stderr());
    }
    if (gateway) {
      await gateway.stop();
      outputs.push(gateway.output());
    }
    await sim?.stop();
    await pg?.stop();
    const all = outputs.join('\n');
    rmSync(dir, { recursive: true, force: true });
    assert.ok(all.length > 0);
    for (const [who, token] of Object.entries(tokens)) assert.ok(!all.includes(token), `${who}'s token appears in an output or a journal`);
  });

  /** An engineer's editor: a language server of their own, journalling to a file of their own, connected with their token. */
  async function editor(user: keyof typeof tokens): Promise<LspHarness> {
    const lsp = await LspHarness.start();
    let stderr = '';
    lsp.process.stderr?.on('data', (d) => (stderr += d));
    servers.push({ lsp, stderr: () => stderr });
    await lsp.request(LspMethods.setJournal, { path: join(dir, `${user}.jsonl`) });
    const info = await lsp.request<ClusterInfo>(LspMethods.connect, { name: 'team', url: gateway!.url, token: tokens[user] });
    assert.equal(info.state, 'live', info.error ?? '');
    return lsp;
  }

  async function history(lsp: LspHarness): Promise<RepairHistoryEntry[]> {
    const h = await lsp.request<RepairHistoryResult>(LspMethods.repairHistory, {});
    assert.deepEqual(h.problems, []);
    return h.entries;
  }

  function undo(lsp: LspHarness, id: string): Promise<ApplyRepairResult> {
    return lsp.request<ApplyRepairResult>('workspace/executeCommand', { command: LspCommands.undoRepair, arguments: [{ id }] });
  }

  function gatewayJournal() {
    const text = readFileSync(journal, 'utf8');
    const read = parseJournal(text);
    assert.deepEqual(read.problems, []);
    return { text, lines: read.lines };
  }

  it("alice repairs; bob's history shows it as hers; carol's undo is refused; bob undoes it; alice's history shows it undone by bob", async () => {
    db = await pg!.createDatabase('shared');
    sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1', '--postgres', db]);
    journal = join(dir, 'gateway-audit.jsonl');
    const users = [
      { name: 'alice', role: 'operator' as const, tokenHash: await hashToken(tokens.alice) },
      { name: 'bob', role: 'operator' as const, tokenHash: await hashToken(tokens.bob) },
      { name: 'carol', role: 'viewer' as const, tokenHash: await hashToken(tokens.carol) },
    ];
    const node = sim.url.replace(/^ws:/, 'http:');
    gateway = await startGateway({ quickwit: { postgres: db, node }, repairs: true, pollMs: 500, users, journal }, { deadlineMs: 60_000 });
    const rowsBefore = await sql(db, ROWS);

    // The gateway says it keeps a journal: it lists the journal's methods, to a viewer too.
    const probe = await ClusterClient.connect({ url: gateway.url, token: tokens.carol, clientName: 'shared-journal-test' });
    try {
      assert.ok(probe.init.methods?.includes('journal.read') && probe.init.methods.includes('audit.preview'), `${probe.init.methods}`);
      assert.deepEqual(await probe.request('journal.read', { limit: 10 }), { lines: [], next: 0, end: true, problems: [] });
    } finally {
      probe.close();
    }

    const alice = await editor('alice');
    const finding = await eventually('the dangling shards through the gateway', async () => {
      const { findings } = await alice.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'team' });
      return findings.find((f) => f.rule === 'shards/dangling' && f.repairs.some((r) => r.safety === 'safe'));
    });
    const option = finding.repairs.find((r) => r.safety === 'safe')!;
    const args = { cluster: 'team', findingId: finding.id, repairId: option.id };

    // A preview is computed in alice's language server; the gateway journals that she looked.
    await alice.request(LspMethods.preview, args);
    const preview = await eventually('the preview line in the gateway journal', async () =>
      existsSync(journal) ? gatewayJournal().lines.find((l) => l.type === 'preview') : undefined,
    );
    assert.deepEqual(
      { ...preview, at: undefined },
      {
        type: 'preview',
        at: undefined,
        user: 'alice',
        cluster: 'gateway',
        findingId: finding.id,
        rule: 'shards/dangling',
        title: option.title,
        targets: option.targetCount,
      },
    );

    const repaired = await alice.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [args],
    });
    assert.ok(repaired.ok && repaired.applied > 0, repaired.summary);
    const rowsRepaired = await sql(db, ROWS);
    assert.equal(rowsRepaired.length, rowsBefore.length - repaired.applied, 'the repair deleted the dangling rows');
    const [mine] = await history(alice);
    assert.equal(mine.user, 'alice', 'her own history shows the gateway’s record of it');

    // Bob's editor, with nothing in his own journal, shows alice's repair: who, which finding, what.
    const bob = await editor('bob');
    const seen = (await history(bob)).find((e) => e.id === mine.id);
    assert.ok(seen, 'alice’s repair is in bob’s history');
    assert.equal(seen.user, 'alice');
    assert.equal(seen.source, 'gateway');
    assert.equal(seen.cluster, 'team', 'under the name bob connected it as');
    assert.equal(seen.findingId, finding.id);
    assert.equal(seen.rule, 'shards/dangling');
    assert.equal(seen.title, option.title);
    assert.equal(seen.safety, 'safe');
    assert.equal(seen.undoable, true, seen.undoNote);
    assert.ok(seen.batches.length > 0 && seen.batches.every((b) => b.state === 'applied'));

    // Carol may read the history, not undo. Her editor knows her role (initialize's `caller`) and sends
    // nothing; the gateway would refuse each item as well (roles.test.ts sends a viewer's repair raw).
    const carol = await editor('carol');
    assert.ok((await history(carol)).some((e) => e.id === mine.id && e.user === 'alice'));
    const refused = await undo(carol, mine.id);
    assert.equal(refused.ok, false, refused.summary);
    assert.equal(refused.applied, 0);
    assert.match(refused.summary, /user carol is a viewer: repairs need the operator role/);
    assert.deepEqual(await sql(db, ROWS), rowsRepaired, 'a viewer’s undo wrote nothing');

    // Bob undoes alice's repair: every row is back as it was.
    const undone = await undo(bob, mine.id);
    assert.equal(undone.ok, true, undone.summary);
    assert.equal(undone.applied, repaired.applied);
    assert.deepEqual(await sql(db, ROWS), rowsBefore, 'the metastore rows are back as they were');
    await eventually('the re-created shards in alice’s view', async () => {
      const { findings } = await alice.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'team' });
      return findings.some((f) => f.id === finding.id) || undefined;
    });

    // Alice's history: her repair undone by bob's undo; bob's undo says whose repair it took back. Carol's refused try undid nothing.
    const after = await history(alice);
    const hers = after.find((e) => e.id === mine.id)!;
    const bobs = after.find((e) => e.undoOf === mine.id && e.user === 'bob');
    assert.ok(bobs, JSON.stringify(after.map((e) => [e.user, e.title, e.undoOf])));
    assert.equal(hers.undoneBy, bobs.id);
    assert.equal(hers.undoable, false);
    assert.equal(hers.undoNote, 'already undone');
    assert.ok(!after.some((e) => e.user === 'carol'), 'carol’s refused try sent nothing, so no journal has it');

    // The gateway's own journal: alice's repair and bob's undo, one `repair` line each.
    const { text, lines } = gatewayJournal();
    outputs.push(text);
    const heads = lines.filter((l) => l.type === 'repair');
    assert.deepEqual([...new Set(heads.map((l) => l.user))].sort(), ['alice', 'bob']);
    assert.equal(heads.filter((l) => l.repair === mine.id).length, 1, 'one repair line per repair, whatever its batches');
    assert.equal(heads.filter((l) => l.repair === bobs.id).length, 1);
    const head = heads.find((l) => l.repair === mine.id)!;
    assert.equal(head.type === 'repair' && head.findingId, finding.id);
    assert.ok(heads.every((l) => l.type === 'repair' && l.source === 'gateway'));

    // Each editor's own journal has its own part, under the same ids.
    const local = (user: string) => {
      const t = readFileSync(join(dir, `${user}.jsonl`), 'utf8');
      outputs.push(t);
      return parseJournal(t)
        .lines.filter((l) => l.type === 'repair')
        .map((l) => l.repair);
    };
    assert.deepEqual(local('alice'), [mine.id]);
    assert.deepEqual(local('bob'), [bobs.id]);
  });

  it('cluster-check undo URL undoes from the gateway’s journal (no --journal); a viewer’s is refused', async () => {
    assert.ok(gateway, 'runs after the test above, on its gateway');
    const bob = servers[1]!.lsp;
    const rowsBefore = await sql(db, ROWS);
    const { findings } = await bob.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'team' });
    const finding = findings.find((f) => f.rule === 'shards/dangling')!;
    const option = finding.repairs.find((r) => r.safety === 'safe')!;
    const repaired = await bob.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [{ cluster: 'team', findingId: finding.id, repairId: option.id }],
    });
    assert.ok(repaired.ok && repaired.applied > 0, repaired.summary);
    const [newest] = await history(bob);
    assert.equal(newest.user, 'bob');

    const viewer = await cli(['undo', gateway.url, '--id', newest.id, '--token', tokens.carol, '--yes']);
    outputs.push(viewer.stdout, viewer.stderr);
    assert.equal(viewer.code, 1, viewer.stdout + viewer.stderr);
    assert.match(viewer.stdout, /user carol is a viewer/);

    const dry = await cli(['undo', gateway.url, '--token', tokens.alice, '--dry-run']);
    outputs.push(dry.stdout, dry.stderr);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, new RegExp(`^Undo of ${newest.id} .* by bob`, 'm'), 'the newest repair that can be undone, and whose it is');

    const run = await cli(['undo', gateway.url, '--token', tokens.alice, '--yes']);
    outputs.push(run.stdout, run.stderr);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(await sql(db, ROWS), rowsBefore, 'alice’s cluster-check undid bob’s repair');
    const { lines } = gatewayJournal();
    assert.ok(lines.some((l) => l.type === 'repair' && l.undoOf === newest.id && l.user === 'alice'));
  });
});
