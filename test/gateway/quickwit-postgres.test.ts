/**
 * The Quickwit metastore in a real PostgreSQL 15: the simulator's mirror
 * writes it in the upstream schema, the gateway's source polls it (measured),
 * and end to end `cluster-sim --postgres` → `cluster-gateway` → `cluster-check`
 * finds the incident and repairs it with conditional deletes.
 */
import * as assert from 'node:assert/strict';
import { Client } from 'pg';
import { COLLECTION_NAMES, keys, summariseCollection, summariseCollections } from '../../src/protocol';
import { ClusterClient } from '../../src/cluster/client';
import { decodeDebugInfo } from '../../src/codecs/quickwit';
import { QuickwitSource } from '../../src/gateway/sources/quickwit';
import { Simulator } from '../../src/simulator/simulator';
import { PostgresMirror } from '../../src/simulator/mirrors/postgres';
import { SCENARIO_RULES } from '../scenarioRules';
import { startSim, type RunningSim } from '../server/sim';
import { snapshot } from '../sim/helpers';
import { cli } from '../cli/cliProcess';
import { startGateway } from './gateway';
import { fakeContext } from './fake-context';
import { postgresAvailable, startPostgres, type TestPostgres } from './postgres';
import { testSecret } from '../secrets';

/** The gateway's token (test/secrets.ts: a whole test run is searched for it). */
const TOKEN = testSecret('gateway');

async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

describe('quickwit metastore in a real PostgreSQL', function () {
  this.timeout(180_000);
  let pg: TestPostgres;
  before(async function () {
    if (!postgresAvailable()) throw new Error('PostgreSQL 15 is not installed (scripts/setup-test-deps.sh installs it)');
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });

  it('mirrors 50,000 shards in batches and polls them incrementally (measured)', async () => {
    const url = await pg.createDatabase('qw50k');
    const sim = new Simulator();
    sim.reset({ scenario: 'quickwit-dangling-shards', seed: 1, size: { danglingShards: 50_000 } });
    const expected = [...sim.entities('quickwit.metastore.shards')];
    const mirror = new PostgresMirror(url);
    await mirror.sync(sim);
    await mirror.close();
    const [{ n }] = await query<{ n: string }>(url, 'SELECT count(*) AS n FROM shards');
    assert.equal(Number(n), expected.length);
    console.log(`      mirror sync: ${mirror.lastSync.shards} shards in ${mirror.lastSync.ms} ms`);

    const source = new QuickwitSource({ postgres: url, node: 'http://127.0.0.1:9/' }, 600_000);
    const f = fakeContext();
    await source.start(f.ctx);
    try {
      const full = source.lastPoll!;
      assert.equal(full.kind, 'full');
      assert.equal(f.m('quickwit.metastore.shards').size, expected.length);
      // The node is unreachable: unavailable, with the reason; the metastore was still read.
      assert.equal(f.health().state, 'unavailable');
      assert.match(f.health().reason!, /node http:\/\/127\.0\.0\.1:9\//);
      const sample = expected[123]!;
      const mirrored = f.m('quickwit.metastore.shards').get(sample.key) as typeof sample;
      // update_timestamp: the time of the mirror's write (as open_shards sets it); the simulator has none.
      assert.equal(typeof mirrored.updateTimestamp, 'number');
      assert.deepEqual({ ...mirrored, version: 0, createdAt: 0, updateTimestamp: null }, { ...sample, version: 0, createdAt: 0 });

      await source.pollOnce();
      const quiet = source.lastPoll!;
      assert.equal(quiet.kind, 'incremental');
      assert.ok(quiet.rowsRead < 100, `a quiet poll re-read ${quiet.rowsRead} rows`);
      assert.equal(quiet.keysSwept, 0);

      const before = f.m('quickwit.metastore.shards').get(sample.key)!.version;
      await query(
        url,
        `UPDATE shards SET publish_position_inclusive = '00000000000000000100' WHERE shard_id IN (SELECT shard_id FROM shards ORDER BY shard_id LIMIT 100)`,
      );
      await source.pollOnce();
      const changed = source.lastPoll!;
      assert.ok(changed.rowsRead >= 100 && changed.rowsRead < 1000, `read ${changed.rowsRead} rows after 100 updates`);
      const first = (
        await query<{ k: string }>(
          url,
          "SELECT index_uid || '/' || source_id || '/' || shard_id AS k FROM shards ORDER BY shard_id LIMIT 1",
        )
      )[0]!.k;
      assert.equal(
        (f.m('quickwit.metastore.shards').get(first) as unknown as { publishPositionInclusive: string }).publishPositionInclusive,
        '~00000000000000000100',
      );
      if (sample.key !== first) assert.equal(f.m('quickwit.metastore.shards').get(sample.key)!.version, before);

      const gone = await query<{ i: string; s: string; h: string }>(
        url,
        'DELETE FROM shards WHERE shard_id IN (SELECT shard_id FROM shards ORDER BY shard_id DESC LIMIT 10) RETURNING index_uid AS i, source_id AS s, shard_id AS h',
      );
      await query(
        url,
        `INSERT INTO shards (index_uid, source_id, shard_id, leader_id, publish_position_inclusive, doc_mapping_uid) SELECT index_uid, 'src', 'bad', 'x', 'garbage', '0' FROM indexes LIMIT 1`,
      );
      await source.pollOnce();
      const swept = source.lastPoll!;
      assert.equal(swept.keysSwept, expected.length - 10 + 1);
      for (const g of gone) assert.equal(f.m('quickwit.metastore.shards').has(keys.shard(g.i, g.s, g.h)), false);
      const bad = f.unreadable.get('quickwit.metastore.shards') ?? [];
      assert.equal(bad.length, 1);
      assert.match(bad[0]!.reason, /"garbage" is not a position/);
      console.log(
        `      source polls over ${expected.length} rows: full ${full.ms} ms, quiet ${quiet.ms} ms (${quiet.rowsRead} rows), ` +
          `100 updated ${changed.ms} ms (${changed.rowsRead} rows), 10 deleted ${swept.ms} ms (${swept.keysSwept} keys swept)`,
      );
    } finally {
      await source.close();
    }
  });

  it('counts the metastore with one GROUP BY before any row is read (the summary a gateway gives while it reads)', async () => {
    const url = await pg.createDatabase('qwsummary');
    const sim = new Simulator();
    sim.reset({ scenario: 'incident-all', seed: 4, size: { danglingShards: 6_000, liveShards: 50 } });
    sim.tick(3);
    const mirror = new PostgresMirror(url);
    await mirror.sync(sim);
    await mirror.close();
    const source = new QuickwitSource({ postgres: url, node: 'http://127.0.0.1:9/' }, 600_000);
    try {
      const counted = await source.summary();
      assert.equal(source.lastPoll, undefined, 'no poll (no full read) happened');
      assert.deepEqual(Object.keys(counted), ['quickwit.metastore.shards']);
      assert.deepEqual(
        counted['quickwit.metastore.shards'],
        summariseCollection('quickwit.metastore.shards', sim.entities('quickwit.metastore.shards')),
      );
    } finally {
      await source.close();
    }
  });

  it('an unreachable PostgreSQL or a refused login: unavailable with the reason, retried', async () => {
    const down = new QuickwitSource({ postgres: 'postgres://postgres@127.0.0.1:9/x', node: 'http://127.0.0.1:9/' }, 100);
    const f = fakeContext();
    await down.start(f.ctx);
    assert.equal(f.health().state, 'unavailable');
    assert.match(f.health().reason!, /PostgreSQL metastore: .*ECONNREFUSED/);
    await down.close();
    const refused = new QuickwitSource({ postgres: pg.url.replace('postgres@', 'nobody@'), node: 'http://127.0.0.1:9/' }, 100);
    const g = fakeContext();
    await refused.start(g.ctx);
    assert.match(g.health().reason!, /PostgreSQL metastore: role "nobody" does not exist/);
    await refused.close();
    // passwordEnv that is not set: a config error in words.
    const noEnv = new QuickwitSource(
      { postgres: { connectionString: pg.url, passwordEnv: 'CD_TEST_UNSET_PASSWORD' }, node: 'http://127.0.0.1:9/' },
      100,
    );
    const h = fakeContext();
    await noEnv.start(h.ctx);
    assert.match(h.health().reason!, /CD_TEST_UNSET_PASSWORD/);
    await noEnv.close();
  });

  describe('end to end: cluster-sim --postgres → cluster-gateway → cluster-check', () => {
    let sim: RunningSim;
    let db: string;
    const stops: (() => Promise<void>)[] = [];
    before(async () => {
      db = await pg.createDatabase('qwe2e');
      sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1', '--postgres', db]);
    });
    after(async () => {
      for (const s of stops.splice(0)) await s();
      await sim?.stop();
    });
    const node = () => sim.url.replace(/^ws:/, 'http:');

    /** The metastore keys that are dangling as the simulator's own debug route shows its control plane and ingesters. */
    async function dangling(): Promise<string[]> {
      const d = decodeDebugInfo(await (await fetch(`${node()}/api/developer/debug`)).json());
      const known = new Set([
        ...d.controlPlane.map((s) => s.key),
        ...d.ingesterShards.map((s) => keys.shard(s.indexUid, s.sourceId, s.shardId)),
      ]);
      const rows = await query<{ k: string }>(
        db,
        "SELECT index_uid || '/' || source_id || '/' || shard_id AS k FROM shards WHERE shard_state <> 'closed' AND publish_position_inclusive = ''",
      );
      return rows
        .map((r) => r.k)
        .filter((k) => !known.has(k))
        .sort();
    }

    it('the gateway reports the same rule ids as the simulator', async () => {
      const gw = await startGateway({ quickwit: { postgres: db, node: node() }, pollMs: 500 }, { token: TOKEN, deadlineMs: 60_000 });
      stops.push(gw.stop);
      const direct = await cli([sim.url, '--format', 'json'], { CLUSTER_SIM_TOKEN: sim.token });
      const through = await cli([gw.url, '--token', TOKEN, '--format', 'json']);
      const rules = (r: { stdout: string }) =>
        [...new Set((JSON.parse(r.stdout) as { findings: { rule: string }[] }).findings.map((f) => f.rule))].sort();
      assert.deepEqual(rules(through), rules(direct));
      assert.deepEqual(rules(through), [...SCENARIO_RULES['quickwit-dangling-shards']]);
      const count = (r: { stdout: string }) => (JSON.parse(r.stdout) as { counts: Record<string, number> }).counts['shards/dangling'];
      assert.equal(count(through), count(direct));
      assert.equal(count(through), (await dangling()).length);
    });

    it("the gateway's cluster.summary equals the counts of a full sync through it", async () => {
      const gw = await startGateway({ quickwit: { postgres: db, node: node() }, pollMs: 600_000 }, { token: TOKEN, deadlineMs: 60_000 });
      stops.push(gw.stop);
      const client = await ClusterClient.connect({ url: gw.url, token: TOKEN, clientName: 'summary-test' });
      try {
        assert.deepEqual(client.init.methods, ['cluster.summary']);
        const summary = await client.request('cluster.summary', {});
        const full = await snapshot(client, 5000);
        assert.deepEqual(summary.collections, summariseCollections(full));
        assert.ok(summary.collections['quickwit.metastore.shards']!.total > 0);
        assert.equal(COLLECTION_NAMES.length, Object.keys(summary.collections).length, 'every collection counted (the source has read)');
      } finally {
        client.close();
      }
    });

    it('"repairs": false refuses every repair and changes no row', async () => {
      const gw = await startGateway({ quickwit: { postgres: db, node: node() }, repairs: false }, { token: TOKEN, deadlineMs: 60_000 });
      stops.push(gw.stop);
      const before = await query(db, 'SELECT index_uid, source_id, shard_id, xmin::text AS v FROM shards ORDER BY 1, 2, 3');
      const run = await cli([gw.url, '--token', TOKEN, '--repair', 'shards/dangling', '--yes']);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout + run.stderr, /read-only/);
      assert.doesNotMatch(run.stdout, /[1-9]\d* applied/);
      assert.deepEqual(await query(db, 'SELECT index_uid, source_id, shard_id, xmin::text AS v FROM shards ORDER BY 1, 2, 3'), before);
    });

    it('--repair shards/dangling --yes deletes the dangling rows; rows a writer published meanwhile survive, refused', async () => {
      // pollMs long: the gateway plans on what it read at start, and the writer's updates land after that.
      const gw = await startGateway(
        { quickwit: { postgres: db, node: node() }, repairs: true, pollMs: 600_000 },
        { token: TOKEN, deadlineMs: 60_000 },
      );
      stops.push(gw.stop);
      const targets = await dangling();
      assert.ok(targets.length > 10, `${targets.length} dangling shards`);
      const rowsBefore = Number((await query<{ n: string }>(db, 'SELECT count(*) AS n FROM shards'))[0]!.n);
      const published = targets.filter((_, i) => i % 50 === 7);
      for (const k of published) {
        const [i, s, h] = k.split('/');
        await query(
          db,
          "UPDATE shards SET publish_position_inclusive = '00000000000000000042', publish_token = 'indexer-7:writer' WHERE index_uid = $1 AND source_id = $2 AND shard_id = $3",
          [i, s, h],
        );
      }
      const run = await cli([gw.url, '--token', TOKEN, '--repair', 'shards/dangling', '--yes']);
      assert.match(
        run.stdout,
        new RegExp(`applied ${targets.length - published.length}; refused ${published.length}`),
        run.stdout + run.stderr,
      );
      // The restart is refused by the gateway up front (no API for it): Repair All Safe does not send it.
      assert.doesNotMatch(run.stdout, /Restart the control plane[^\n]*: applied/);
      assert.match(run.stdout, /changed since the plan/);
      // In PostgreSQL: every planned dangling row is gone except the published ones, which are untouched.
      const left = new Set(
        (await query<{ k: string }>(db, "SELECT index_uid || '/' || source_id || '/' || shard_id AS k FROM shards")).map((r) => r.k),
      );
      for (const k of targets) assert.equal(left.has(k), published.includes(k), k);
      assert.equal(left.size, rowsBefore - targets.length + published.length);
      const kept = await query<{ p: string }>(
        db,
        "SELECT publish_position_inclusive AS p FROM shards WHERE publish_token = 'indexer-7:writer'",
      );
      assert.equal(kept.length, published.length);
      assert.ok(kept.every((r) => r.p === '00000000000000000042'));
      // The finding is cleared but for the rows the writer published.
      const after = await cli([gw.url, '--token', TOKEN, '--format', 'json']);
      const report = JSON.parse(after.stdout) as { counts: Record<string, number> };
      assert.equal(report.counts['shards/dangling'] ?? 0, published.length);
    });
  });
});
