/**
 * Stuck Work (src/analysis/stuck.ts), a pure function: for every scenario of the simulator, the
 * chain of each stuck item, oldest first, with the repairs its steps offer; then the rules one
 * by one on hand-built models (ages, grouping at scale, what is not stuck).
 */
import * as assert from 'node:assert/strict';
import { ageText, chainText, SCENARIOS, sinceText, StuckWork, type BugMode, type ScenarioName, type StuckItem } from '../../src/protocol';
import { modelFrom, runChecks, stuckWork, type ClusterModel } from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';
import * as F from './fixtures';

/** What a user reads of an item: its chain in one line, and the repairs on its steps as `step:rule:repair`. */
interface Expected {
  chain: RegExp;
  repairs: string[];
}

const SOURCE = 'app-logs:01HF7YAT01F6SEFP5Y4J5566PC/_ingest-source';
const WAL = 'by-dev-rootcoord-dml_1';
/** The twelve tables the greptime scenario auto-creates on write. */
const DDL_TABLES = 12;

const DANGLING: Expected = {
  chain: new RegExp(
    `^shards\\(${SOURCE}\\) ×300 ← init_shards\\(ingester-0, ingester-1, ingester-2, ingester-3\\) ×4 ← control plane\\(epoch \\d+\\)$`,
  ),
  repairs: ['0:shards/dangling:delete-uninitialised', '2:shards/dangling:restart-control-plane'],
};
const CLOSE_BLOCKED: Expected = {
  chain: new RegExp(`^close\\(node-1\\) ← append\\(${WAL}\\) ×5 ← recovery\\(${WAL}\\)$`),
  repairs: ['2:wal/close-blocked:cancel-appends-and-close'],
};
const DDL_PILE: Expected = {
  chain: /^CreateTable\(greptime\.public\.\w+\) ×25 ← retry\(Failed to create region: remote WAL \(Kafka\) unavailable\)$/,
  repairs: ['0:ddl/duplicate:cancel-duplicates', '1:ddl/backlog:disable-auto-create'],
};
/** Fixed: metasrv gives up after max_retry_times, so each table has one procedure retrying, and nothing to repair. */
const DDL_RETRYING: Expected = {
  chain: /^CreateTable\(greptime\.public\.\w+\) ← retry\(Failed to create region: remote WAL \(Kafka\) unavailable\)$/,
  repairs: [],
};
const STALE_PREPARED: Expected = {
  chain: /^prepared\(store-1\/region-\d+\) ← write batch\(store-1\)$/,
  repairs: ['1:regions/stale-prepared:clear-prepared-mark'],
};
const ONLINE_FULL: Expected = {
  chain: /^partition\(orders\) ×4 ← report\(spu-5001\)$/,
  repairs: ['1:partitions/online-out-of-space:restore-from-spu-report'],
};

const times = (n: number, e: Expected): Expected[] => Array.from({ length: n }, () => e);

/**
 * Each scenario's stuck items, written out by hand (not derived from src/), in no particular
 * order: the test checks the order (oldest first) separately.
 */
const EXPECTED: Record<ScenarioName, Record<BugMode, Expected[]>> = {
  healthy: { buggy: [], fixed: [] },
  'quickwit-dangling-shards': { buggy: [DANGLING], fixed: [] },
  'milvus-wal-close-blocked': { buggy: [CLOSE_BLOCKED], fixed: [] },
  'greptime-ddl-backlog': { buggy: times(DDL_TABLES, DDL_PILE), fixed: times(DDL_TABLES, DDL_RETRYING) },
  'tikv-stale-prepared-region': { buggy: [STALE_PREPARED], fixed: [] },
  'fluvio-out-of-space-reverted': { buggy: [ONLINE_FULL], fixed: [] },
  'incident-all': {
    buggy: [DANGLING, CLOSE_BLOCKED, ...times(DDL_TABLES, DDL_PILE), STALE_PREPARED, ONLINE_FULL],
    fixed: times(DDL_TABLES, DDL_RETRYING),
  },
};

function simulated(scenario: ScenarioName, bugs: BugMode): ClusterModel {
  const sim = new Simulator();
  sim.reset({ scenario, seed: 1, bugs });
  return modelFrom(sim.status(), (c) => sim.entities(c));
}

function repairsOf(item: StuckItem): string[] {
  return item.chain.flatMap((s, i) => (s.repair ? [`${i}:${s.repair.findingId.split(':')[0]}:${s.repair.repairId}`] : []));
}

/** Pairs each item with an expectation it meets (each expectation used once); says what is left over on either side. */
function unmatched(items: readonly StuckItem[], expected: readonly Expected[]): string[] {
  const left = [...expected];
  const extra: string[] = [];
  for (const item of items) {
    const text = chainText(item.chain);
    const at = left.findIndex((e) => e.chain.test(text) && JSON.stringify(e.repairs) === JSON.stringify(repairsOf(item)));
    if (at < 0) extra.push(`unexpected: ${text} [${repairsOf(item).join(', ')}]`);
    else left.splice(at, 1);
  }
  return [...extra, ...left.map((e) => `missing: ${e.chain.source} [${e.repairs.join(', ')}]`)];
}

describe('stuck work', () => {
  for (const scenario of SCENARIOS) {
    for (const bugs of ['buggy', 'fixed'] as const) {
      const expected = EXPECTED[scenario][bugs];
      it(`${scenario} (${bugs}): ${expected.length ? `${expected.length} stuck item(s), each with its chain` : 'nothing is stuck'}`, () => {
        const model = simulated(scenario, bugs);
        const findings = runChecks(model);
        const work = StuckWork.parse(stuckWork(model, findings));
        assert.equal(work.time, model.status.time);
        assert.deepEqual(unmatched(work.items, expected), []);
        // Oldest first; each age is the cluster's time minus the item's own timestamp.
        for (let i = 1; i < work.items.length; i++)
          assert.ok((work.items[i - 1]!.since ?? Infinity) <= (work.items[i]!.since ?? Infinity), 'oldest first');
        for (const item of work.items) {
          assert.equal(item.since, item.chain[0]!.since ?? item.since);
          assert.equal(item.age, item.since === null ? null : model.status.time - item.since);
          // Every repair offered is one of a current finding, by the id a repair request names.
          for (const s of item.chain) {
            if (!s.repair) continue;
            const f = findings.find((x) => x.id === s.repair!.findingId);
            assert.ok(
              f?.repairs.some((r) => r.id === s.repair!.repairId && r.title === s.repair!.title),
              `${s.repair.findingId} offers ${s.repair.repairId}`,
            );
          }
        }
      });
    }
  }

  it('gives the ages the entities record: 600 s for the node asked to stop at t=10, none for the region cache', () => {
    const work = stuckWork(simulated('incident-all', 'buggy'));
    const close = work.items.find((i) => i.id.startsWith('wal:close:'))!;
    assert.equal(close.since, 10);
    assert.equal(close.age, work.time - 10);
    assert.match(close.chain[0]!.detail, /^Terminating for 10m\d+s \(grace 30s\): closing WAL/);
    const region = work.items.find((i) => i.subsystem === 'regions')!;
    assert.equal(region.age, null);
    assert.equal(work.items[work.items.length - 1], region, 'unknown ages come last');
  });

  for (const [clock, start, since] of [
    ['the simulator', 10, 't=10 s'],
    // A gateway's times are wall-clock Unix seconds: a shard id's ULID time (2023-11-14 22:23:30 UTC), the status's now.
    ['a gateway', 1700000610, '2023-11-14 22:23:30 UTC'],
  ] as const) {
    it(`on ${clock}, says how long and since when on the cluster's clock (${since})`, () => {
      const b = F.model({ scenario: clock === 'a gateway' ? 'gateway' : 'incident-all', time: start + 632 });
      b.add('quickwit.metastore.shards', F.metastoreShard('d1', { createdAt: start }), F.metastoreShard('d2', { createdAt: start + 5 }));
      const work = stuckWork(b.build(), runChecks(b.build()));
      assert.equal(work.scenario, b.build().status.scenario);
      const [item, ...rest] = work.items;
      assert.equal(rest.length, 0);
      assert.equal(item!.age, 632);
      assert.equal(`Stuck for ${ageText(item!)}`, 'Stuck for 10m32s');
      assert.equal(item!.chain[0]!.detail, `2 open in the metastore since ${since}; no ingester holds them`);
      assert.equal(sinceText(item!.chain[0]!, work), `since ${since}`);
    });
  }

  it('offers no repair without the findings that carry it', () => {
    const work = stuckWork(simulated('incident-all', 'buggy'));
    assert.ok(work.items.length > 0);
    assert.deepEqual(work.items.flatMap(repairsOf), []);
  });

  it('aggregates 10,000 dangling shards of one source into one item, apart from those the control plane retries', () => {
    const b = F.model();
    for (let i = 0; i < 10_000; i++) b.add('quickwit.metastore.shards', F.metastoreShard(`d${i}`, { createdAt: 500 + (i % 50) }));
    b.add(
      'quickwit.metastore.shards',
      F.metastoreShard('known', { createdAt: 990 }),
      F.metastoreShard('closed', { shardState: 'closed', createdAt: 1 }),
    );
    b.add('quickwit.controlPlane.shards', F.controlPlaneShard('known'));
    F.healthyShard(b, 'live');
    const work = stuckWork(b.build(), runChecks(b.build()));
    assert.deepEqual(
      work.items.map((i) => [i.id, chainText(i.chain), i.age]),
      [
        [
          `shards:dangling:${F.INDEX}/${F.SOURCE}`,
          `shards(${F.INDEX}/${F.SOURCE}) ×10,000 ← init_shards(ingester-1) ← control plane(epoch 3)`,
          500,
        ],
        [`shards:uninitialised:${F.INDEX}/${F.SOURCE}`, `shards(${F.INDEX}/${F.SOURCE}) ← init_shards(ingester-1)`, 10],
      ],
    );
    assert.equal(work.items[0]!.chain[0]!.count, 10_000);
    assert.deepEqual(repairsOf(work.items[1]!), [], 'the control plane is on it: nothing to repair');
  });

  it('lists appends waiting on recovery without a close, and a procedure still running, with nothing to repair', () => {
    const b = F.model({ time: 200 });
    b.add('milvus.nodes', F.streamingNode(2));
    b.add('milvus.wals', F.wal(2, 'ch-3', { recovering: true, inFlightAppends: 2 }), F.wal(2, 'ch-4', { inFlightAppends: 1 }));
    b.add(
      'milvus.appends',
      F.append(2, 'ch-3', 'a1', { startedAt: 40 }),
      F.append(2, 'ch-3', 'a2', { startedAt: 30 }),
      F.append(2, 'ch-4', 'a3', { phase: 'writing' }),
    );
    b.add('greptime.procedures', F.procedure('p1', { startTime: 150 }), F.procedure('p2', { status: 'Done', startTime: 1 }));
    const work = stuckWork(b.build(), runChecks(b.build()));
    assert.deepEqual(
      work.items.map((i) => [chainText(i.chain), i.age, repairsOf(i)]),
      [
        ['append(ch-3) ×2 ← recovery(ch-3)', 170, []],
        ['CreateTable(greptime.public.metrics) ← metasrv(Running)', 50, []],
      ],
    );
  });

  it('lists a partition OutOfStorage whose SPU reports space free, with nothing to repair', () => {
    const b = F.model();
    b.add('fluvio.partitions', F.partition('events', 0, { resolution: 'OutOfStorage' }), F.partition('events', 1));
    b.add('fluvio.spuReports', F.spuReport(5001, 'events', 0, { reportedAt: 700 }), F.spuReport(5001, 'events', 1));
    const work = stuckWork(b.build(), runChecks(b.build()));
    assert.deepEqual(
      work.items.map((i) => [i.id, chainText(i.chain), i.age, repairsOf(i)]),
      [['partitions:OutOfStorage:events', 'partition(events-0) ← report(spu-5001)', 300, []]],
    );
    assert.match(work.items[0]!.chain[1]!.detail, /storage not full/);
  });
});
