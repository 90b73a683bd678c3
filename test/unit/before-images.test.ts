/**
 * The journal's compact batches (src/protocol/before-images.ts, #21): a packed intent or result
 * reads back as exactly the plain line it stands for, through the journal's own reader; a journal
 * of plain lines (written before) and one that mixes both read the same; a damaged packed line is
 * reported, not fatal; and a big batch takes a small part of its plain size.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildUndo, parseJournal, repairHistory } from '../../src/engine/journal';
import { packIntent, packResult, unpackJournalLine } from '../../src/protocol/before-images';
import { fromColumns, toColumns } from '../../src/protocol/packed-columns';
import type { JournalIntentLine, JournalLine, JournalResultLine } from '../../src/protocol';
import { entityArbitrary } from './arbitraries';
import { metastoreShardAt, repairLine } from './fixtures';

const AT = '2026-01-01T00:00:00.000Z';
/** The shard under key `k` as a before-image (`extra`: fields a shard does not have, for a second shape). */
const shard = (k: string, extra: Record<string, unknown> = {}) => ({ ...metastoreShardAt(k, { version: 3 }), ...extra });
const keyOf = (i: number) => `app-logs:01HF7YAT01F6SEFP5Y4J5566PC/_ingest-source/01HF7YXD${String(i).padStart(18, '0')}`;

const head: JournalLine = repairLine('editor', { at: AT });

function intentOf(batch: number, keys: string[], entity: (k: string, i: number) => Record<string, unknown> | null): JournalIntentLine {
  return {
    type: 'intent',
    repair: 'r1',
    at: AT,
    batch,
    requestId: `q${batch}`,
    operation: {
      command: 'quickwit.deleteShards',
      targets: keys.map((key) => ({ key, version: 3 })),
      preconditions: [{ epoch: 'quickwit.controlPlane', value: 1 }],
    },
    before: keys.map((key, i) => ({ collection: 'quickwit.metastore.shards', key, entity: entity(key, i) })),
  };
}

function resultOf(batch: number, keys: string[]): JournalResultLine {
  return {
    type: 'result',
    repair: 'r1',
    at: AT,
    batch,
    requestId: `q${batch}`,
    outcome: 'answered',
    applied: keys.map((key, i) => (i % 2 ? { key } : { key, version: i })),
    refused: [{ key: 'k-refused', message: 'moved on' }],
    unchanged: 1,
    summary: `${keys.length} applied`,
  };
}

/** Batches as the first packed journals wrote them (`gzip-table-v1`), before columns: still read. */
const TABLE_V1_LINES = [
  '{"type":"intent-packed","repair":"r1","at":"2026-01-01T00:00:00.000Z","batch":0,"requestId":"q0","command":"quickwit.deleteShards","targets":3,"encoding":"gzip-table-v1","data":"H4sIAAAAAAAAA81UYWvbMBD9L/f50trp4oK/ZVuzdlDIFm+sBDNU6ZqIyJImnZuM4P9eZKes26Bk0ML06YTuPZ3u3dMenKcgWDsL5R6kaxphFZTwo9Vys9V8osgQ02ItgoqA4ANJZ5VOiAjlcg/knVw/RUhnOTgzN8ISINwL0xKUeVd3CCzCijimu+JaeEoUS9jQz5RIIaY66hohuG1/lCEI70fGrWKZ5Zez85tpleWzYnExm09u3nycTIpi/u70u7YrijyKrg2STofMb++zvxbgWY0vzZq/Cus4saae3dKdCzTIYwzJQaxfCjXEIrILdBIfVSLLmnXq7jN9RtBW0e6LVoAwdO6qDxNLHxkSikIf3jlj3PawUU5eC++1XR3ACbFgwUlv394aHddzF/shubLStFHfPzmq3IYsIMhAgklNGRBarwRTpRuKLBoPNf45Fv91uQi04yBee3aPcgMg/O4HQHjOETCYh8IoA7StMY/p0yobfzi/+Dw+e/tpMbv+WlSXC8D0YyT1DrlFnvWgeoAu86NqPNqxyQVHMf7Tq8eQpukFXo2wg7ruuu4BsnOnFkkFAAA="}',
  '{"repair":"r1","at":"2026-01-01T00:00:00.000Z","batch":0,"requestId":"q0","outcome":"answered","refused":[{"key":"app-logs:01HF7YAT01F6SEFP5Y4J5566PC/_ingest-source/01HF7YXD000000000000000001","message":"moved on"}],"unchanged":0,"summary":"2 applied","type":"result-packed","applied":2,"encoding":"gzip-table-v1","data":"H4sIAAAAAAAAA6tWKs5ILEgtVrKKjlbKTq1U0lEqSy0qzszPU4rVgYjExuooFeWXg5UY6CglFhTo5uSnF1sZGHq4mUc6hhgYupkFu7oFmEaaeJmampkFOOvHZ+alpxaX6BbnlxYlp+pDVEa4GGAAJR2TWJ1oQ+qaaqQUG1sLAGABDSLZAAAA"}',
];

/** Lines as the journal holds them (JSON text), read back by the journal's reader. */
const read = (lines: unknown[]) => parseJournal(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));

describe('compact journal batches (packed intent and result lines)', () => {
  it('a packed intent and result read back as the plain lines, absent and null fields apart, entities missing from the model kept', async () => {
    const keys = [0, 1, 2, 3].map(keyOf);
    // Two shapes (one with a field more), and a target the model did not hold.
    const intent = intentOf(0, keys, (k, i) => (i === 2 ? null : shard(k, i === 3 ? { extra: 'x' } : {})));
    const result = resultOf(0, keys);
    const packedIntent = await packIntent(intent);
    const packedResult = packResult(result);
    assert.equal(packedIntent.type, 'intent-packed');
    assert.equal(packedResult.type, 'result-packed');
    assert.deepEqual(unpackJournalLine(JSON.parse(JSON.stringify(packedIntent))), intent);
    assert.deepEqual(unpackJournalLine(JSON.parse(JSON.stringify(packedResult))), result);
    const { lines, problems } = read([head, packedIntent, packedResult]);
    assert.deepEqual(problems, []);
    assert.deepEqual(lines, [head, intent, result]);
  });

  it('writes columns (gzip-columns-v1), and reads the rows of the first packed journals (gzip-table-v1) as the plain lines they stood for', async () => {
    const keys = [0, 1, 2].map(keyOf);
    // The shards as the stored lines hold them.
    const sampled = { leaderId: 'ingester-0', docMappingUid: '01HF7YAT02G7ER23BQSFMV6THS', createdAt: 610 };
    const intent = intentOf(0, keys, (k, i) => (i === 1 ? null : shard(k, i === 2 ? { ...sampled, extra: 'x' } : sampled)));
    const result: JournalResultLine = {
      ...resultOf(0, keys),
      applied: [{ key: keys[0], version: 4 }, { key: keys[2] }],
      refused: [{ key: keys[1], message: 'moved on' }],
      unchanged: 0,
      summary: '2 applied',
    };
    const old = TABLE_V1_LINES.map((l) => JSON.parse(l) as { encoding: string });
    assert.deepEqual(
      old.map((l) => l.encoding),
      ['gzip-table-v1', 'gzip-table-v1'],
    );
    assert.deepEqual(read([head, ...old]), { lines: [head, intent, result], problems: [] });
    const written = [await packIntent(intent), packResult(result)] as Array<{ encoding?: string }>;
    assert.deepEqual(
      written.map((l) => l.encoding),
      ['gzip-columns-v1', 'gzip-columns-v1'],
    );
    assert.deepEqual(read([head, ...written]), { lines: [head, intent, result], problems: [] });
  });

  it('what packs nothing stays a plain line: an operation without targets, a result that applied nothing, before-images not one per target', async () => {
    const restart: JournalIntentLine = {
      ...intentOf(0, [], () => null),
      operation: { command: 'quickwit.restartControlPlane', expectedEpoch: 1 },
      before: [],
    };
    assert.equal(await packIntent(restart), restart);
    const none = { ...resultOf(0, []), applied: [] };
    assert.equal(packResult(none), none);
    const odd = intentOf(0, [keyOf(1), keyOf(2)], (k) => shard(k));
    odd.before = odd.before.slice(1);
    assert.equal(await packIntent(odd), odd);
  });

  it('an old journal (plain lines only) and one mixing plain and packed batches give the same history and undo plan', async () => {
    const keys = (b: number) => [0, 1, 2].map((i) => keyOf(b * 10 + i));
    const plain: JournalLine[] = [head];
    const mixed: unknown[] = [head];
    for (const b of [0, 1]) {
      const intent = intentOf(b, keys(b), (k) => shard(k));
      const result = resultOf(b, keys(b));
      plain.push(intent, result);
      mixed.push(b === 0 ? intent : await packIntent(intent), b === 0 ? packResult(result) : result);
    }
    plain.push({ type: 'end', repair: 'r1', at: AT, applied: 6, refused: 2, cancelled: false, summary: 'done' });
    mixed.push(plain.at(-1));
    const old = read(plain);
    const both = read(mixed);
    assert.deepEqual(both.problems, []);
    assert.deepEqual(both.lines, old.lines);
    assert.deepEqual(repairHistory(both.lines), repairHistory(old.lines));
    const undo = buildUndo(both.lines, 'r1');
    assert.deepEqual(undo, buildUndo(old.lines, 'r1'));
    assert.equal(undo.option.targetCount, 6);
  });

  it('a damaged packed line is reported and skipped; the lines around it are kept', async () => {
    const packed = (await packIntent(intentOf(0, [keyOf(1)], (k) => shard(k)))) as { data: string };
    const damaged = { ...packed, data: packed.data.slice(0, 20) };
    const { lines, problems } = read([head, damaged, resultOf(0, [keyOf(1)])]);
    assert.equal(lines.length, 2);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^line 2: a packed batch that cannot be read \(.+\); ignored$/);
  });

  it('any metastore shards round-trip (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(entityArbitrary('quickwit.metastore.shards'), { nil: null }), { minLength: 1, maxLength: 30 }),
        async (shards) => {
          const keys = shards.map((s, i) => s?.key ?? `absent-${i}`);
          const intent = intentOf(0, keys, (_k, i) => shards[i] as Record<string, unknown> | null);
          assert.deepEqual(unpackJournalLine(JSON.parse(JSON.stringify(await packIntent(intent)))), JSON.parse(JSON.stringify(intent)));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('columns give back any objects, null ones and absent fields kept apart, a field named __proto__ an own field (property)', () => {
    const value = fc.oneof(fc.jsonValue(), fc.constantFrom('p/x', 'p/y', 'x', ''));
    const object = fc.dictionary(fc.constantFrom('key', 'id', 'a', 'b', '__proto__'), value);
    const groups = fc
      .integer({ min: 0, max: 40 })
      .chain((n) => fc.array(fc.array(fc.option(object, { nil: null }), { minLength: n, maxLength: n }), { minLength: 1, maxLength: 3 }));
    fc.assert(
      fc.property(groups, (g) => {
        const text = JSON.stringify(toColumns(g));
        assert.deepEqual(fromColumns(JSON.parse(text)), JSON.parse(JSON.stringify(g)));
      }),
      { numRuns: 300 },
    );
    // Keys that are a prefix and another column's value, in this group and another: written as references.
    const ids = fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(ids, (list) => {
        const g = [list.map((id) => ({ key: `index/source/${id}`, v: 3 })), list.map((id, i) => ({ key: `index/source/${id}`, id, n: i }))];
        const text = JSON.stringify(toColumns(g));
        assert.deepEqual(fromColumns(JSON.parse(text)), g);
      }),
      { numRuns: 100 },
    );
    const ref = toColumns([
      [{ key: 'index/source/shard-1' }, { key: 'index/source/shard-2' }],
      [{ id: 'shard-1' }, { id: 'shard-2' }],
    ]);
    assert.deepEqual(ref.groups[0].cols[0], { p: 'index/source/', r: [1, 0] });
  });

  it('a batch of 5,000 shards takes under 10% of its plain size', async () => {
    const keys = Array.from({ length: 5000 }, (_, i) => keyOf(i * 7919));
    const intent = intentOf(0, keys, (k) => shard(k));
    const result = resultOf(0, keys);
    const plain = JSON.stringify(intent).length + JSON.stringify(result).length;
    const packed = JSON.stringify(await packIntent(intent)).length + JSON.stringify(packResult(result)).length;
    assert.ok(packed < plain / 10, `${packed} bytes packed, ${plain} plain`);
  });
});
