/**
 * One client cannot exhaust the simulator's memory: a client that sends
 * requests and never reads the replies is no longer read from once its unsent
 * replies pass a bound, and is closed with 1008 past a hard limit; the other
 * clients are served meanwhile.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { ClusterClient } from '../../src/cluster/client';
import type { SimulatorServer } from '../../src/simulator/server';
import { startSim } from '../server/sim';
import { connect, exchange, rawSocket, startServer, TOKEN, waitFor } from './helpers';

const MiB = 1024 * 1024;

const init = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: 1, clientName: 'hog' } });
const bigList = (id: number) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'cluster.list', params: { collection: 'quickwit.metastore.shards', limit: 5000 } });

/** Stops reading from the socket: the peer's replies pile up on the peer's side. */
function stopReading(ws: WebSocket): Socket {
  const socket = (ws as unknown as { _socket: Socket })._socket;
  socket.pause();
  return socket;
}

function rssBytes(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) * 1024;
}

describe('simulator backpressure', () => {
  it('keeps its memory bounded when a client never reads its replies, and serves the others meanwhile', async function () {
    this.timeout(120_000);
    const sim = await startSim(['--token', TOKEN, '--scenario', 'healthy', '--live-shards', '5000']);
    const { process: child, url } = sim;
    const bystander = await ClusterClient.connect({ url, token: TOKEN, clientName: 'bystander' });
    const hog = await new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${TOKEN}` } });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
    hog.on('error', () => undefined);
    try {
      await exchange(hog, init);
      const page = await bystander.listPage('quickwit.metastore.shards', null, 5000);
      assert.equal(page.items.length, 5000);
      const before = rssBytes(child.pid!);
      stopReading(hog);
      // About 1.3 MB a reply: 1,000 of them held in the server's memory would be over 1 GiB.
      for (let i = 1; i <= 1000; i++) hog.send(bigList(i));
      let peak = before;
      let slowest = 0;
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline) {
        peak = Math.max(peak, rssBytes(child.pid!));
        if (peak - before > 200 * MiB) break;
        const t0 = Date.now();
        await bystander.request('cluster.status', {});
        slowest = Math.max(slowest, Date.now() - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
      peak = Math.max(peak, rssBytes(child.pid!));
      assert.ok(
        peak - before < 200 * MiB,
        `the server grew by ${Math.round((peak - before) / MiB)} MiB (from ${Math.round(before / MiB)} MiB)`,
      );
      assert.ok(slowest < 2000, `the bystander waited ${slowest} ms for a status`);
      hog.terminate();
      // The server still serves, and new clients are accepted.
      await bystander.request('cluster.status', {});
      const late = await ClusterClient.connect({ url, token: TOKEN, clientName: 'late' });
      late.close();
    } finally {
      hog.terminate();
      bystander.close();
      await sim.stop();
    }
  });

  describe('in process', () => {
    let server: SimulatorServer;
    before(async () => {
      server = await startServer({ size: { liveShards: 5000 }, maxBufferedBytes: 4 * MiB });
    });
    after(async () => {
      await server.close();
    });

    it('closes a client with 1008 once its unsent replies pass maxBufferedBytes, and serves the others', async () => {
      const bystander = await connect(server, 'bystander');
      const hog = await rawSocket(server);
      hog.on('error', () => undefined);
      await exchange(hog, init);
      const socket = stopReading(hog);
      const closed = new Promise<number>((resolve) => hog.once('close', (code) => resolve(code)));
      // One batch whose reply alone (about 13 MB) is over the limit.
      hog.send(`[${Array.from({ length: 10 }, (_, i) => bigList(i + 1)).join(',')}]`);
      await waitFor('the server to drop the hog', () => (server.clientCount() === 1 ? true : undefined));
      await bystander.request('cluster.status', {});
      socket.resume();
      assert.equal(await closed, 1008);
      bystander.close();
      await waitFor('the bystander to leave', () => (server.clientCount() === 0 ? true : undefined));
    });

    it('stops reading from a client whose replies are not drained', async () => {
      const hog = await rawSocket(server);
      hog.on('error', () => undefined);
      await exchange(hog, init);
      stopReading(hog);
      // Requests padded to 64 KiB: once the server stops reading, they back up on the hog's side.
      const pad = 'x'.repeat(64 * 1024);
      for (let i = 1; i <= 400; i++) {
        hog.send(
          JSON.stringify({
            jsonrpc: '2.0',
            id: i,
            method: 'cluster.list',
            params: { collection: 'quickwit.metastore.shards', limit: 5000 },
            pad,
          }),
        );
      }
      // 400 × 64 KiB = 25 MiB of requests; well over the kernel's buffers, so some stay unsent if the server stopped reading.
      // Wait until what is left stops shrinking.
      let last = -1;
      const deadline = Date.now() + 20_000;
      while (hog.bufferedAmount !== last && Date.now() < deadline) {
        last = hog.bufferedAmount;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(hog.bufferedAmount > 4 * MiB, `the server kept reading: ${hog.bufferedAmount} bytes left unsent`);
      assert.equal(server.clientCount(), 1, 'not closed: it is only not read from');
      hog.terminate();
      await waitFor('the server to forget the hog', () => (server.clientCount() === 0 ? true : undefined));
    });
  });
});
