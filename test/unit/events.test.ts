/** The `deletes-v1` encoding of `cluster.events`: runs of deletions as arrays, both ways, in order. */
import * as assert from 'node:assert/strict';
import { encodeDeletes, eventsOf, EventsNotification, MIN_DELETE_RUN, type ChangeEvent } from '../../src/protocol';

const A = 'quickwit.metastore.shards';
const B = 'quickwit.ingester.shards';

function notification(fromSeq: number, specs: Array<['upsert' | 'delete', typeof A | typeof B, number]>): EventsNotification {
  const events: ChangeEvent[] = [];
  for (const [op, collection, n] of specs) {
    for (let i = 0; i < n; i++) {
      const seq = fromSeq + events.length;
      const key = `${collection}-${seq}`;
      events.push(
        op === 'delete' ? { seq, op, collection, key, version: seq % 7 } : { seq, op, collection, key, item: { key, version: 1 } },
      );
    }
  }
  return { fromSeq, events, time: 12 };
}

describe('cluster.events deletes-v1', () => {
  it('sends each run of deletions from one collection as arrays, the rest as objects, with consecutive seqs; decoding gives the same events', () => {
    const n = notification(101, [
      ['upsert', A, 3],
      ['delete', A, 20],
      ['delete', B, MIN_DELETE_RUN - 1],
      ['delete', A, 17],
      ['upsert', B, 1],
    ]);

    const encoded = encodeDeletes(n);

    assert.deepEqual(
      encoded.map((e) => (e.deleted ? `${e.deleted.collection} ×${e.deleted.keys.length}` : `objects ×${e.events.length}`)),
      [`objects ×3`, `${A} ×20`, `objects ×${MIN_DELETE_RUN - 1}`, `${A} ×17`, 'objects ×1'],
      'a run shorter than MIN_DELETE_RUN stays objects',
    );
    let next = n.fromSeq;
    for (const e of encoded) {
      assert.equal(e.fromSeq, next, 'consecutive');
      assert.equal(e.time, n.time);
      assert.ok(EventsNotification.safeParse(e).success, 'each one is a valid notification');
      next += eventsOf(e).length;
    }
    assert.deepEqual(encoded.flatMap(eventsOf), n.events);
  });

  it('leaves a notification with no run, a short one and a reset as they are', () => {
    for (const n of [
      notification(1, [['upsert', A, 40]]),
      notification(1, [['delete', A, MIN_DELETE_RUN - 1]]),
      { fromSeq: 9, events: [], time: 1, reset: true },
    ]) {
      assert.deepEqual(encodeDeletes(n), [n]);
    }
  });

  it('refuses a run whose keys and versions differ in number, or that comes with events too', () => {
    const run = { fromSeq: 5, events: [], time: 1, deleted: { collection: A, keys: ['a', 'b'], versions: [1, 2] } };
    assert.ok(EventsNotification.safeParse(run).success);
    assert.equal(EventsNotification.safeParse({ ...run, deleted: { ...run.deleted, versions: [1] } }).success, false);
    assert.equal(EventsNotification.safeParse({ ...run, deleted: { ...run.deleted, keys: [], versions: [] } }).success, false);
    const both = { ...run, events: notification(5, [['delete', A, 1]]).events };
    assert.equal(EventsNotification.safeParse(both).success, false);
  });
});
