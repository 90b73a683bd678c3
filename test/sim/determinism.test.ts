import * as assert from 'node:assert/strict';
import { useSimulator } from './helpers';

describe('simulator determinism', () => {
  const sim = useSimulator();

  async function run(seed: number): Promise<string> {
    await sim.client.request('sim.reset', { scenario: 'incident-all', seed, bugs: 'buggy' });
    await sim.client.request('sim.inject', { fault: 'fluvio.scSpuLinkFlap', target: 'spu-5002' });
    await sim.client.request('sim.tick', { ticks: 25 });
    return (await sim.client.request('sim.traceHash', {})).traceHash;
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
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 9 });
    const first = await sim.client.request('cluster.list', { collection: 'quickwit.metastore.shards', limit: 50 });
    await sim.client.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 9 });
    const second = await sim.client.request('cluster.list', { collection: 'quickwit.metastore.shards', limit: 50 });
    assert.deepEqual(second.items, first.items);
  });
});
