/**
 * `ClusterClient.listAll` asks for the next page as soon as it has this one's cursor, before
 * it decodes and hands this one over (the cluster builds it meanwhile), and never more than
 * that one request ahead (the cluster's rules for unsent replies, server.ts, see two pages at
 * most). A caller that stops early leaves the request ahead to fail quietly.
 */
import * as assert from 'node:assert/strict';
import type { WebSocket } from 'ws';
import { ClusterClient } from '../../src/cluster/client';
import { encodeColumnsPage } from '../../src/protocol';
import * as F from './fixtures';

/** A fake cluster of `pages` pages of ingesters; it answers a page only when the test says so. */
async function fakeCluster(pages: number) {
  const asked: number[] = [];
  const waiting: { id: number; page: number }[] = [];
  let socket: WebSocket | undefined;
  let onAsk: (() => void) | undefined;
  const cluster = await F.fakeColumnsCluster((ws, { id, page }) => {
    socket = ws;
    asked.push(page);
    waiting.push({ id, page });
    onAsk?.();
  });
  const answer = () => {
    const { id, page } = waiting.shift()!;
    const items = [{ key: `i-${page}`, version: 1, nodeId: `i-${page}`, status: 'ready' }];
    const result = {
      collection: 'quickwit.ingesters',
      encoding: 'columns-v1',
      page: encodeColumnsPage('quickwit.ingesters', items),
      nextCursor: page + 1 < pages ? String(page + 1) : null,
      seq: 0,
      total: pages,
    };
    socket!.send(JSON.stringify({ jsonrpc: '2.0', id, result }));
  };
  /** Resolves once the cluster has been asked for `n` pages in all. */
  const askedFor = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (asked.length < n) return;
        onAsk = undefined;
        resolve();
      };
      onAsk = check;
      check();
    });
  return { url: cluster.url, asked, waiting, answer, askedFor, close: cluster.close };
}

describe('listAll: one page requested ahead', () => {
  it('asks for page n + 1 before handing page n over, and never for more than one page ahead', async () => {
    const fake = await fakeCluster(4);
    const client = await ClusterClient.connect({ url: fake.url, clientName: 't' });
    try {
      const pages = client.listAll('quickwit.ingesters')[Symbol.asyncIterator]();
      const got: string[] = [];
      for (let n = 0; n < 4; n++) {
        const next = pages.next();
        await fake.askedFor(n + 1);
        assert.equal(fake.waiting.length, 1, `page ${n}: one request waits`);
        fake.answer();
        if (n < 3) await fake.askedFor(n + 2); // the next page is asked for before this one is handed over
        const r = await next;
        assert.equal(r.done, false);
        got.push(...(r.value as { key: string }[]).map((e) => e.key));
        // Handed over: still only the one request ahead.
        assert.equal(fake.waiting.length, n < 3 ? 1 : 0);
      }
      assert.deepEqual(await pages.next(), { done: true, value: undefined });
      assert.deepEqual(got, ['i-0', 'i-1', 'i-2', 'i-3']);
      assert.deepEqual(fake.asked, [0, 1, 2, 3]);
    } finally {
      client.close();
      await fake.close();
    }
  });

  it('a caller that stops early leaves its request ahead to fail quietly when the connection closes', async () => {
    const fake = await fakeCluster(3);
    const client = await ClusterClient.connect({ url: fake.url, clientName: 't' });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const reading = (async () => {
        for await (const page of client.listAll('quickwit.ingesters')) return page; // stops after the first page
      })();
      await fake.askedFor(1);
      fake.answer();
      const first = await reading;
      assert.equal(first?.length, 1);
      await fake.askedFor(2); // asked for ahead, never read
      const closed = new Promise<void>((r) => client.onClose(() => r()));
      client.close();
      await closed;
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      client.close();
      await fake.close();
    }
  });
});
