/**
 * The journal as a repair writes it (`JournalRecorder` around `executeRepair`, #21): each batch's
 * intent is on disk before its request leaves, and the previous batch's result with it; the next
 * batch's intent is packed while a batch is out, yet nothing is written for a batch never sent, and
 * a batch that shares a target with the one before takes its before-images once that one is answered.
 * And undo's requests stay under the cluster's message limit, whatever the entities weigh.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildUndo, parseJournal, RepairJournal, type RepairInfo } from '../../src/engine/journal';
import { executeRepair } from '../../src/engine/repairs';
import type { ClusterSession } from '../../src/engine/session';
import { DEFAULT_MAX_PAYLOAD } from '../../src/cluster/server';
import type { JournalLine, RepairCommand, RepairOption, RepairParams, RepairResult } from '../../src/protocol';
import * as F from './fixtures';

const COLLECTION = 'quickwit.metastore.shards';
const keyOf = (i: number) => `app-logs:01HF7YAT01F6SEFP5Y4J5566PC/_ingest-source/01HF7YXD${String(i).padStart(18, '0')}`;

function option(operations: RepairCommand[]): RepairOption {
  return {
    id: 'delete-uninitialised',
    title: 'Delete uninitialised shards',
    safety: 'safe',
    description: '',
    targetCount: operations.reduce((n, o) => n + ('targets' in o ? o.targets.length : 1), 0),
    undoable: true,
    operations,
  };
}

const deleting = (keys: string[]): RepairCommand => ({
  command: 'quickwit.deleteShards',
  targets: keys.map((key) => ({ key, version: 3 })),
});

/**
 * A session over a model of `shards`, whose cluster applies a deletion to the model just before it
 * answers (as the events of a batch arrive before its answer); `sent` calls back as a request leaves.
 */
function fakeSession(shards: Map<string, Record<string, unknown>>, sent: (params: RepairParams) => void): ClusterSession {
  let seq = 1;
  return {
    name: 'sim',
    url: 'ws://sim',
    lastSeq: seq,
    model: { collections: { [COLLECTION]: shards } },
    sendRepair: async (params: RepairParams): Promise<RepairResult> => {
      sent(params);
      // The answer comes after a while: whatever was set to run meanwhile (the packing ahead) has run.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      const keys = 'targets' in params.repair ? params.repair.targets.map((t) => t.key) : [];
      for (const k of keys) shards.delete(k);
      return {
        requestId: params.requestId,
        command: params.repair.command,
        replayed: false,
        applied: keys.length,
        refused: 0,
        items: [],
        itemResults: 'exceptions',
        summary: `${keys.length} applied`,
        seq: ++seq,
      };
    },
  } as unknown as ClusterSession;
}

const info = (o: RepairOption): RepairInfo => ({ findingId: 'shards/dangling:x', option: o, incarnation: 'inc', source: 'cli' });

describe('repair journal as written (intent before each request, packed ahead)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'journal-recorder-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const linesOf = (path: string): JournalLine[] => {
    const read = parseJournal(readFileSync(path, 'utf8'));
    assert.deepEqual(read.problems, []);
    return read.lines;
  };

  it("each batch's intent, with its before-images, and the previous batch's result are on disk when its request leaves", async () => {
    const keys = Array.from({ length: 9 }, (_, i) => keyOf(i));
    const shards = new Map(keys.map((k) => [k, F.metastoreShardAt(k)] as const));
    const model = new Map(shards);
    const journal = new RepairJournal(join(dir, 'repairs.jsonl'));
    const plan = option([deleting(keys.slice(0, 3)), deleting(keys.slice(3, 6)), deleting(keys.slice(6))]);
    const onDisk: Array<{ intent: boolean; results: number[] }> = [];
    const session = fakeSession(model, (params) => {
      const lines = linesOf(journal.path);
      const intent = lines.find((l) => l.type === 'intent' && l.requestId === params.requestId);
      onDisk.push({ intent: intent !== undefined, results: lines.flatMap((l) => (l.type === 'result' ? [l.batch] : [])) });
      // What the intent holds is what the model held for its targets.
      assert.ok(intent?.type === 'intent');
      assert.deepEqual(
        intent.before.map((b) => b.entity),
        intent.before.map((b) => shards.get(b.key)),
      );
    });
    const recorder = journal.recorder(session, info(plan));
    const outcome = await executeRepair(
      session,
      'shards/dangling:x',
      { option: plan, incarnation: 'inc' },
      { log: () => {}, batches: recorder },
    );
    await recorder.end(outcome.summary, outcome.cancelled);
    assert.equal(outcome.applied, 9);
    assert.deepEqual(onDisk, [
      { intent: true, results: [] },
      { intent: true, results: [0] },
      { intent: true, results: [0, 1] },
    ]);
    const lines = linesOf(journal.path);
    assert.deepEqual(
      lines.map((l) => l.type),
      ['repair', 'intent', 'result', 'intent', 'result', 'intent', 'result', 'end'],
    );
    const undo = buildUndo(lines, undefined);
    assert.deepEqual(
      undo.option.operations.flatMap((o) => ('targets' in o ? o.targets.map((t) => ('entity' in t ? t.entity : null)) : [])),
      keys.map((k) => shards.get(k)),
      'undo re-creates every shard as it was',
    );
  });

  it('a batch never sent (cancelled after the first) leaves no intent, though it was packed ahead', async () => {
    const keys = Array.from({ length: 4 }, (_, i) => keyOf(i));
    const journal = new RepairJournal(join(dir, 'repairs.jsonl'));
    const plan = option([deleting(keys.slice(0, 2)), deleting(keys.slice(2))]);
    let sent = 0;
    const session = fakeSession(new Map(keys.map((k) => [k, F.metastoreShardAt(k)] as const)), () => sent++);
    const recorder = journal.recorder(session, info(plan));
    // Cancelled once the first batch is out, after its next batch has been packed.
    let checks = 0;
    const cancelled = () => checks++ > 0;
    const outcome = await executeRepair(
      session,
      'shards/dangling:x',
      { option: plan, incarnation: 'inc' },
      {
        log: () => {},
        batches: recorder,
        cancelled,
        progress: () => void 0,
      },
    );
    await new Promise((resolve) => setImmediate(resolve)); // the packing ahead has run
    await recorder.end(outcome.summary, outcome.cancelled);
    assert.equal(sent, 1);
    assert.equal(outcome.cancelled, true);
    assert.deepEqual(
      linesOf(journal.path).map((l) => (l.type === 'intent' || l.type === 'result' ? `${l.type} ${l.batch}` : l.type)),
      ['repair', 'intent 0', 'result 0', 'end'],
    );
  });

  it('a batch that shares a target with the one before takes its before-images once that one is answered', async () => {
    const [a, b, c] = [keyOf(1), keyOf(2), keyOf(3)];
    const model = new Map([a, b, c].map((k) => [k, F.metastoreShardAt(k)] as const));
    const journal = new RepairJournal(join(dir, 'repairs.jsonl'));
    // The second batch names `b` again: by then the first has deleted it, so its before-image is none.
    const plan = option([deleting([a, b]), deleting([b, c])]);
    const session = fakeSession(model, () => {});
    const recorder = journal.recorder(session, info(plan));
    await executeRepair(session, 'shards/dangling:x', { option: plan, incarnation: 'inc' }, { log: () => {}, batches: recorder });
    const intents = linesOf(journal.path).flatMap((l) => (l.type === 'intent' ? [l] : []));
    assert.deepEqual(
      intents.map((i) => i.before.map((x) => [x.key, x.entity === null ? 'none' : 'entity'])),
      [
        [
          [a, 'entity'],
          [b, 'entity'],
        ],
        [
          [b, 'none'],
          [c, 'entity'],
        ],
      ],
    );
  });
});

describe('undo requests within the cluster message limit', () => {
  it('5,000 re-created shards of ~300 bytes each (over 1 MiB in one request) go in batches each under the limit', () => {
    const n = 5000;
    const keys = Array.from({ length: n }, (_, i) => keyOf(i));
    const fat = (k: string) =>
      F.metastoreShardAt(k, { publishPositionInclusive: `~${'0'.repeat(100)}`, publishToken: `indexer-0:${'x'.repeat(40)}` });
    const lines: JournalLine[] = [
      F.repairLine('cli', { plan: [{ command: 'quickwit.deleteShards', targets: n }] }),
      {
        type: 'intent',
        repair: 'r1',
        at: '2026-01-01T00:00:00.000Z',
        batch: 0,
        requestId: 'q0',
        operation: deleting(keys),
        before: keys.map((key) => ({ collection: COLLECTION, key, entity: fat(key) })),
      },
      {
        type: 'result',
        repair: 'r1',
        at: '2026-01-01T00:00:00.000Z',
        batch: 0,
        requestId: 'q0',
        outcome: 'answered',
        applied: keys.map((key) => ({ key })),
        refused: [],
        unchanged: 0,
        summary: `${n} applied`,
      },
    ];
    const { operations } = buildUndo(lines, 'r1').option;
    const all = operations.flatMap((o): Array<{ key: string }> => ('targets' in o ? [...o.targets] : []));
    assert.ok(JSON.stringify(all).length > DEFAULT_MAX_PAYLOAD, 'one request of them all would pass the limit');
    assert.ok(operations.length > 1);
    for (const op of operations) {
      const request = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'repair',
        params: { requestId: 'q', incarnation: 'inc', repair: op },
      });
      assert.ok(Buffer.byteLength(request) < DEFAULT_MAX_PAYLOAD, `a request of ${Buffer.byteLength(request)} bytes`);
    }
    assert.deepEqual(
      all.map((t) => t.key),
      keys,
      'every shard, in order',
    );
  });
});
