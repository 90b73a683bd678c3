/**
 * Undo through `cluster-gateway` on the real stores: the undo's re-creates and
 * restores are compare-and-swaps on PostgreSQL (Quickwit's metastore) and on
 * the SC's metadata files (Fluvio). A repair then its undo gives back the same
 * entities with the same fields; an entity another writer changed since the
 * repair is refused and left as that writer made it.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ClusterClient } from '../../src/cluster/client';
import { decodePartitionFile } from '../../src/codecs/fluvio';
import { scWrite as scWriteOf } from './fluvio-sc';
import { parseJournal, repairHistory } from '../../src/engine/journal';
import { startSim, type RunningSim } from '../server/sim';
import { cli } from '../cli/cliProcess';
import { entityState, type State } from '../cli/state';
import { startGateway, type RunningGateway } from './gateway';
import { postgresAvailable, startPostgres, type TestPostgres } from './postgres';
import { removeTestDir, testSecret } from '../secrets';

/** The gateway's token (test/secrets.ts: a whole test run is searched for it). */
const TOKEN = testSecret('gateway');

async function gatewayState(gw: RunningGateway, token: string): Promise<State> {
  const client = await ClusterClient.connect({ url: gw.url, token, clientName: 'journal-test' });
  try {
    return await entityState((c) => client.listAll(c));
  } finally {
    client.close();
  }
}

function history(journal: string) {
  const read = parseJournal(readFileSync(journal, 'utf8'));
  assert.deepEqual(read.problems, []);
  return repairHistory(read.lines);
}

async function sql(url: string, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

describe('journal and undo through cluster-gateway (real stores)', function () {
  this.timeout(180_000);
  let dir: string;
  let sim: RunningSim | undefined;
  const stops: Array<() => Promise<void>> = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'journal-gw-'))));
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await sim?.stop();
    sim = undefined;
    removeTestDir(dir);
  });

  async function repairThenUndo(url: string, token: string, rule: string, between?: () => Promise<void>) {
    const journal = join(dir, 'repairs.jsonl');
    const repair = await cli([url, '--token', token, '--repair', rule, '--yes', '--journal', journal]);
    assert.ok(repair.code === 0 || repair.code === 1, repair.stdout + repair.stderr);
    const [entry] = history(journal);
    assert.ok(
      entry.batches.some((b) => b.state === 'applied'),
      `${entry.summary}`,
    );
    await between?.();
    const undo = await cli(['undo', '--journal', journal, '--token', token, '--yes']);
    return { undo, journal };
  }

  describe('quickwit: PostgreSQL metastore', () => {
    let pg: TestPostgres;
    before(async function () {
      if (!postgresAvailable()) throw new Error('PostgreSQL 15 is not installed (scripts/setup-test-deps.sh installs it)');
      pg = await startPostgres();
    });
    after(async () => {
      await pg?.stop();
    });

    async function setup(name: string) {
      const db = await pg.createDatabase(name);
      sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1', '--postgres', db]);
      const node = sim.url.replace(/^ws:/, 'http:');
      const gw = await startGateway({ quickwit: { postgres: db, node }, repairs: true, pollMs: 500 }, { token: TOKEN, deadlineMs: 60_000 });
      stops.push(gw.stop);
      return { db, gw };
    }
    const ROWS =
      'SELECT index_uid, source_id, shard_id, leader_id, follower_id, shard_state::text, publish_position_inclusive, publish_token, doc_mapping_uid FROM shards ORDER BY 1, 2, 3';

    it('a repair and its undo give back every row and entity, field for field', async () => {
      const { db, gw } = await setup('jundo');
      const rows = await sql(db, ROWS);
      const before = await gatewayState(gw, TOKEN);
      const { undo } = await repairThenUndo(gw.url, TOKEN, 'shards/dangling');
      assert.equal(undo.code, 0, undo.stdout + undo.stderr);
      assert.deepEqual(await sql(db, ROWS), rows, 'the metastore rows are back as they were');
      assert.deepEqual(await gatewayState(gw, TOKEN), before, 'and so are the entities the gateway serves');
    });

    it('a row another writer re-created since the repair is refused and left as the writer made it', async () => {
      const { db, gw } = await setup('jrefuse');
      let taken = '';
      const { undo } = await repairThenUndo(gw.url, TOKEN, 'shards/dangling', async () => {
        const [row] = await sql(db, 'SELECT 1 FROM shards LIMIT 1');
        assert.ok(row);
        // Take one key the repair deleted (from the journal) and re-create it with another leader.
        const read = parseJournal(readFileSync(join(dir, 'repairs.jsonl'), 'utf8'));
        const result = read.lines.find((l) => l.type === 'result' && l.applied.length > 0);
        assert.ok(result && result.type === 'result');
        taken = result.applied[0]!.key;
        const [i, s, h] = taken.split('/');
        const image = read.lines.flatMap((l) => (l.type === 'intent' ? l.before : [])).find((b) => b.key === taken)!.entity as {
          docMappingUid: string;
        };
        await sql(
          db,
          "INSERT INTO shards (index_uid, source_id, shard_id, leader_id, shard_state, publish_position_inclusive, doc_mapping_uid) VALUES ($1, $2, $3, 'other-writer', 'open', '', $4)",
          [i, s, h, image.docMappingUid],
        );
      });
      assert.equal(undo.code, 1, undo.stdout);
      assert.match(undo.stdout, /refused [1-9]/);
      assert.match(undo.stdout, new RegExp(`${taken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*exists again`));
      const [i, s, h] = taken.split('/');
      const rows = await sql(db, 'SELECT leader_id FROM shards WHERE index_uid = $1 AND source_id = $2 AND shard_id = $3', [i, s, h]);
      assert.deepEqual(rows, [{ leader_id: 'other-writer' }], 'the writer’s row survives');
    });
  });

  describe('fluvio: the SC metadata files', () => {
    async function setup() {
      const meta = join(dir, 'metadata');
      sim = await startSim(['--scenario', 'fluvio-out-of-space-reverted', '--seed', '1', '--fluvio-metadata', meta]);
      const spuStorage = readdirSync(join(meta, '.cluster-sim')).map((f) => ({
        spuId: Number(/spu-(\d+)/.exec(f)![1]),
        file: join(meta, '.cluster-sim', f),
        fullBelowBytes: 0,
      }));
      const gw = await startGateway({ fluvio: { metadataDir: meta, spuStorage }, repairs: true, pollMs: 200 }, { token: TOKEN });
      stops.push(gw.stop);
      return { meta, gw };
    }

    it('a repair and its undo give back every partition, field for field', async () => {
      const { gw } = await setup();
      const before = await gatewayState(gw, TOKEN);
      const { undo } = await repairThenUndo(gw.url, TOKEN, 'partitions/online-out-of-space');
      assert.equal(undo.code, 0, undo.stdout + undo.stderr);
      assert.deepEqual(await gatewayState(gw, TOKEN), before);
    });

    it('a partition file the SC rewrote since the repair is refused and left as the SC wrote it', async () => {
      const { meta, gw } = await setup();
      let moved = '';
      let scWrite = '';
      const { undo } = await repairThenUndo(gw.url, TOKEN, 'partitions/online-out-of-space', async () => {
        const read = parseJournal(readFileSync(join(dir, 'repairs.jsonl'), 'utf8'));
        const result = read.lines.find((l) => l.type === 'result' && l.applied.length > 0);
        assert.ok(result && result.type === 'result');
        moved = result.applied[0]!.key;
        const file = join(meta, 'Partition', `${moved}.yaml`);
        const d = decodePartitionFile(readFileSync(file, 'utf8'));
        assert.ok(d.ok);
        scWrite = scWriteOf(readFileSync(file, 'utf8'), 'LeaderOffline');
        writeFileSync(file, scWrite);
      });
      assert.equal(undo.code, 1, undo.stdout);
      assert.match(undo.stdout, new RegExp(`refused ${moved}: Partition/${moved}\\.yaml changed since the plan`));
      assert.equal(readFileSync(join(meta, 'Partition', `${moved}.yaml`), 'utf8'), scWrite, 'the SC’s write survives');
    });
  });
});
