/**
 * The session against a real simulator, through a link that can lose one
 * event notification or fail a page: a sequence gap resyncs to the cluster's
 * exact state, and a resync that fails goes stale and reconnects instead of
 * staying `syncing`.
 */
import * as assert from 'node:assert/strict';
import { COLLECTION_NAMES, type EventsNotification } from '../../src/protocol';
import type { ClusterClient } from '../../src/cluster/client';
import { ClusterSession } from '../../src/engine/session';
import { connectClusterClient, type ClusterLink } from '../../src/engine/link';
import { connect, snapshot, useSimulator } from '../sim/helpers';

/** What the test can do to the links it hands the session. */
interface Faults {
  /** Drop the next event notification. */
  dropNextEvents: boolean;
  /** Fail the next page read. */
  failNextPage: boolean;
}

function faultyLinks(faults: Faults, links: ClusterLink[]) {
  return async (options: { url: string; token: string; clientName: string }): Promise<ClusterLink> => {
    const client = (await connectClusterClient(options)) as ClusterClient;
    const link: ClusterLink = {
      init: client.init,
      request: client.request.bind(client),
      onClose: client.onClose.bind(client),
      close: client.close.bind(client),
      onEvents: (listener: (n: EventsNotification) => void) =>
        client.onEvents((n) => {
          if (faults.dropNextEvents && n.events.length > 0) {
            faults.dropNextEvents = false;
            return;
          }
          listener(n);
        }),
      listAll: ((collection, opts) => {
        if (faults.failNextPage) {
          faults.failNextPage = false;
          throw new Error('page read failed (injected)');
        }
        return client.listAll(collection, opts);
      }) as ClusterClient['listAll'],
    };
    links.push(link);
    return link;
  };
}

describe('cluster session (real simulator, faulty link)', () => {
  const sim = useSimulator();
  let session: ClusterSession;
  let faults: Faults;
  let links: ClusterLink[];
  const log: string[] = [];

  beforeEach(async () => {
    await sim.client.request('sim.reset', { scenario: 'healthy' });
    faults = { dropNextEvents: false, failNextPage: false };
    links = [];
    log.length = 0;
    session = new ClusterSession({
      name: 'sim',
      url: sim.server.url,
      token: sim.server.token,
      connect: faultyLinks(faults, links),
      log: (m) => log.push(m),
      backoff: { initialMs: 10, maxMs: 50, random: () => 0.5 },
    });
    await session.start();
    assert.equal(session.state, 'live');
  });
  afterEach(() => session.dispose());

  /** Waits until the session is live at the simulator's current seq. */
  async function caughtUp(): Promise<void> {
    const { seq } = await sim.client.request('cluster.status', {});
    assert.ok(await session.waitForSeq(seq, 10_000), `session at seq ${session.lastSeq} (${session.state}), cluster at ${seq}`);
  }

  /** The session's model equals a fresh read of the cluster, collection by collection. */
  async function assertModelMatchesCluster(): Promise<void> {
    const fresh = await snapshot(sim.client);
    for (const c of COLLECTION_NAMES) {
      // By content: the model's collections are compact tables, not Maps.
      assert.deepEqual(new Map(session.model!.collections[c] as Iterable<[string, unknown]>), fresh[c], `${c} differs from the cluster`);
    }
  }

  it('resyncs on a sequence gap and ends with the cluster exactly', async () => {
    faults.dropNextEvents = true;
    await sim.client.request('sim.tick', { ticks: 1 }); // its events are lost
    await sim.client.request('sim.tick', { ticks: 1 }); // the next batch shows the gap
    await caughtUp();
    assert.ok(
      log.some((m) => /event gap \(have \d+, got \d+\); resyncing/.test(m)),
      `a logged gap in ${JSON.stringify(log)}`,
    );
    assert.equal(faults.dropNextEvents, false, 'the fault fired');
    await assertModelMatchesCluster();
  });

  it('goes stale when a resync fails, then reconnects and syncs instead of staying "syncing"', async () => {
    const states: string[] = [];
    session.addListener({ stateChanged: (s) => states.push(s.state), modelChanged: () => undefined });
    faults.failNextPage = true;
    const other = await connect(sim.server, 'resetter');
    await other.request('sim.reset', { scenario: 'tikv-stale-prepared-region' }); // a reset forces a resync; its first page fails
    other.close();
    await caughtUp();
    assert.ok(states.includes('stale'), `went stale on the way: ${states.join(' → ')}`);
    assert.equal(links.length, 2, 'reconnected on a new link');
    assert.equal(session.model!.status.scenario, 'tikv-stale-prepared-region');
    await assertModelMatchesCluster();
  });
});
