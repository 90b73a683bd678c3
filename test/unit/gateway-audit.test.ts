/**
 * The gateway's audit journal in process (src/gateway/audit.ts): a client's repair journalled as one
 * record across its batches, another user's repair id refused, `journal.read` in pages (an
 * unterminated last line not served yet, a bad line reported with its number), previews journalled.
 */
import * as assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayAudit } from '../../src/gateway/audit';
import { repairHistory } from '../../src/engine/journal';
import { parseJournal, type JournalLine, type RepairParams } from '../../src/protocol';

const alice = { user: 'alice', role: 'operator' as const };
const bob = { user: 'bob', role: 'operator' as const };

function batch(requestId: string, batchIndex: number, key: string): RepairParams {
  return {
    requestId,
    incarnation: 'inc',
    repair: { command: 'quickwit.deleteShards', targets: [{ key, version: 1 }] },
    audit: {
      repair: 'r-alice',
      batch: batchIndex,
      findingId: 'shards/dangling:i',
      rule: 'shards/dangling',
      option: 'delete',
      title: 'Delete 2 dangling shards',
      safety: 'safe',
      undoable: true,
      plan: [
        { command: 'quickwit.deleteShards', targets: 1 },
        { command: 'quickwit.deleteShards', targets: 1 },
      ],
    },
  };
}

describe("gateway audit journal (journal.read, one record per client repair, another's id refused)", () => {
  let dir: string;
  let audit: GatewayAudit;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-audit-'));
    audit = new GatewayAudit(join(dir, 'audit.jsonl'), 'gw');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('journals at most so many previews a minute per user; the next is refused with why, and the minute after is journalled again', async () => {
    let clock = 1_000_000;
    const limited = new GatewayAudit(join(dir, 'limited.jsonl'), 'gw', { previewsPerMinute: 3, now: () => clock });
    const preview = { findingId: 'shards/dangling:i', rule: 'shards/dangling', title: 'Delete', targets: 2 };
    for (let i = 0; i < 3; i++) await limited.preview(preview, bob);
    await assert.rejects(
      limited.preview(preview, bob),
      /too many previews reported by bob \(at most 3 a minute\); this one was not journalled/,
    );
    await limited.preview(preview, alice); // another user's minute is their own
    clock += 60_000;
    await limited.preview(preview, bob);
    const users = (await limited.read(0, 100)).lines.map((l) => (l.type === 'preview' ? l.user : l.type));
    assert.deepEqual(users, ['bob', 'bob', 'bob', 'alice', 'bob']);
  });

  async function send(params: RepairParams, caller: typeof alice, key: string): Promise<string | undefined> {
    const refused = audit.claim(params, caller);
    const journalled = refused ? { ...params, audit: undefined } : params;
    await audit.before(journalled, caller, [{ collection: 'quickwit.metastore.shards', key, entity: null }]);
    await audit.after(journalled, [{ key, status: refused ? 'refused' : 'applied', message: refused ?? 'deleted', version: 2 }], 'summary');
    return refused;
  }

  it("records a client's repair once across its batches, with its finding; a batch under another user's id is refused and journalled apart", async () => {
    assert.equal(await send(batch('q1', 0, 'a'), alice, 'a'), undefined);
    assert.equal(await send(batch('q2', 1, 'b'), alice, 'b'), undefined);
    const hijack = await send(batch('q3', 1, 'c'), bob, 'c');
    assert.match(hijack ?? '', /repair r-alice is another user's record/);
    const read = parseJournal(readFileSync(audit.path, 'utf8'));
    assert.deepEqual(read.problems, []);
    const heads = read.lines.filter((l) => l.type === 'repair');
    assert.deepEqual(
      heads.map((l) => [l.repair, l.user, l.findingId, l.option.title]),
      [
        ['r-alice', 'alice', 'shards/dangling:i', 'Delete 2 dangling shards'],
        ['q3', 'bob', '', 'quickwit.deleteShards (1 target)'],
      ],
    );
    const [hijackEntry, aliceEntry] = repairHistory(read.lines).sort((a, b) => a.id.localeCompare(b.id));
    assert.equal(aliceEntry.id, 'r-alice');
    assert.deepEqual(
      aliceEntry.batches.map((b) => [b.batch, b.state]),
      [
        [0, 'applied'],
        [1, 'applied'],
      ],
    );
    assert.equal(aliceEntry.summary, 'Delete 2 dangling shards: applied 2, refused 0 (2 of 2 batches)');
    assert.equal(aliceEntry.rule, 'shards/dangling');
    assert.equal(aliceEntry.safety, 'safe');
    assert.equal(hijackEntry.id, 'q3');
    assert.deepEqual(
      hijackEntry.batches.map((b) => b.state),
      ['refused'],
    );
  });

  it('serves its lines in pages; an unterminated last line waits, a bad line is reported with its number; previews are journalled', async () => {
    assert.deepEqual(await audit.read(0, 10), { lines: [], next: 0, end: true, problems: [] }, 'no file yet: an empty journal');
    await send(batch('q1', 0, 'a'), alice, 'a'); // 4 lines: repair, intent, result, end
    await audit.preview({ findingId: 'shards/dangling:i', rule: 'no/such-rule', title: 'Delete', targets: 2 }, bob);
    appendFileSync(audit.path, 'not json\n{"type":"end"');
    const first = await audit.read(0, 3);
    assert.deepEqual(
      first.lines.map((l) => l.type),
      ['repair', 'intent', 'result'],
    );
    assert.deepEqual([first.next, first.end], [3, false]);
    const second = await audit.read(first.next, 10);
    assert.deepEqual(
      second.lines.map((l) => l.type),
      ['end', 'preview'],
    );
    assert.deepEqual(second.problems, ['line 6: not JSON; ignored']);
    assert.deepEqual([second.next, second.end], [6, true], 'the unterminated line 7 is not read yet');
    const preview = second.lines[1] as Extract<JournalLine, { type: 'preview' }>;
    assert.deepEqual(
      { ...preview, at: '' },
      { type: 'preview', at: '', user: 'bob', cluster: 'gw', findingId: 'shards/dangling:i', title: 'Delete', targets: 2 },
    );
    // Once the line is whole, it is served from where the last page ended (and a fresh reader pages from the start alike).
    appendFileSync(audit.path, ',"repair":"q1","at":"x","applied":1,"refused":0,"cancelled":false,"summary":"s"}\n');
    const third = await audit.read(second.next, 3);
    assert.deepEqual(
      third.lines.map((l) => l.type),
      ['end'],
    );
    assert.deepEqual([third.next, third.end], [7, true]);
    const fresh = new GatewayAudit(audit.path, 'gw');
    assert.deepEqual((await fresh.read(5, 100)).next, 7);
    assert.deepEqual(
      (await fresh.read(5, 100)).lines.map((l) => l.type),
      ['end'],
    );
  });
});
