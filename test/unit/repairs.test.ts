/**
 * `executeRepair` reads a cluster's answers in both forms: the compact one it asks for
 * (`itemResults: 'exceptions'`: counts, and only the items not applied) and the full one a
 * cluster that predates the option sends (every item). The outcome is the same.
 */
import * as assert from 'node:assert/strict';
import type { RepairItemResult, RepairOption, RepairParams, RepairResult } from '../../src/protocol';
import { executeRepair } from '../../src/engine/repairs';
import type { ClusterSession } from '../../src/engine/session';

const targets = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ key: `shard-${from + i}`, version: 2 }));

const OPTION: RepairOption = {
  id: 'delete-uninitialised',
  title: 'Delete 6 uninitialised shards',
  safety: 'safe',
  description: '',
  targetCount: 6,
  undoable: true,
  operations: [
    { command: 'quickwit.deleteShards', targets: targets(0, 3) },
    { command: 'quickwit.deleteShards', targets: targets(3, 3) },
  ],
};

/** Per batch: the first target applied, the second refused, the third already done. */
function itemsOf(params: RepairParams): RepairItemResult[] {
  const keys = 'targets' in params.repair ? params.repair.targets.map((t) => t.key) : [];
  return [
    { key: keys[0], status: 'applied', message: 'deleted' },
    { key: keys[1], status: 'refused', message: 'initialised on ingester-1 and open; close it first' },
    { key: keys[2], status: 'unchanged', message: 'already gone' },
  ];
}

/** A session whose cluster answers in the form it chooses; records what it was sent. */
function fakeSession(answer: (params: RepairParams) => RepairResult): { session: ClusterSession; sent: RepairParams[] } {
  const sent: RepairParams[] = [];
  let seq = 10;
  const session = {
    name: 'fake',
    lastSeq: seq,
    sendRepair: async (params: RepairParams) => {
      sent.push(params);
      seq += 1;
      return { ...answer(params), seq };
    },
  };
  return { session: session as unknown as ClusterSession, sent };
}

function result(params: RepairParams, items: RepairItemResult[], compact: boolean): RepairResult {
  return {
    requestId: params.requestId,
    command: params.repair.command,
    replayed: false,
    applied: 1,
    refused: 1,
    items: compact ? items.filter((i) => i.status !== 'applied') : items,
    ...(compact ? { itemResults: 'exceptions' as const } : {}),
    summary: `${params.repair.command}: 1 applied, 1 refused, 1 unchanged`,
    seq: 0,
  };
}

describe('executeRepair: compact and full answers', () => {
  for (const form of ['compact (itemResults: exceptions)', 'full (a cluster that predates the option)']) {
    it(`counts applied, refused and unchanged, and reports each refusal with its reason, from a ${form} answer`, async () => {
      const compact = form.startsWith('compact');
      const { session, sent } = fakeSession((p) => result(p, itemsOf(p), compact));
      const progress: number[] = [];

      const outcome = await executeRepair(
        session,
        'shards/dangling:x',
        { option: OPTION, incarnation: 'i1' },
        { log: () => undefined, progress: (done) => progress.push(done) },
      );

      assert.deepEqual(
        sent.map((p) => p.itemResults),
        ['exceptions', 'exceptions'],
        'it asks for the compact form',
      );
      assert.equal(outcome.applied, 2);
      assert.equal(outcome.refused, 2);
      assert.equal(outcome.unchanged, 2);
      assert.equal(outcome.batches, 2);
      assert.equal(outcome.seq, 12, 'the seq of the last answer');
      assert.deepEqual(outcome.details, [
        'refused shard-1: initialised on ingester-1 and open; close it first',
        'refused shard-4: initialised on ingester-1 and open; close it first',
      ]);
      assert.match(outcome.summary, /applied 2; already done 2; refused 2: shard-1 initialised on ingester-1 and open/);
      assert.deepEqual(progress, [3, 6], 'progress in entities, once per batch');
    });
  }
});
