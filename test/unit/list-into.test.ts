/**
 * `ClusterClient.listAll(c, { into })`: each page stored into the model's table (a `columns-v1`
 * page from its decoded columns, a page of objects entity by entity), the page's entity count
 * yielded. The table then holds what `listAll` + `set` of each entity gives, and a page that
 * does not validate is refused with the same error.
 */
import * as assert from 'node:assert/strict';
import { ClusterClient } from '../../src/cluster/client';
import { encodeColumnsPage, type EntityOf } from '../../src/protocol';
import { EntityTable, StringInterner } from '../../src/analysis';
import * as F from './fixtures';

type Shard = EntityOf<'quickwit.metastore.shards'>;
const C = 'quickwit.metastore.shards';

const shard = (i: number, version = 1): Shard => ({
  key: `${i % 2 ? 'app/x' : 'app'}/_ingest-source/shard-${i}`,
  version,
  indexUid: i % 2 ? 'app/x' : 'app',
  sourceId: '_ingest-source',
  shardId: `shard-${i}`,
  leaderId: `ingester-${i % 3}`,
  followerId: i % 4 ? null : 'ingester-9',
  docMappingUid: 'dm',
  shardState: 'open',
  publishPositionInclusive: '',
  publishToken: null,
  createdAt: 1_700_000_000 + i,
  updateTimestamp: null,
});

/** A fake cluster that answers `cluster.list` with `pages` in turn (each a result's `encoding`/`page` or `items`). */
function fakeCluster(pages: object[]) {
  return F.fakeColumnsCluster((ws, { id, page }) => {
    const nextCursor = page + 1 < pages.length ? String(page + 1) : null;
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, result: { collection: C, ...pages[page], nextCursor, seq: 0, total: 10 } }));
  });
}

const columns = (items: Shard[]) => ({ encoding: 'columns-v1', page: encodeColumnsPage(C, items) });

async function both(pages: object[]) {
  const cluster = await fakeCluster(pages);
  const client = await ClusterClient.connect({ url: cluster.url, clientName: 'test' });
  try {
    const map = new Map<string, Shard>();
    const bySet = async () => {
      for await (const page of client.listAll(C)) for (const e of page) map.set(e.key, e);
    };
    const table = new EntityTable<Shard>(C, new StringInterner());
    const counts: number[] = [];
    const into = async () => {
      for await (const n of client.listAll(C, { into: table })) counts.push(n);
    };
    const errors = await Promise.all([
      bySet().then(
        () => null,
        (e: Error) => e.message,
      ),
      into().then(
        () => null,
        (e: Error) => e.message,
      ),
    ]);
    return { map, table, counts, errors };
  } finally {
    client.close();
    await cluster.close();
  }
}

describe('listAll into a table', () => {
  it('stores each page as set() of its entities would, and yields the counts', async () => {
    const pages = [
      columns([0, 1, 2, 3].map((i) => shard(i))),
      // A page of objects on a columns-v1 connection, and a key again with a newer version.
      { items: [shard(4), shard(1, 2)] },
      columns([shard(5), shard(2, 3), shard(6)]),
    ];
    const { map, table, counts, errors } = await both(pages);
    assert.deepEqual(errors, [null, null]);
    assert.deepEqual(counts, [4, 2, 3]);
    assert.deepStrictEqual([...table], [...map]);
    assert.equal(table.size, 7);
  });

  it('a page that does not validate is refused with the same error', async () => {
    const bad = columns([shard(0), shard(1)]);
    (bad.page!.columns[bad.page!.fields.indexOf('version')] as { v: unknown[] }).v[1] = -1;
    const { errors } = await both([columns([shard(2)]), bad]);
    assert.ok(errors[0]?.startsWith('cluster sent an invalid quickwit.metastore.shards page: '), errors[0] ?? 'no error');
    assert.equal(errors[1], errors[0]);
  });
});
