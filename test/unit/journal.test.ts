/** The journal's reader: validated lines, a torn last line reported (not fatal), history states and the undo plan. */
import * as assert from 'node:assert/strict';
import { buildUndo, parseJournal, repairHistory } from '../../src/engine/journal';
import type { JournalLine } from '../../src/protocol';
import { metastoreShardAt, repairLine } from './fixtures';

const shard = (k: string) => metastoreShardAt(k, { version: 3 });
const head: JournalLine = repairLine('cli');
const intent = (batch: number, keys: string[]): JournalLine => ({
  type: 'intent',
  repair: 'r1',
  at: head.at,
  batch,
  requestId: `q${batch}`,
  operation: { command: 'quickwit.deleteShards', targets: keys.map((key) => ({ key, version: 3 })) },
  before: keys.map((key) => ({ collection: 'quickwit.metastore.shards', key, entity: shard(key) })),
});

/** Batch `batch` of r1 answered: `key` applied. */
const applied = (batch: number, key: string): JournalLine => ({
  type: 'result',
  repair: 'r1',
  at: head.at,
  batch,
  requestId: `q${batch}`,
  outcome: 'answered',
  applied: [{ key }],
  refused: [],
  unchanged: 0,
  summary: '1 applied',
});

describe('repair journal (reading, history, undo plan)', () => {
  it('reports a torn last line and keeps every line before it', () => {
    const text = [head, intent(0, ['i:1/s/a'])].map((l) => JSON.stringify(l)).join('\n') + '\n{"type":"result","rep';
    const read = parseJournal(text);
    assert.equal(read.lines.length, 2);
    assert.deepEqual(read.problems, ['line 3: torn (the writer stopped in the middle of it); ignored']);
  });

  it('a line that is JSON but not a journal line is reported with its field', () => {
    const read = parseJournal(`${JSON.stringify({ ...head, option: { id: 'x' } })}\n`);
    assert.equal(read.lines.length, 0);
    assert.match(read.problems[0], /^line 1: not a journal line \(option\.title/);
  });

  it('an intent without a result is unknown; undo still re-creates its entities (absence guards it)', () => {
    const lines: JournalLine[] = [head, intent(0, ['i:1/s/a']), applied(0, 'i:1/s/a'), intent(1, ['i:1/s/b'])];
    const [entry] = repairHistory(lines);
    assert.deepEqual(
      entry.batches.map((b) => b.state),
      ['applied', 'unknown'],
    );
    assert.equal(entry.finished, false);
    const plan = buildUndo(lines, undefined);
    assert.deepEqual(plan.option.operations, [
      { command: 'quickwit.restoreShards', targets: ['i:1/s/a', 'i:1/s/b'].map((key) => ({ key, absent: true, entity: shard(key) })) },
    ]);
  });

  it('an undone repair says which undo took it back; a repair of an earlier run of its cluster is marked before anyone asks', () => {
    const lines: JournalLine[] = [
      head,
      intent(0, ['i:1/s/a']),
      applied(0, 'i:1/s/a'),
      { type: 'end', repair: 'r1', at: head.at, applied: 1, refused: 0, cancelled: false, summary: 'done' },
    ];
    const [fresh] = repairHistory(lines, new Map([['sim', 'inc']]));
    assert.equal(fresh.undoable, true);
    assert.equal(fresh.undoneBy, undefined);
    const [restarted] = repairHistory(lines, new Map([['sim', 'inc-2']]));
    assert.equal(restarted.undoable, false);
    assert.match(restarted.undoNote ?? '', /^the cluster restarted since/);
    assert.equal(repairHistory(lines, new Map([['other', 'inc-2']]))[0].undoable, true, 'a cluster not connected now is not judged');
    const undo: JournalLine = {
      ...head,
      repair: 'u1',
      at: '2026-01-01T00:01:00.000Z',
      undoOf: 'r1',
      option: { ...(head as { option: object }).option, title: 'Undo: Delete' },
    } as JournalLine;
    const [newest, undone] = repairHistory([...lines, undo]);
    assert.equal(newest.id, 'u1');
    assert.equal(undone.undoneBy, 'u1');
    assert.equal(undone.undoNote, 'already undone');
  });

  it('a repair whose plan cannot be undone offers nothing', () => {
    const lines: JournalLine[] = [
      { ...head, option: { ...head.option, undoable: false, undoNote: 'a process restart cannot be taken back' } },
    ];
    assert.throws(() => buildUndo(lines, 'r1'), /cannot be undone: a process restart cannot be taken back/);
    assert.throws(() => buildUndo(lines, undefined), /no repair in the journal can be undone/);
  });

  it('a preview line is read and left out of history; a repair line written again (a gateway restarted mid-repair) keeps the batches before it', () => {
    const preview: JournalLine = {
      type: 'preview',
      at: head.at,
      user: 'alice',
      cluster: 'gw',
      findingId: 'shards/dangling:x',
      rule: 'shards/dangling',
      title: 'Delete',
      targets: 2,
    };
    const again: JournalLine = { ...head, at: '2026-01-01T00:00:05.000Z' } as JournalLine;
    const text = [preview, head, intent(0, ['i:1/s/a']), applied(0, 'i:1/s/a'), again, intent(1, ['i:1/s/b']), applied(1, 'i:1/s/b')]
      .map((l) => `${JSON.stringify(l)}\n`)
      .join('');
    const read = parseJournal(text);
    assert.deepEqual(read.problems, []);
    assert.equal(read.lines.length, 7);
    assert.deepEqual(read.lines[0], preview);
    const history = repairHistory(read.lines);
    assert.equal(history.length, 1, 'one repair; the preview is not one');
    assert.equal(history[0].at, head.at, 'the first repair line stays its head');
    assert.deepEqual(
      history[0].batches.map((b) => [b.batch, b.state]),
      [
        [0, 'applied'],
        [1, 'applied'],
      ],
    );
    const plan = buildUndo(read.lines, 'r1');
    assert.deepEqual(
      plan.option.operations.flatMap((o) => ('targets' in o ? o.targets.map((t) => t.key) : [])),
      ['i:1/s/a', 'i:1/s/b'],
    );
    assert.match(
      parseJournal(`${JSON.stringify({ ...preview, targets: -1 })}\n`).problems[0] ?? '',
      /^line 1: not a journal line \(targets/,
    );
  });

  it("an undo whose every batch was refused (a viewer's) does not mark the repair undone", () => {
    const lines: JournalLine[] = [head, intent(0, ['i:1/s/a']), applied(0, 'i:1/s/a')];
    const undo = (id: string, at: string, refused: boolean): JournalLine[] => [
      { ...head, repair: id, at, undoOf: 'r1', option: { ...(head as { option: object }).option, title: 'Undo: Delete' } } as JournalLine,
      { ...intent(0, ['i:1/s/a']), repair: id } as JournalLine,
      {
        type: 'result',
        repair: id,
        at,
        batch: 0,
        requestId: 'q0',
        outcome: 'answered',
        applied: refused ? [] : [{ key: 'i:1/s/a' }],
        refused: refused ? [{ key: 'i:1/s/a', message: 'user carol is a viewer: repairs need the operator role' }] : [],
        unchanged: 0,
        summary: '',
      },
    ];
    const afterRefused = repairHistory([...lines, ...undo('u1', '2026-01-01T00:01:00.000Z', true)]);
    const repair = afterRefused.find((e) => e.id === 'r1')!;
    assert.equal(repair.undoneBy, undefined);
    assert.equal(repair.undoable, true, repair.undoNote);
    const afterApplied = repairHistory([
      ...lines,
      ...undo('u1', '2026-01-01T00:01:00.000Z', true),
      ...undo('u2', '2026-01-01T00:02:00.000Z', false),
    ]);
    assert.equal(afterApplied.find((e) => e.id === 'r1')!.undoneBy, 'u2');
  });
});
