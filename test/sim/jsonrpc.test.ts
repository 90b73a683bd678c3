/**
 * JSON-RPC 2.0 as the specification says (https://www.jsonrpc.org/specification):
 * batches, ids echoed on every path, and replies in the order of the requests.
 */
import * as assert from 'node:assert/strict';
import type WebSocket from 'ws';
import { ErrorCodes } from '../../src/protocol';
import { RpcSession } from '../../src/cluster/rpc';
import type { SimulatorServer } from '../../src/simulator/server';
import { Simulator } from '../../src/simulator/simulator';
import { exchange, rawSocket, startServer } from './helpers';

type Reply = { jsonrpc?: string; id?: unknown; error?: { code: number; message: string }; result?: unknown };

const init = { jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: 1, clientName: 'jsonrpc-test' } };
const status = (id: unknown) => ({ jsonrpc: '2.0', id, method: 'cluster.status' });

/** Every message `ws` receives, parsed, in arrival order. */
function inbox(ws: WebSocket): unknown[] {
  const got: unknown[] = [];
  ws.on('message', (d) => got.push(JSON.parse(d.toString())));
  return got;
}

async function until(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('JSON-RPC 2.0 conformance', () => {
  let server: SimulatorServer;
  let ws: WebSocket;
  before(async () => {
    server = await startServer();
    ws = await rawSocket(server);
    ws.setMaxListeners(100); // exchange() leaves a close listener per call
    assert.equal((await exchange(ws, JSON.stringify(init))).error, undefined);
  });
  after(async () => {
    ws.close();
    await server.close();
  });

  describe('batches', () => {
    it('answers a batch with an array of replies, in order, none for its notifications', async () => {
      const reply = (await exchange(
        ws,
        JSON.stringify([status(1), { jsonrpc: '2.0', method: 'cluster.status' }, { jsonrpc: '2.0', id: 'two', method: 'sim.traceHash' }]),
      )) as unknown as Reply[];
      assert.ok(Array.isArray(reply), `an array, got ${JSON.stringify(reply).slice(0, 200)}`);
      assert.deepEqual(
        reply.map((r) => r.id),
        [1, 'two'],
      );
      assert.ok(reply.every((r) => r.jsonrpc === '2.0' && r.error === undefined && r.result !== undefined));
    });

    it('sends nothing for a batch of notifications only', async () => {
      const got = inbox(ws);
      ws.send(
        JSON.stringify([
          { jsonrpc: '2.0', method: 'cluster.status' },
          { jsonrpc: '2.0', method: 'sim.traceHash' },
        ]),
      );
      ws.send(JSON.stringify(status('after')));
      await until('the reply to the next request', () => got.length > 0);
      ws.removeAllListeners('message');
      assert.deepEqual(
        got.map((r) => (r as Reply).id),
        ['after'],
        'the next message is the reply to the next request',
      );
    });

    it('answers an empty batch with one -32600 error, not an array', async () => {
      const reply = await exchange(ws, '[]');
      assert.ok(!Array.isArray(reply));
      assert.equal(reply.error?.code, ErrorCodes.InvalidRequest);
      assert.equal(reply.id, null);
    });

    it('answers each invalid element of a batch with its own -32600', async () => {
      const reply = (await exchange(
        ws,
        JSON.stringify([1, { foo: 'bar' }, { jsonrpc: '2.0', id: 'x', method: 42 }, status(3)]),
      )) as unknown as Reply[];
      assert.ok(Array.isArray(reply));
      assert.equal(reply.length, 4);
      assert.deepEqual(
        reply.map((r) => [r.id, r.error?.code]),
        [
          [null, ErrorCodes.InvalidRequest],
          [null, ErrorCodes.InvalidRequest],
          ['x', ErrorCodes.InvalidRequest],
          [3, undefined],
        ],
      );
    });

    it('bounds a batch: at most maxBatch requests, and it stops running them once its replies are large', async () => {
      const session = new RpcSession(new Simulator(), undefined, { maxBatch: 4, maxBatchReplyChars: 100 });
      await session.handle(JSON.stringify(init));
      const tooMany = JSON.parse((await session.handle(JSON.stringify([1, 2, 3, 4, 5].map(status))))!) as Reply;
      assert.equal(tooMany.error?.code, ErrorCodes.InvalidRequest);
      assert.match(tooMany.error!.message, /at most 4/);
      // One status is longer than 100 characters: the first runs, the rest are answered without running.
      const replies = JSON.parse(
        (await session.handle(
          JSON.stringify([1, 2, { jsonrpc: '2.0', method: 'x' }, 4].map((i) => (typeof i === 'number' ? status(i) : i))),
        ))!,
      ) as Reply[];
      assert.deepEqual(
        replies.map((r) => [r.id, r.error?.code]),
        [
          [1, undefined],
          [2, ErrorCodes.Rejected],
          [4, ErrorCodes.Rejected],
        ],
      );
      assert.match(replies[1].error!.message, /send this request again/);
    });

    it('answers malformed JSON in a batch with one -32700', async () => {
      const reply = await exchange(ws, '[{"jsonrpc": "2.0", "id": 1, "method": "cluster.status"},{"jsonrpc": "2.0", "method"');
      assert.ok(!Array.isArray(reply));
      assert.equal(reply.error?.code, ErrorCodes.ParseError);
      assert.equal(reply.id, null);
    });
  });

  describe('ids', () => {
    for (const id of ['req-1', '', 'x'.repeat(1000), 0, -7, 1.5, 2 ** 53 + 2, null]) {
      it(`echoes the id ${JSON.stringify(id).slice(0, 20)} of a valid request`, async () => {
        const reply = await exchange(ws, JSON.stringify(status(id)));
        assert.equal(reply.error, undefined, JSON.stringify(reply.error));
        assert.equal(reply.id, id);
      });
    }

    it('echoes a valid id on an invalid request, an unknown method and invalid params', async () => {
      for (const [request, code] of [
        [{ jsonrpc: '1.0', id: 'old', method: 'cluster.status' }, ErrorCodes.InvalidRequest],
        [{ jsonrpc: '2.0', id: 'old', method: 'x'.repeat(200) }, ErrorCodes.InvalidRequest],
        [{ jsonrpc: '2.0', id: 'old', method: 'cluster.nope' }, ErrorCodes.MethodNotFound],
        [{ jsonrpc: '2.0', id: 'old', method: 'cluster.list', params: { collection: 'nope' } }, ErrorCodes.InvalidParams],
        [{ jsonrpc: '2.0', id: 12.25, method: 42 }, ErrorCodes.InvalidRequest],
      ] as const) {
        const reply = await exchange(ws, JSON.stringify(request));
        assert.equal(reply.error?.code, code, JSON.stringify(request).slice(0, 80));
        assert.equal(reply.id, request.id);
      }
    });

    it('answers an id that is neither string, number nor null with -32600 and id null', async () => {
      const reply = await exchange(ws, JSON.stringify({ jsonrpc: '2.0', id: { a: 1 }, method: 'cluster.status' }));
      assert.equal(reply.error?.code, ErrorCodes.InvalidRequest);
      assert.equal(reply.id, null);
    });
  });

  describe('order', () => {
    it('replies in the order of the requests, even after a long sim.tick, and serves other clients meanwhile', async () => {
      const other = await rawSocket(server);
      const hog = await rawSocket(server);
      try {
        await exchange(hog, JSON.stringify(init));
        await exchange(hog, JSON.stringify({ jsonrpc: '2.0', id: 'r', method: 'sim.reset', params: { scenario: 'greptime-ddl-backlog' } }));
        await exchange(
          hog,
          JSON.stringify({ jsonrpc: '2.0', id: 'i', method: 'sim.inject', params: { fault: 'greptime.remoteWalUnavailable' } }),
        );
        const got = inbox(hog);
        hog.send(JSON.stringify({ jsonrpc: '2.0', id: 'tick', method: 'sim.tick', params: { ticks: 300 } }));
        for (let i = 0; i < 50; i++) hog.send(JSON.stringify(status(i)));
        // Another connection is not held up by the run.
        await exchange(other, JSON.stringify(init));
        await until('all replies', () => got.length === 51, 30_000);
        assert.deepEqual(
          got.map((r) => (r as Reply).id),
          ['tick', ...Array.from({ length: 50 }, (_, i) => i)],
        );
        await exchange(hog, JSON.stringify({ jsonrpc: '2.0', id: 'r', method: 'sim.reset', params: { scenario: 'healthy' } }));
      } finally {
        other.close();
        hog.close();
      }
    });
  });
});
