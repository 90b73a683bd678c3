/**
 * Conformance of the Quickwit source with upstream's own artifacts (test/fixtures/upstream/quickwit,
 * see its README): the real migrations applied to a real PostgreSQL (1–28, and Quickwit 0.8's 1–16,
 * before `doc_mapping_uid`), rows written by upstream's own SQL (`queries/shards/*.sql`), and the
 * debug route's JSON in the main and v0.9.0 shapes served by a real HTTP server, with the error and
 * not-ready answers upstream gives. What a user sees is asserted: the findings, the "not checked"
 * notes, the version, the refusals, and the metastore after a repair and its undo.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { runChecks } from '../../src/analysis/checks';
import { keys, ruleNotes, type Finding, type MetastoreShard } from '../../src/protocol';
import { QuickwitSource } from '../../src/gateway/sources/quickwit';
import { ROOT } from '../server/sim';
import { fakeContext } from './fake-context';
import { postgresAvailable, startPostgres, type TestPostgres } from './postgres';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'upstream', 'quickwit');
const MIGRATIONS = join(FIXTURES, 'migrations', 'postgresql');
const QUERY = (name: string) => readFileSync(join(FIXTURES, 'queries', 'shards', `${name}.sql`), 'utf8');
const DEBUG = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, 'debug', `${name}.json`), 'utf8'));

const INDEX = 'test-index:00000000000000000000000000';
const SOURCE = '_ingest-source';
const DOC_MAPPING = '00000000000000000000000000';
/** The shards the debug fixtures' control plane and ingesters know: (id, state, leader, publish position). */
const KNOWN: [string, 'open' | 'closed', string, string][] = [
  ['00000000000000000000', 'open', 'test-ingester', ''],
  ['00000000000000000001', 'open', 'test-ingester-2', '00000000000000000041'],
  ['00000000000000000002', 'closed', 'test-ingester', '~00000000000000000099'],
];

/** `_sqlx_migrations` as sqlx-postgres creates it (`migrate.rs`, `ensure_migrations_table`). */
const SQLX_MIGRATIONS = `CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)`;

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Applies upstream's migrations 1..upTo as sqlx's migrator does: each in a transaction, recorded with its SHA-384. */
async function migrate(url: string, upTo: number): Promise<void> {
  const files = readdirSync(MIGRATIONS)
    .map((f) => ({ f, n: Number(/^(\d+)_/.exec(f)![1]) }))
    .filter(({ n }) => n <= upTo)
    .sort((a, b) => a.n - b.n);
  await withClient(url, async (c) => {
    await c.query(SQLX_MIGRATIONS);
    for (const { f, n } of files) {
      const sql = readFileSync(join(MIGRATIONS, f), 'utf8');
      await c.query('BEGIN');
      await c.query(sql);
      await c.query('INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, true, $3, 0)', [
        n,
        f
          .replace(/^\d+_/, '')
          .replace(/\.up\.sql$/, '')
          .replace(/_/g, ' '),
        createHash('sha384').update(sql).digest(),
      ]);
      await c.query('COMMIT');
    }
    await c.query("INSERT INTO indexes (index_uid, index_id, index_metadata_json) VALUES ($1, 'test-index', '{}')", [INDEX]);
  });
}

/** Upstream's own `insert.sql` (`ReadWriteShardsForTest::insert_shards`), on a schema with migrations 20 and 21. */
async function insertShard(
  url: string,
  shardId: string,
  state: string,
  leader: string,
  publish: string,
  updateTimestamp: number,
): Promise<void> {
  await withClient(url, (c) =>
    c.query(QUERY('insert'), [
      INDEX,
      SOURCE,
      shardId,
      state,
      leader,
      null,
      DOC_MAPPING,
      publish,
      null,
      new Date(updateTimestamp * 1000).toISOString().replace('Z', ''),
    ]),
  );
}

/** Upstream's `open.sql` (`open_or_fetch_shard`): `n` freshly opened shards, as the control plane's `open_shards` leaves them. */
async function openShards(url: string, n: number, from = 0): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `01J0Q${String(from + i).padStart(21, '0')}`);
  await withClient(url, async (c) => {
    // Whole seconds: upstream's `Shard.update_timestamp` (and so a journalled entity) keeps seconds.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('Z', '');
    for (const id of ids) await c.query(QUERY('open'), [INDEX, SOURCE, id, 'test-ingester', null, DOC_MAPPING, null, now]);
  });
  return ids;
}

/** What Quickwit 0.8 writes (migrations 1–16, no doc_mapping_uid nor update_timestamp): `open_shards`'s INSERT at v0.8.2. */
const OPEN_V08 = readFileSync(join(FIXTURES, 'queries', 'shards', 'v0.8.2', 'open.sql'), 'utf8');
/** A debug body that makes the server answer 404, as a Quickwit without the developer API does. */
const NOT_FOUND = Symbol('404');

/** A real HTTP server answering `GET /api/developer/debug` with `body()` (switchable between requests). */
async function debugServer(body: () => unknown): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/api/developer/debug' || body() === NOT_FOUND) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const SOURCE_COLLECTIONS = [
  'quickwit.metastore.shards',
  'quickwit.controlPlane.shards',
  'quickwit.ingester.shards',
  'quickwit.ingesters',
] as const;

/** One read of the source over `pg` and `node`: the findings and notes a user sees for the shards subsystem. */
async function readOnce(pgUrl: string, node: string) {
  const source = new QuickwitSource({ postgres: pgUrl, node }, 600_000);
  const f = fakeContext(SOURCE_COLLECTIONS);
  await source.start(f.ctx);
  const model = f.model('shards');
  const findings: Finding[] = runChecks(model, { subsystem: 'shards' });
  return { source, f, findings, notes: ruleNotes('shards', model.status), status: model.status };
}

const rules = (fs: readonly Finding[]) => fs.map((x) => `${x.rule} ${x.count}`);

describe('quickwit conformance with upstream artifacts (real PostgreSQL, real HTTP)', function () {
  this.timeout(120_000);
  let pg: TestPostgres;
  let debugBody: unknown = DEBUG('main');
  let node: { url: string; close(): Promise<void> };
  let n = 0;
  const db = async (upTo = 28) => {
    const url = await pg.createDatabase(`qwup${n++}`);
    await migrate(url, upTo);
    return url;
  };
  /** The healthy metastore of the debug fixtures, written with upstream's insert.sql. */
  const healthy = async () => {
    const url = await db();
    for (const [id, state, leader, publish] of KNOWN) await insertShard(url, id, state, leader, publish, 1_724_158_996);
    return url;
  };

  before(async function () {
    if (!postgresAvailable()) throw new Error('PostgreSQL 15 is not installed (scripts/setup-test-deps.sh installs it)');
    pg = await startPostgres();
    node = await debugServer(() => debugBody);
  });
  after(async () => {
    await node?.close();
    await pg?.stop();
  });
  beforeEach(() => {
    debugBody = DEBUG('main');
  });

  for (const shape of ['main', 'v0.9.0'] as const) {
    it(`healthy (debug shape ${shape}, migrations 1–28): 0 findings, every rule checked, version from _sqlx_migrations`, async () => {
      debugBody = DEBUG(shape);
      const r = await readOnce(await healthy(), node.url);
      try {
        assert.deepEqual(r.f.unreadable.get('quickwit.ingesters') ?? [], []);
        assert.equal(r.f.m('quickwit.ingesters').size, 2, 'ready and retiring ingesters both decode');
        assert.deepEqual(rules(r.findings), []);
        assert.equal(r.f.health().state, 'ok');
        assert.deepEqual(r.f.version(), {
          system: 'Quickwit',
          version: '0.9.0 or a later main build (migration 28)',
          from: '_sqlx_migrations',
        });
        // 0.9 cannot have #5008 (fixed by #5029); #6531 is not fixed: orphaned is checked.
        assert.deepEqual(r.notes, [
          'shards/dangling: not applicable to Quickwit 0.9.0 or a later main build (migration 28) (fixed by #5029 (39161040c, first released in v0.9.0); affected: v0.7.0 (12_create-shards) to v0.8.2, and main builds before 39161040c)',
        ]);
        const m = r.f.m('quickwit.metastore.shards').get(keys.shard(INDEX, SOURCE, KNOWN[0]![0])) as MetastoreShard;
        assert.equal(m.updateTimestamp, 1_724_158_996);
        assert.equal(m.docMappingUid, DOC_MAPPING);
      } finally {
        await r.source.close();
      }
    });
  }

  /** The fixtures' shards and `extra` freshly opened ones, written with Quickwit 0.8's open.sql (then closed/published in place). */
  const v08Rows = async (url: string, extra: number) =>
    withClient(url, async (c) => {
      for (const [id, state, leader, publish] of KNOWN) {
        await c.query(OPEN_V08, [INDEX, SOURCE, id, leader, null]);
        await c.query('UPDATE shards SET shard_state = $2::SHARD_STATE, publish_position_inclusive = $3 WHERE shard_id = $1', [
          id,
          state,
          publish,
        ]);
      }
      for (let i = 0; i < extra; i++)
        await c.query(OPEN_V08, [INDEX, SOURCE, `01J0Q${String(i).padStart(21, '0')}`, 'test-ingester', null]);
    });

  it('Quickwit 0.8 (migrations 1–16, no developer debug route): the metastore is read, not refused; the rules say why they are not checked', async () => {
    const url = await db(16);
    await v08Rows(url, 500);
    debugBody = NOT_FOUND;
    const r = await readOnce(url, node.url);
    try {
      assert.equal(r.f.collections.get('quickwit.metastore.shards')?.state, 'ok');
      assert.equal(r.f.m('quickwit.metastore.shards').size, KNOWN.length + 500);
      assert.equal(r.f.version()?.version, '0.8.0 to 0.8.2 (migration 16)');
      const m = r.f.m('quickwit.metastore.shards').get(keys.shard(INDEX, SOURCE, KNOWN[1]![0])) as MetastoreShard;
      assert.equal(m.docMappingUid, '', 'not stored before migration 20');
      assert.equal(m.updateTimestamp, null, 'not stored before migration 21');
      assert.equal(m.publishPositionInclusive, '~00000000000000000041');
      assert.deepEqual(rules(r.findings), []);
      assert.equal(r.notes.length, 2, r.notes.join('\n'));
      for (const note of r.notes) assert.match(note, /not checked: .*HTTP 404: this Quickwit serves no developer debug route/);
    } finally {
      await r.source.close();
    }
  });

  it('incident on a main build before doc_mapping_uid (migrations 1–19): 500 shards unknown to the control plane are found', async () => {
    const url = await db(19);
    await v08Rows(url, 500);
    const r = await readOnce(url, node.url);
    try {
      assert.equal(r.f.version()?.version, '0.8.0-main: a main build after 0.8.0, before 0.9.0 (migration 19)');
      // Main builds at 17–19 are on either side of #5029: the rule runs.
      assert.deepEqual(r.notes, []);
      assert.deepEqual(rules(r.findings), ['shards/dangling 500']);
      assert.equal(r.findings[0]!.severity, 'error');
    } finally {
      await r.source.close();
    }
  });

  /** A metastore where shards/dangling applies (migration 19) with 50 shards the control plane does not know: found while all is read. */
  const incident = async () => {
    const url = await db(19);
    await v08Rows(url, 50);
    const control = await readOnce(url, node.url);
    await control.source.close();
    assert.deepEqual(rules(control.findings), ['shards/dangling 50']);
    return { url, dangling: Array.from({ length: 50 }, (_, i) => `01J0Q${String(i).padStart(21, '0')}`) };
  };

  it('a control plane that answers {"error": …}: its collection is unavailable, no shards/dangling, no delete', async () => {
    const { url, dangling } = await incident();
    debugBody = DEBUG('main-control-plane-error');
    const r = await readOnce(url, node.url);
    try {
      const h = r.f.collections.get('quickwit.controlPlane.shards');
      assert.equal(h?.state, 'unavailable');
      assert.match(h!.reason!, /control plane on control-plane-0 answered an error: message could not be delivered/);
      assert.deepEqual(rules(r.findings), []);
      assert.ok(
        r.notes.some((x) => /^shards\/orphaned not checked: control plane \(quickwit.controlPlane.shards\) unavailable/.test(x)),
        r.notes.join('\n'),
      );
      // A delete planned before the error is refused now, and nothing is deleted.
      const items = await r.source.repair(
        { command: 'quickwit.deleteShards', targets: dangling.map((id) => ({ key: keys.shard(INDEX, SOURCE, id), version: 0 })) },
        [],
      );
      assert.ok(items.every((i) => i.status === 'refused' && /which shards are live is not known now/.test(i.message ?? '')));
      const left = await withClient(url, (c) => c.query('SELECT count(*)::int AS n FROM shards'));
      assert.equal(left.rows[0].n, KNOWN.length + dangling.length);
    } finally {
      await r.source.close();
    }
  });

  it('no ready control plane, or an initializing ingester: unknown, not empty', async () => {
    const { url } = await incident();
    const noCp = DEBUG('main') as Record<string, unknown>;
    delete noCp['control-plane-0'];
    debugBody = noCp;
    let r = await readOnce(url, node.url);
    try {
      assert.match(r.f.collections.get('quickwit.controlPlane.shards')!.reason!, /no ready node answered with the control plane's part/);
      assert.deepEqual(rules(r.findings), []);
    } finally {
      await r.source.close();
    }
    debugBody = DEBUG('main-ingester-initializing');
    r = await readOnce(url, node.url);
    try {
      assert.match(r.f.collections.get('quickwit.ingester.shards')!.reason!, /ingester test-ingester-2 is initializing/);
      assert.deepEqual(rules(r.findings), []);
      assert.equal((r.f.m('quickwit.ingesters').get('test-ingester-2') as unknown as { status: string }).status, 'initializing');
    } finally {
      await r.source.close();
    }
    // An ingester in the control plane's pool whose node did not answer (the route leaves it out).
    const silent = DEBUG('main') as Record<string, unknown>;
    delete silent['test-ingester-2'];
    debugBody = silent;
    r = await readOnce(url, node.url);
    try {
      assert.match(
        r.f.collections.get('quickwit.ingesters')!.reason!,
        /ingester test-ingester-2 in the control plane's pool did not answer/,
      );
      assert.deepEqual(rules(r.findings), []);
    } finally {
      await r.source.close();
    }
  });

  it('a metastore that cannot be read: unavailable, and no shards/orphaned with reset advice', async () => {
    // The control: with the metastore read, the control plane's shards are all in it.
    const up = await readOnce(await healthy(), node.url);
    await up.source.close();
    assert.deepEqual(rules(up.findings), []);
    assert.ok(!up.notes.some((x) => x.startsWith('shards/orphaned')), up.notes.join('\n'));
    // PostgreSQL down at start.
    const down = await readOnce('postgres://postgres@127.0.0.1:9/x', node.url);
    try {
      assert.equal(down.f.collections.get('quickwit.metastore.shards')?.state, 'unavailable');
      assert.deepEqual(rules(down.findings), []);
      assert.ok(
        down.notes.some((x) => x.startsWith('shards/orphaned not checked')),
        down.notes.join('\n'),
      );
    } finally {
      await down.source.close();
    }
    // A database with no shards table (not migrated): unavailable with why, never an empty metastore.
    const empty = await pg.createDatabase(`qwup${n++}`);
    const r = await readOnce(empty, node.url);
    try {
      assert.match(r.f.collections.get('quickwit.metastore.shards')!.reason!, /no shards table/);
      assert.deepEqual(rules(r.findings), []);
    } finally {
      await r.source.close();
    }
  });

  it('restart and advise-reset are refused up front, with the remedy', async () => {
    const r = await readOnce(await healthy(), node.url);
    try {
      assert.match(r.status.subsystems!.shards!.refuses!['quickwit.restartControlPlane']!, /Restart the control-plane pod/);
      assert.match(r.status.subsystems!.shards!.refuses!['quickwit.adviseResetShards']!, /Restart the ingester/);
    } finally {
      await r.source.close();
    }
  });

  it('what the gateway writes equals what upstream writes: the delete (upstream delete.sql, force) and the undo (insert.sql, update_timestamp kept)', async () => {
    // Two identical metastores: the gateway repairs one, upstream's own statements the other.
    const [ours, theirs] = [await healthy(), await healthy()];
    const ids = await openShards(ours, 20);
    await withClient(theirs, async (c) => {
      for (const [id, row] of (
        await withClient(ours, (o) => o.query('SELECT shard_id, update_timestamp FROM shards WHERE shard_id = ANY($1)', [ids]))
      ).rows.map((x) => [x.shard_id, x] as const)) {
        await c.query(QUERY('open'), [INDEX, SOURCE, id, 'test-ingester', null, DOC_MAPPING, null, row.update_timestamp]);
      }
    });
    const snapshot = (url: string) =>
      withClient(
        url,
        async (c) =>
          (
            await c.query(
              'SELECT index_uid, source_id, shard_id, leader_id, follower_id, shard_state::text, publish_position_inclusive, publish_token, doc_mapping_uid, update_timestamp FROM shards ORDER BY shard_id',
            )
          ).rows,
      );
    assert.deepEqual(await snapshot(ours), await snapshot(theirs));
    const before = await snapshot(ours);

    const r = await readOnce(ours, node.url);
    try {
      const targets = ids.map((id) => r.f.m('quickwit.metastore.shards').get(keys.shard(INDEX, SOURCE, id)) as MetastoreShard);
      const items = await r.source.repair(
        { command: 'quickwit.deleteShards', targets: targets.map((t) => ({ key: t.key, version: t.version })) },
        [],
      );
      assert.deepEqual(
        items.map((i) => i.status),
        ids.map(() => 'applied'),
      );
      // Upstream: DeleteShards with force (the shards were never published from).
      await withClient(theirs, (c) => c.query(QUERY('delete'), [INDEX, SOURCE, ids, true]));
      assert.deepEqual(await snapshot(ours), await snapshot(theirs));

      // Undo: the journalled rows written back, update_timestamp as it was (not migration 21's 2024-01-01).
      const restored = await r.source.repair(
        { command: 'quickwit.restoreShards', targets: targets.map((t) => ({ key: t.key, absent: true as const, entity: t })) },
        [],
      );
      assert.deepEqual(
        restored.map((i) => i.status),
        ids.map(() => 'applied'),
      );
      assert.deepEqual(await snapshot(ours), before);
      const stamps = (await snapshot(ours)).filter((x) => ids.includes(x.shard_id)).map((x) => (x.update_timestamp as Date).getFullYear());
      assert.ok(
        stamps.every((y) => y > 2024),
        `update_timestamp years ${stamps.join(', ')}`,
      );
    } finally {
      await r.source.close();
    }
  });
});
