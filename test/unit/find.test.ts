/**
 * `findEntities` (`Cluster: Find Entity…`): matches by any part of the key, ignoring case, in every
 * collection; at most `limit` per page, reading no further than the last match; and pages that,
 * followed to the end, give every match once.
 */
import * as assert from 'node:assert/strict';
import { COLLECTION_NAMES, SCENARIOS, type CollectionName } from '../../src/protocol';
import { emptyCollections, findEntities, modelFrom, type ClusterModel, type EntityMatch, type FindPosition } from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';
import * as F from './fixtures';

function scenarioModel(scenario: (typeof SCENARIOS)[number]): ClusterModel {
  const sim = new Simulator();
  sim.reset({ scenario, seed: 1 });
  return modelFrom(sim.status(), (c) => sim.entities(c));
}

/** `n` metastore shards of one source, `shard-00000`…, in compact tables as the server holds them. */
function shardModel(n: number): ClusterModel {
  const collections = emptyCollections();
  for (let i = 0; i < n; i++) {
    const s = F.metastoreShard(`shard-${String(i).padStart(5, '0')}`);
    collections['quickwit.metastore.shards'].set(s.key, s);
  }
  return { status: F.status(), collections };
}

function allPages(model: ClusterModel, query: string, limit: number): { matches: EntityMatch[]; pages: number } {
  const matches: EntityMatch[] = [];
  let from: FindPosition | undefined;
  let pages = 0;
  do {
    const page = findEntities(model, query, limit, from);
    assert.ok(page.matches.length <= limit);
    matches.push(...page.matches);
    from = page.next ?? undefined;
    pages++;
  } while (from && pages < 1000);
  return { matches, pages };
}

describe('findEntities', () => {
  it('finds an entity of every collection by its whole key, first, and by part of it in any case', () => {
    const model = scenarioModel('incident-all');
    const seen = new Set<CollectionName>();
    for (const collection of COLLECTION_NAMES) {
      const key = model.collections[collection].keys().next().value;
      if (key === undefined) continue;
      seen.add(collection);
      // The same key may name an entity in several collections (a shard in each component): those come first.
      const exact = findEntities(model, key, 20);
      const whole = exact.matches.findIndex((m) => m.key !== key);
      const first = whole < 0 ? exact.matches : exact.matches.slice(0, whole);
      assert.ok(
        first.some((m) => m.collection === collection),
        `${collection} ${key} comes first`,
      );
      assert.equal(exact.matches.filter((m) => m.collection === collection && m.key === key).length, 1, 'listed once');
      const part = key.slice(Math.floor(key.length / 3)).toUpperCase();
      const { matches } = allPages(model, part, 50);
      assert.ok(
        matches.some((m) => m.collection === collection && m.key === key),
        `"${part}" finds ${collection} ${key}`,
      );
      assert.ok(
        matches.every((m) => m.key.toUpperCase().includes(part)),
        `every match of "${part}" holds it`,
      );
    }
    assert.deepEqual([...seen].sort(), [...COLLECTION_NAMES].sort(), 'the scenario has an entity in every collection');
  });

  it('returns at most the bound, stops reading at it, and its pages give every match once', () => {
    const model = shardModel(5000);
    const first = findEntities(model, 'SHARD-0', 200);
    assert.equal(first.matches.length, 200);
    assert.equal(first.scanned, 200, 'read no key past the 200th match');
    assert.deepEqual(first.next, { collection: 'quickwit.metastore.shards', offset: 200 });
    const { matches, pages } = allPages(model, 'shard-0', 200);
    assert.equal(matches.length, 5000);
    assert.equal(new Set(matches.map((m) => m.key)).size, 5000, 'no match twice');
    assert.equal(pages, 25);
    // A rare match: the scan reads on to it and no further than the bound after it.
    const rare = findEntities(model, '/shard-04999', 1);
    assert.deepEqual(
      rare.matches.map((m) => m.key.endsWith('shard-04999')),
      [true],
    );
    assert.equal(rare.next, null);
  });

  it('matches nothing for a key no entity holds, and takes a query as text, not a pattern', () => {
    const model = shardModel(100);
    assert.deepEqual(findEntities(model, 'nope', 10), { matches: [], next: null, scanned: 100 });
    assert.deepEqual(findEntities(model, '.*', 10).matches, []);
  });
});
