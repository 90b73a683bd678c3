/**
 * No request grows the simulator's state without bound: a repair naming an
 * entity that does not exist is refused and leaves nothing behind, and the
 * request-id replay cache is bounded in bytes, not only in entries. Run
 * against a `cluster-sim` child with a 256 MiB heap, where unbounded growth
 * aborts the process.
 */
import * as assert from 'node:assert/strict';
import { ClusterClient } from '../../src/cluster/client';
import { startSim, type RunningSim } from '../server/sim';
import { connect, incarnationOf, useSimulator, TOKEN } from './helpers';

async function smallHeapSim(): Promise<{ sim: RunningSim; client: ClusterClient; exited: Promise<string> }> {
  const sim = await startSim(['--token', TOKEN, '--scenario', 'greptime-ddl-backlog'], 30_000, { nodeArgs: ['--max-old-space-size=256'] });
  const client = await ClusterClient.connect({ url: sim.url, token: TOKEN, clientName: 'growth' });
  return { sim, client, exited: sim.exited };
}

/** Runs `send` `n` times, failing with how the simulator went if it dies. */
async function repeat(sim: { exited: Promise<string> }, n: number, send: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i++) {
    await Promise.race([send(i), sim.exited.then((how) => Promise.reject(new Error(`cluster-sim ${how} after ${i} requests`)))]);
  }
}

describe('simulator state growth', () => {
  describe('greptime.disableAutoCreate', () => {
    const sim = useSimulator({ scenario: 'greptime-ddl-backlog' });

    it('refuses a table that does not exist, and changes nothing', async () => {
      const before = await sim.client.request('cluster.status', {});
      const r = await sim.client.request('repair', {
        requestId: 'no-such-table',
        incarnation: await incarnationOf(sim.client),
        repair: { command: 'greptime.disableAutoCreate', table: 'greptime.public.no_such_table' },
      });
      assert.equal(r.applied, 0);
      assert.equal(r.refused, 1);
      assert.equal(r.items[0].status, 'refused');
      assert.match(r.items[0].message, /no table greptime\.public\.no_such_table/);
      assert.equal((await sim.client.request('cluster.status', {})).seq, before.seq);
    });

    it('still disables auto-create for a table the workload is creating', async () => {
      const table = 'greptime.public.sys_cpu_user';
      const r = await sim.client.request('repair', {
        requestId: 'real-table',
        incarnation: await incarnationOf(sim.client),
        repair: { command: 'greptime.disableAutoCreate', table },
      });
      assert.equal(r.applied, 1, r.summary);
      const again = await sim.client.request('repair', {
        requestId: 'real-table-2',
        incarnation: await incarnationOf(sim.client),
        repair: { command: 'greptime.disableAutoCreate', table },
      });
      assert.equal(again.items[0].status, 'unchanged');
    });

    it('echoes at most a bounded part of an unknown name', async () => {
      const other = await connect(sim.server);
      const r = await other.request('repair', {
        requestId: 'long-name',
        incarnation: await incarnationOf(other),
        repair: { command: 'greptime.disableAutoCreate', table: 'x'.repeat(100_000) },
      });
      assert.equal(r.refused, 1);
      assert.ok(JSON.stringify(r).length < 2000, `a ${JSON.stringify(r).length}-character result`);
      other.close();
    });
  });

  describe('under a 256 MiB heap', function () {
    this.timeout(120_000);
    let sim: Awaited<ReturnType<typeof smallHeapSim>>;
    beforeEach(async () => {
      sim = await smallHeapSim();
    });
    afterEach(() => {
      sim.client.close();
      return sim.sim.stop();
    });

    it('survives 250 disableAutoCreate requests for distinct huge table names', async () => {
      const name = 'x'.repeat(900 * 1024);
      const incarnation = await incarnationOf(sim.client);
      await repeat(sim, 250, (i) =>
        sim.client.request('repair', {
          requestId: `t-${i}`,
          incarnation,
          repair: { command: 'greptime.disableAutoCreate', table: `${name}${i}` },
        }),
      );
      assert.equal((await sim.client.request('cluster.status', {})).scenario, 'greptime-ddl-backlog');
    });

    it('survives 250 repairs whose results echo huge keys (the replay cache is bounded in bytes)', async () => {
      const key = 'k'.repeat(900 * 1024);
      const incarnation = await incarnationOf(sim.client);
      await repeat(sim, 250, (i) =>
        sim.client.request('repair', {
          requestId: `d-${i}`,
          incarnation,
          repair: { command: 'quickwit.deleteShards', targets: [{ key: `${key}${i}`, version: 1 }] },
        }),
      );
      assert.equal((await sim.client.request('cluster.status', {})).scenario, 'greptime-ddl-backlog');
      // A recent request id still replays.
      const replay = await sim.client.request('repair', {
        requestId: 'd-249',
        incarnation,
        repair: { command: 'quickwit.deleteShards', targets: [{ key: `${key}249`, version: 1 }] },
      });
      assert.equal(replay.replayed, true);
    });
  });
});
