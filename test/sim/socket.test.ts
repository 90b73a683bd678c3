/**
 * The socket's safety and the JSON-RPC error replies: bad input of any kind is
 * answered (or the upgrade refused), nothing crashes, nothing changes, and
 * another client is still served afterwards.
 */
import * as assert from 'node:assert/strict';
import { ErrorCodes, Fault, RpcException, type EventsNotification } from '../../src/protocol';
import { ClusterClient } from '../../src/cluster/client';
import type { SimulatorServer } from '../../src/simulator/server';
import { connect, exchange, rawSocket, startServer, upgradeStatus, waitFor } from './helpers';
import { testSecret } from '../secrets';

describe('simulator socket', () => {
  let server: SimulatorServer;
  let bystander: ClusterClient;
  before(async () => {
    server = await startServer({ maxPayload: 64 * 1024 });
    bystander = await connect(server, 'bystander');
  });
  after(async () => {
    bystander.close();
    await server.close();
  });
  // Whatever a test did, the other client is still served and, unless the
  // test meant to change it, the state did not move.
  let atStart: { seq: number; time: number; traceHash: string };
  let changesState = false;
  beforeEach(async () => {
    changesState = false;
    const status = await bystander.request('cluster.status', {});
    const trace = await bystander.request('sim.traceHash', {});
    atStart = { seq: status.seq, time: status.time, traceHash: trace.traceHash };
  });
  afterEach(async () => {
    const status = await bystander.request('cluster.status', {});
    assert.equal(status.scenario, 'healthy');
    if (changesState) return;
    const trace = await bystander.request('sim.traceHash', {});
    assert.deepEqual({ seq: status.seq, time: status.time, traceHash: trace.traceHash }, atStart, 'bad input changed the cluster');
  });

  const init = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: 1, clientName: 'raw' } });

  it('answers malformed JSON with -32700 and keeps the connection open', async () => {
    const ws = await rawSocket(server);
    const reply = await exchange(ws, '{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.equal(reply.error?.code, ErrorCodes.ParseError);
    assert.equal(reply.id, null);
    assert.equal((await exchange(ws, init)).error, undefined, 'still open and served');
    ws.close();
  });

  it('answers a request that is not JSON-RPC with -32600', async () => {
    const ws = await rawSocket(server);
    const reply = await exchange(ws, JSON.stringify({ id: 4, method: 42 }));
    assert.equal(reply.error?.code, ErrorCodes.InvalidRequest);
    assert.equal(reply.id, 4);
    ws.close();
  });

  it('requires the handshake first (-32002), then answers unknown methods with -32601', async () => {
    const ws = await rawSocket(server);
    const early = await exchange(ws, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'cluster.status' }));
    assert.equal(early.error?.code, ErrorCodes.NotInitialized);
    await exchange(ws, init);
    const unknown = await exchange(ws, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'cluster.dropEverything' }));
    assert.equal(unknown.error?.code, ErrorCodes.MethodNotFound);
    assert.match(unknown.error!.message, /cluster\.dropEverything/);
    ws.close();
  });

  it('refuses an unsupported protocol version', async () => {
    const ws = await rawSocket(server);
    const r = await exchange(
      ws,
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: 99, clientName: 'x' } }),
    );
    assert.equal(r.error?.code, ErrorCodes.UnsupportedVersion);
    ws.close();
  });

  it('answers wrong param types with -32602 naming the field, and changes nothing', async () => {
    const client = await connect(server);
    const seq = (await client.request('cluster.status', {})).seq;
    await assert.rejects(
      client.request('sim.reset', { scenario: 'incident-all', seed: 'one' as unknown as number }),
      (e: Error & { code?: number }) => e.code === ErrorCodes.InvalidParams && /seed/.test(e.message),
    );
    await assert.rejects(
      client.request('cluster.list', { collection: 'quickwit.metastore.shards', limit: 10_000_000 }),
      (e: Error & { code?: number }) => e.code === ErrorCodes.InvalidParams && /limit/.test(e.message),
    );
    await assert.rejects(
      client.request('cluster.list', { collection: 'quickwit.metastore.shards', cursor: '!!not-a-cursor!!' }),
      (e: Error & { code?: number }) => e.code === ErrorCodes.InvalidParams,
    );
    const status = await client.request('cluster.status', {});
    assert.equal(status.seq, seq);
    assert.equal(status.scenario, 'healthy');
    client.close();
  });

  it('closes a client that sends an oversize frame with 1009, and serves the others', async () => {
    const ws = await rawSocket(server);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    ws.send('x'.repeat(65 * 1024));
    assert.equal(await closed, 1009);
  });

  it('refuses an upgrade without a token or with a wrong one (401)', async () => {
    assert.equal(await upgradeStatus(server, {}), 401);
    assert.equal(await upgradeStatus(server, { Authorization: 'Bearer wrong-token' }), 401);
    assert.equal(await upgradeStatus(server, { Authorization: server.token }), 401, 'the Bearer scheme is required');
    await assert.rejects(
      ClusterClient.connect({ url: server.url, token: testSecret('wrong'), clientName: 'x' }),
      /cluster refused the token \(HTTP 401\)/,
    );
  });

  it('refuses an upgrade from a foreign browser Origin (403)', async () => {
    assert.equal(await upgradeStatus(server, { Authorization: `Bearer ${server.token}`, Origin: 'https://evil.example' }), 403);
    assert.equal(await upgradeStatus(server, { Authorization: `Bearer ${server.token}` }), 101);
  });

  it('reports an unreachable cluster in one line', async () => {
    await assert.rejects(ClusterClient.connect({ url: 'ws://127.0.0.1:1', token: testSecret('wrong'), clientName: 'x' }), (e: Error) =>
      /^cannot reach ws:\/\/127\.0\.0\.1:1: ECONNREFUSED$/.test(e.message),
    );
  });

  it('streams change events with consecutive sequence numbers to subscribers', async () => {
    changesState = true;
    const client = await connect(server);
    const got: EventsNotification[] = [];
    client.onEvents((n) => got.push(n));
    const { seq } = await client.request('cluster.subscribe', {});
    const after = await bystander.request('sim.tick', { ticks: 3 });
    await waitFor('events up to the tick', () => (got.length && got[got.length - 1].events.at(-1)?.seq === after.seq ? true : undefined));
    let expected = seq + 1;
    for (const n of got) {
      assert.equal(n.fromSeq, expected);
      n.events.forEach((e, i) => assert.equal(e.seq, n.fromSeq + i));
      expected += n.events.length;
    }
    client.close();
  });

  it('serves other clients during a long sim.tick run, and a reset ends the run early', async () => {
    changesState = true;
    const client = await connect(server);
    await client.request('sim.reset', { scenario: 'greptime-ddl-backlog' });
    // The buggy backlog grows every tick and each tick steps all of it: a run of this length takes seconds.
    await client.request('sim.inject', { fault: 'greptime.remoteWalUnavailable' });
    let finished = false;
    const run = client.request('sim.tick', { ticks: 10_000 }).then((s) => ((finished = true), s));
    const meanwhile = await bystander.request('cluster.status', {});
    assert.equal(finished, false, 'the status was answered only after the whole run');
    assert.equal(meanwhile.scenario, 'greptime-ddl-backlog');
    await bystander.request('sim.reset', { scenario: 'healthy' });
    const ended = await run;
    assert.equal(ended.scenario, 'healthy', 'the run stopped at the reset');
    assert.ok(ended.time < 10_000, `the clock stopped with the run, at ${ended.time}`);
    client.close();
  });

  it('refuses a sim.tick of more than 10,000 ticks (-32602)', async () => {
    const ws = await rawSocket(server);
    await exchange(ws, init);
    const reply = await exchange(ws, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sim.tick', params: { ticks: 100_000 } }));
    assert.equal(reply.error?.code, ErrorCodes.InvalidParams);
    ws.close();
  });

  it('refuses a fault injection with a target the fault cannot have, and changes nothing', async () => {
    const badTargets: Record<Fault, string> = {
      'quickwit.ingesterInitFails': 'ingester-99',
      'quickwit.autoCreateIndexFails': 'ingester-1',
      'quickwit.ingesterRollingRestart': 'ingester-99',
      'milvus.rollingUpgrade': 'node-99',
      'greptime.remoteWalUnavailable': 'kafka-1',
      'tikv.commitOnlyMessage': 'store-99',
      'fluvio.diskFull': 'spu-1',
      'fluvio.scSpuLinkFlap': 'spu-1',
    };
    for (const fault of Fault.options) {
      await assert.rejects(
        bystander.request('sim.inject', { fault, target: badTargets[fault] }),
        (e: RpcException) => e.code === ErrorCodes.Rejected && e.message.includes(badTargets[fault]),
        fault,
      );
    }
  });
});
