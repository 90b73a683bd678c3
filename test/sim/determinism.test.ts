import * as assert from 'node:assert/strict';
import type { ClusterClient } from '../../src/protocol/client';
import type { SimulatorServer } from '../../src/simulator/server';
import { connect, startServer } from './helpers';

describe('simulator determinism', () => {
  let server: SimulatorServer;
  let client: ClusterClient;
  before(async () => {
    server = await startServer();
    client = await connect(server);
  });
  after(async () => {
    client.close();
    await server.close();
  });

  async function run(seed: number): Promise<string> {
    await client.request('sim.reset', { scenario: 'incident-all', seed, bugs: 'buggy' });
    await client.request('sim.inject', { fault: 'fluvio.scSpuLinkFlap', target: 'spu-5002' });
    await client.request('sim.tick', { ticks: 25 });
    return (await client.request('sim.traceHash', {})).traceHash;
  }

  it('the same seed gives the same trace hash, another seed a different one', async () => {
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  it('the same seed gives the same entities', async () => {
    await client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 9 });
    const first = await client.request('cluster.list', { collection: 'quickwit.metastore.shards', limit: 50 });
    await client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 9 });
    const second = await client.request('cluster.list', { collection: 'quickwit.metastore.shards', limit: 50 });
    assert.deepEqual(second.items, first.items);
  });
});
