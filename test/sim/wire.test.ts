/**
 * The page encodings end to end, against a real simulator over a real
 * socket: a client that offers `columns-v1` reads the same entities as one
 * that offers nothing (v1), in fewer bytes; a v1 client (no `encodings` in
 * `initialize`) gets objects as before; a malformed compact page from a
 * cluster is rejected with a clear error. The same for the `deletes-v1`
 * encoding of change events.
 */
import * as assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import { COLLECTION_NAMES, PROTOCOL_VERSION, type ChangeEvent, type EventsNotification } from '../../src/protocol';
import { ClusterClient } from '../../src/cluster/client';
import { ClusterSession } from '../../src/engine/session';
import type { LinkFactory } from '../../src/engine/link';
import * as F from '../unit/fixtures';
import { exchange, rawSocket, snapshot, TOKEN, useSimulator, violations, waitFor } from './helpers';

describe('page encodings', () => {
  const sim = useSimulator();

  it('columns-v1 is negotiated by default; a client that offers nothing gets objects', async () => {
    const compact = await ClusterClient.connect({ url: sim.server.url, token: TOKEN, clientName: 'v2' });
    const plain = await ClusterClient.connect({ url: sim.server.url, token: TOKEN, clientName: 'v1', encodings: [] });
    try {
      assert.equal(compact.init.encoding, 'columns-v1');
      assert.equal(plain.init.encoding, undefined);
    } finally {
      compact.close();
      plain.close();
    }
  });

  it('a compact sync gives the same entities as a v1 sync, on every scenario, paged, in at most half the bytes for shards', async function () {
    this.timeout(120_000);
    for (const scenario of ['incident-all', 'healthy', 'fluvio-out-of-space-reverted'] as const) {
      await sim.client.request('sim.reset', { scenario, seed: 7 });
      await sim.client.request('sim.tick', { ticks: 5 });
      const compact = await ClusterClient.connect({ url: sim.server.url, token: TOKEN, clientName: 'v2' });
      const plain = await ClusterClient.connect({ url: sim.server.url, token: TOKEN, clientName: 'v1', encodings: [] });
      try {
        for (const limit of [1, 37, 5000]) {
          if (limit === 1 && scenario === 'incident-all') continue; // thousands of round trips: the other limits page too
          const [a, b] = [await snapshot(compact, limit), await snapshot(plain, limit)];
          for (const c of COLLECTION_NAMES) assert.deepStrictEqual(a[c], b[c], `${scenario} ${c} limit ${limit}`);
        }
        if (scenario === 'incident-all') {
          const before = [compact.stats.bytesReceived, plain.stats.bytesReceived];
          let n = 0;
          for await (const page of compact.listAll('quickwit.metastore.shards', { limit: 1000 })) n += page.length;
          for await (const page of plain.listAll('quickwit.metastore.shards', { limit: 1000 })) n -= page.length;
          assert.equal(n, 0);
          const v2 = compact.stats.bytesReceived - before[0]!;
          const v1 = plain.stats.bytesReceived - before[1]!;
          assert.ok(v2 * 2 <= v1, `metastore shards: ${v2} bytes compact, ${v1} as objects`);
        }
      } finally {
        compact.close();
        plain.close();
      }
    }
  });

  it('a session synced over columns-v1 holds the same model as one synced over objects', async () => {
    await sim.client.request('sim.reset', { scenario: 'incident-all', seed: 3 });
    const models = [];
    for (const encodings of [undefined, []] as const) {
      const connect: LinkFactory = (o) => ClusterClient.connect({ ...o, encodings });
      const session = new ClusterSession({ name: 's', url: sim.server.url, token: TOKEN, connect, log: () => undefined, reconnect: false });
      try {
        await session.start();
        models.push(session.model!);
      } finally {
        session.dispose();
      }
    }
    const [a, b] = models;
    // Entity by entity, in the same order (the collections are compact tables: compared by content).
    for (const c of COLLECTION_NAMES) assert.deepStrictEqual([...a!.collections[c]], [...b!.collections[c]], c);
    assert.ok(COLLECTION_NAMES.some((c) => a!.collections[c].size > 0));
  });

  it('serves a v1 client (no encodings in initialize) objects, as before', async () => {
    const ws = await rawSocket(sim.server);
    try {
      const init = await exchange(
        ws,
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, clientName: 'old' } }),
      );
      assert.equal((init.result as { encoding?: string }).encoding, undefined);
      const page = await exchange(
        ws,
        JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'cluster.list', params: { collection: 'quickwit.ingesters', limit: 2 } }),
      );
      const result = page.result as { items: { key: string; nodeId: string }[]; encoding?: string; page?: unknown };
      assert.equal(result.encoding, undefined);
      assert.equal(result.page, undefined);
      assert.ok(result.items.length > 0);
      assert.equal(result.items[0]!.key, result.items[0]!.nodeId);
      // An encoding it does not know is ignored, not refused.
      const other = await rawSocket(sim.server);
      try {
        const r = await exchange(
          other,
          JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: { protocolVersion: PROTOCOL_VERSION, clientName: 'new', encodings: ['columns-v9'] },
          }),
        );
        assert.equal((r.result as { encoding?: string }).encoding, undefined);
      } finally {
        other.close();
      }
    } finally {
      ws.close();
    }
  });
});

describe('event encodings', () => {
  const sim = useSimulator();

  it('deletes-v1 is negotiated by default: a bulk deletion comes as runs of keys, and reaches the listeners as the same events an objects client gets', async () => {
    await sim.client.request('sim.reset', {
      scenario: 'quickwit-dangling-shards',
      seed: 1,
      size: { danglingShards: 3000, liveShards: 30 },
    });
    const compact = await ClusterClient.connect({ url: sim.server.url, token: TOKEN, clientName: 'v2' });
    const plain = await ClusterClient.connect({ url: sim.server.url, token: TOKEN, clientName: 'v1', eventEncodings: [] });
    const ws = await rawSocket(sim.server);
    try {
      assert.equal(compact.init.eventEncoding, 'deletes-v1');
      assert.equal(plain.init.eventEncoding, undefined);
      const got = { compact: [] as ChangeEvent[], plain: [] as ChangeEvent[] };
      compact.onEvents((n) => got.compact.push(...n.events));
      plain.onEvents((n) => got.plain.push(...n.events));
      const wire: Array<{ method?: string; params?: EventsNotification }> = [];
      ws.on('message', (d) => wire.push(JSON.parse(d.toString())));
      const send = (id: number, method: string, params: unknown) => ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      send(1, 'initialize', { protocolVersion: PROTOCOL_VERSION, clientName: 'raw', eventEncodings: ['deletes-v2', 'deletes-v1'] });
      send(2, 'cluster.subscribe', {});
      await compact.request('cluster.subscribe', {});
      await plain.request('cluster.subscribe', {});
      const s = await snapshot(sim.client, 5000);
      const status = await sim.client.request('cluster.status', {});
      const dangling = violations(s, status)['shards/dangling'];
      const targets = dangling.map((key) => ({ key, version: s['quickwit.metastore.shards'].get(key)!.version }));

      const result = await sim.client.request('repair', {
        requestId: 'enc-1',
        incarnation: status.incarnation!,
        itemResults: 'exceptions',
        repair: { command: 'quickwit.deleteShards', targets },
      });

      assert.equal(result.applied, dangling.length);
      const upTo = (events: ChangeEvent[]) => (events.at(-1)?.seq === result.seq ? true : undefined);
      await waitFor('the objects client to get every event', () => upTo(got.plain));
      await waitFor('the deletes-v1 client to get every event', () => upTo(got.compact));
      await waitFor('the raw client to get every event', () =>
        wire.some((m) => m.params?.deleted && m.params.fromSeq + m.params.deleted.keys.length - 1 === result.seq) ? true : undefined,
      );
      assert.deepEqual(got.compact, got.plain, 'the same events, in order');
      assert.deepEqual(new Set(got.plain.filter((e) => e.op === 'delete').map((e) => e.key)), new Set(dangling));
      const runs = wire.filter((m) => m.method === 'cluster.events' && m.params!.fromSeq > status.seq);
      assert.ok(
        runs.length > 0 && runs.every((m) => m.params!.deleted && m.params!.events.length === 0),
        'on the wire: runs of keys, no objects',
      );
      assert.equal(
        runs.reduce((n, m) => n + m.params!.deleted!.keys.length, 0),
        dangling.length,
      );
    } finally {
      ws.close();
      compact.close();
      plain.close();
    }
  });
});

describe('a malformed compact page', () => {
  /** A fake cluster that negotiates columns-v1 and answers `cluster.list` with `page`. */
  async function fakeCluster(
    page: unknown,
    encoding = 'columns-v1',
    eventEncoding?: string,
  ): Promise<{ url: string; close(): Promise<void> }> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as { id: number; method: string };
        const status = F.status({ clusterName: 'fake' });
        const result =
          m.method === 'initialize'
            ? { protocolVersion: PROTOCOL_VERSION, serverName: 'fake', simulator: false, status, encoding, eventEncoding }
            : { collection: 'quickwit.ingesters', encoding: 'columns-v1', page, nextCursor: null, seq: 0, total: 1 };
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }));
      });
    });
    const port = (wss.address() as { port: number }).port;
    return { url: `ws://127.0.0.1:${port}`, close: () => new Promise((r) => wss.close(() => r())) };
  }

  const cases: [string, unknown, RegExp][] = [
    [
      'an index outside the dictionary',
      {
        n: 1,
        fields: ['key', 'version', 'nodeId', 'status'],
        columns: [{ v: ['a'] }, { v: [1] }, { v: ['a'] }, { d: [3] }],
        strings: ['ready'],
      },
      /invalid quickwit\.ingesters page: columns page: field "status", entity 0: 3 is not a string index/,
    ],
    [
      'a short column',
      { n: 2, fields: ['key'], columns: [{ v: ['a'] }], strings: [] },
      /invalid quickwit\.ingesters page: columns page: field "key" has 1 values for 2 entities/,
    ],
    ['not a page at all', 'nonsense', /invalid quickwit\.ingesters page: columns page/],
    [
      'entities that fail the schema',
      {
        n: 1,
        fields: ['key', 'version', 'nodeId', 'status'],
        columns: [{ v: ['a'] }, { v: [-1] }, { v: ['a'] }, { v: ['ready'] }],
        strings: [],
      },
      /invalid quickwit\.ingesters page: .*version/,
    ],
  ];
  for (const [what, page, message] of cases) {
    it(`${what}: listAll rejects with a clear error`, async () => {
      const fake = await fakeCluster(page);
      const client = await ClusterClient.connect({ url: fake.url, clientName: 't' });
      try {
        await assert.rejects(async () => {
          for await (const _ of client.listAll('quickwit.ingesters')) void _;
        }, message);
        // The connection is still usable: nothing crashed.
        assert.equal(client.closed, false);
      } finally {
        client.close();
        await fake.close();
      }
    });
  }

  it('a cluster that picks an encoding the client did not offer fails the handshake', async () => {
    const fake = await fakeCluster({}, 'columns-v1');
    try {
      await assert.rejects(
        ClusterClient.connect({ url: fake.url, clientName: 't', encodings: [] }),
        /picked the page encoding columns-v1, which this client did not offer/,
      );
    } finally {
      await fake.close();
    }
  });

  it('a cluster that picks an event encoding the client did not offer fails the handshake', async () => {
    const fake = await fakeCluster({}, 'columns-v1', 'deletes-v1');
    try {
      await assert.rejects(
        ClusterClient.connect({ url: fake.url, clientName: 't', eventEncodings: [] }),
        /picked the event encoding deletes-v1, which this client did not offer/,
      );
    } finally {
      await fake.close();
    }
  });
});
