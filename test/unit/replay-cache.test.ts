/** The repair replay cache: least recently used out, bounded in entries and in bytes. */
import * as assert from 'node:assert/strict';
import { ReplayCache } from '../../src/cluster/replay-cache';

describe('ReplayCache', () => {
  it('evicts the least recently used entry past maxEntries; a replay counts as a use', () => {
    const c = new ReplayCache<string>(2, 1000);
    c.set('a', 'A');
    c.set('b', 'B');
    assert.equal(c.get('a'), 'A');
    c.set('c', 'C');
    assert.equal(c.get('b'), undefined, 'b was the least recently used');
    assert.equal(c.get('a'), 'A');
    assert.equal(c.get('c'), 'C');
  });

  it('evicts past maxBytes, and does not keep a value larger than maxBytes alone', () => {
    const c = new ReplayCache<string>(100, 30, (v) => v.length);
    c.set('a', 'x'.repeat(10));
    c.set('b', 'x'.repeat(10));
    c.set('c', 'x'.repeat(10));
    assert.equal(c.get('a'), undefined);
    assert.equal(c.size, 2);
    c.set('huge', 'x'.repeat(31));
    assert.equal(c.get('huge'), undefined);
    assert.equal(c.size, 2, 'nothing was evicted for it');
  });
});
