/**
 * GreptimeDB against upstream's own artifacts (test/fixtures/upstream/greptimedb: the whole
 * greptime-proto files, upstream's ProcedureMessage test strings, keyspaces in metasrv's shapes)
 * and against a real etcd: a healthy keyspace gives no finding, the incident in its real shape is
 * found, what the gateway writes is what metasrv's runner writes (decoded with the vendored protos),
 * reads are paged past etcd's 4 MiB, a running metasrv makes cancels refused, and metasrv's version
 * comes from its candidate key.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import {
  decodeProcedure,
  groupProcedureKeys,
  procedureMessageJson,
  procedureRoot,
  rollbackRecord,
  splitValue,
  type ProcedureMessage,
} from '../../src/codecs/greptime';
import type { EtcdKv } from '../../src/codecs/etcd-kv';
import { runChecks } from '../../src/analysis/checks';
import { connectClusterClient } from '../../src/engine/link';
import { ClusterWorkspace } from '../../src/engine/workspace';
import { ClusterClient } from '../../src/cluster/client';
import { ruleReadiness, type ClusterStatus, type Procedure } from '../../src/protocol';
import * as F from '../unit/fixtures';
import { startEtcd, type RunningEtcd } from './etcd';
import { startGateway, type RunningGateway } from './gateway';
import { testSecret } from '../secrets';

const FIX = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'upstream', 'greptimedb');
const ROOT = procedureRoot('');
const TOKEN = testSecret('gateway');

const keyspace = (name: string): [string, string][] => JSON.parse(readFileSync(join(FIX, name), 'utf8')) as [string, string][];
const kvsOf = (pairs: [string, string][]): EtcdKv[] =>
  pairs.map(([key, value], i) => ({ key, value: Buffer.from(value), modRevision: i + 2, createRevision: i + 2 }));

/** greptime-proto's CreateTableTask, loaded from the whole vendored files. */
function upstreamCreateTableTask(): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_o, target) => join(FIX, 'proto', target);
  root.loadSync('greptime/v1/meta/ddl.proto');
  root.resolveAll();
  return root.lookupType('greptime.v1.meta.CreateTableTask');
}

function decodeAll(pairs: [string, string][]): Procedure[] {
  const { groups, unreadable } = groupProcedureKeys(ROOT, kvsOf(pairs.filter(([k]) => k.startsWith(ROOT))));
  assert.deepEqual(unreadable, []);
  return [...groups.values()].map((g) => decodeProcedure(ROOT, g, { startTime: 0, endTime: null }).procedure);
}

const uuid = (n: number) => `${n.toString(16).padStart(8, '0')}-5c1e-4a7b-9d2f-${(0x1000 + n).toString(16).padStart(12, '0')}`;

describe('GreptimeDB conformance (upstream artifacts)', () => {
  it('reads and writes ProcedureMessage as upstream serde does, context included', () => {
    const fx = JSON.parse(readFileSync(join(FIX, 'procedure-message.json'), 'utf8')) as Record<string, { json: string[] }>;
    for (const [version, { json }] of Object.entries(fx)) {
      for (const text of json) {
        const kv = { key: `${ROOT}${uuid(1)}/0000000004.step`, value: Buffer.from(text), modRevision: 1, createRevision: 1 };
        const d = decodeProcedure(ROOT, groupProcedureKeys(ROOT, [kv]).groups.get(uuid(1))!, { startTime: 0, endTime: null });
        assert.equal(procedureMessageJson(d.lastMessage!), text, `${version}: the message is written back byte for byte`);
      }
    }
  });

  it('v1.1.4 shapes decode the same (CreateTableData adds query_context and column_metadatas, CreateTablesData physical_partition_columns)', () => {
    const pairs = keyspace('keyspace-healthy.json');
    const v114 = pairs.map(([k, v]): [string, string] => {
      if (!v || !k.startsWith(ROOT)) return [k, v];
      const m = JSON.parse(v) as ProcedureMessage;
      const d = JSON.parse(m.data) as Record<string, unknown>;
      if (m.type_name === 'metasrv-procedure::CreateTable')
        Object.assign(d, {
          query_context: { current_catalog: 'greptime', current_schema: 'public', timezone: 'UTC', extensions: {}, channel: 0 },
          column_metadatas: [],
        });
      if (m.type_name === 'metasrv-procedure::CreateLogicalTables') Object.assign(d, { physical_partition_columns: [] });
      return [k, JSON.stringify({ ...m, data: JSON.stringify(d) })];
    });
    const strip = (ps: Procedure[]) => ps.map((p) => ({ ...p, version: 0 }));
    assert.deepEqual(strip(decodeAll(v114)), strip(decodeAll(pairs)));
  });

  it('a healthy keyspace: each procedure as metasrv loads it, no finding', () => {
    const procs = new Map(decodeAll(keyspace('keyspace-healthy.json')).map((p) => [p.procedureId, p]));
    assert.equal(procs.get(uuid(1))!.status, 'Running');
    assert.equal(procs.get(uuid(1))!.table, 'greptime.public.cpu');
    assert.deepEqual(procs.get(uuid(1))!.lockKeys, [
      '__catalog_lock/greptime',
      '__schema_lock/greptime.public',
      '__table_name_lock/greptime.public.cpu',
    ]);
    assert.equal(procs.get(uuid(2))!.status, 'Done');
    // Only a .commit left: finished, not unreadable.
    assert.equal(procs.get(uuid(3))!.status, 'Done');
    // DropTable names and locks its own table (by id).
    assert.equal(procs.get(uuid(4))!.table, 'greptime.public.disk');
    assert.deepEqual(procs.get(uuid(4))!.lockKeys, ['__catalog_lock/greptime', '__schema_lock/greptime.public', '__table_lock/1030']);
    assert.equal(procs.get(uuid(4))!.rollbackSupported, false);
    assert.equal(procs.get(uuid(5))!.rollbackSupported, true, 'allow_rollback past Prepare');
    // CreateLogicalTables: a lock per task plus the physical table.
    assert.deepEqual(procs.get(uuid(7))!.lockKeys, [
      '__catalog_lock/greptime',
      '__schema_lock/greptime.public',
      '__table_lock/1024',
      '__table_name_lock/greptime.public.up',
      '__table_name_lock/greptime.public.scrape_duration_seconds',
    ]);
    assert.equal(procs.get(uuid(7))!.table, 'greptime.public.scrape_duration_seconds, greptime.public.up');
    // .rollback: rolled back on load, not a final Failed; a newer step after it resumes the procedure.
    assert.equal(procs.get(uuid(8))!.status, 'RollingBack');
    assert.equal(procs.get(uuid(9))!.status, 'Running');

    const model = F.model()
      .add('greptime.procedures', ...procs.values())
      .add('greptime.etcd', F.etcdPrefix('/__procedure__/', 10_000))
      .build();
    assert.deepEqual(runChecks(model, { subsystem: 'ddl' }), []);
  });

  it('the incident in its real shape: duplicates per table set, and the backlog', () => {
    const procs = decodeAll(keyspace('keyspace-incident.json'));
    const model = F.model()
      .add('greptime.procedures', ...procs)
      .add('greptime.etcd', F.etcdPrefix('/__procedure__/', 200_000))
      .build();
    const ids = runChecks(model, { subsystem: 'ddl' })
      .map((f) => `${f.id} ×${f.count}`)
      .sort();
    assert.deepEqual(ids, [
      'ddl/backlog:metasrv ×146',
      'ddl/duplicate:greptime.public.http_requests ×6',
      'ddl/duplicate:greptime.public.http_requests_total, greptime.public.node_load1 ×140',
    ]);
  });

  it('ddl/backlog is not applicable from v0.14.0 (#5793 caps the running procedures); ddl/duplicate applies to every version', () => {
    const procs = decodeAll(keyspace('keyspace-incident.json'));
    const on = (version: string) =>
      F.model({
        subsystems: { ddl: { state: 'ok', version: { system: 'GreptimeDB', version, from: 'etcd __metasrv_election_candidates/x' } } },
      })
        .add('greptime.procedures', ...procs)
        .build();
    assert.deepEqual(ruleReadiness('ddl/backlog', on('0.14.0').status).state, 'not-applicable');
    assert.deepEqual(ruleReadiness('ddl/backlog', on('1.1.4').status).state, 'not-applicable');
    assert.deepEqual(ruleReadiness('ddl/backlog', on('0.13.2').status).state, 'checked');
    assert.deepEqual([...new Set(runChecks(on('0.14.0'), { subsystem: 'ddl' }).map((f) => f.rule))], ['ddl/duplicate']);
    assert.deepEqual([...new Set(runChecks(on('0.13.2'), { subsystem: 'ddl' }).map((f) => f.rule))].sort(), [
      'ddl/backlog',
      'ddl/duplicate',
    ]);
  });

  it('never groups procedures on different tables, nor ones whose table is unknown', () => {
    const drop = (n: number, table: string, id: number): [string, string] => [
      `${ROOT}${uuid(n)}/0000000000.step`,
      JSON.stringify({
        type_name: 'metasrv-procedure::DropTable',
        data: JSON.stringify({
          state: 'DeleteMetadata',
          task: { catalog: 'greptime', schema: 'public', table, table_id: id, drop_if_exists: false },
          physical_region_routes: [],
          physical_table_id: id,
          region_wal_options: {},
          allow_rollback: false,
        }),
        parent_id: null,
        step: 0,
      }),
    ];
    const alter = (n: number): [string, string] => [
      `${ROOT}${uuid(n)}/0000000000.step`,
      JSON.stringify({ type_name: 'metasrv-procedure::AlterTable', data: '{}', parent_id: null, step: 0 }),
    ];
    const procs = decodeAll([drop(1, 'a', 1), drop(2, 'b', 2), drop(3, 'c', 3), alter(4), alter(5), alter(6)]);
    assert.deepEqual(
      runChecks(
        F.model()
          .add('greptime.procedures', ...procs)
          .build(),
        { subsystem: 'ddl' },
      ),
      [],
    );
    // Two DropTables of one table that metasrv cannot roll back: the cancel is not offered as safe.
    const dup = decodeAll([drop(1, 'a', 1), drop(2, 'a', 1)]);
    const [f] = runChecks(
      F.model()
        .add('greptime.procedures', ...dup)
        .build(),
      { subsystem: 'ddl' },
    );
    assert.ok(f);
    assert.deepEqual(
      f.repairs.map((r) => `${r.id}:${r.safety}`),
      ['cancel-duplicates-no-rollback:may-lose-data'],
    );
  });

  it('the .rollback the gateway writes is what the runner writes: next step, data and context kept, segmented over 1500 KiB', () => {
    const T = upstreamCreateTableTask();
    const [[stepKey, stepValue]] = keyspace('keyspace-healthy.json');
    const last = JSON.parse(stepValue) as ProcedureMessage;
    const r = rollbackRecord(ROOT, uuid(1), { ...last, context: { event_context: { reason: 'auto_rebalance' } } }, 0, 'cancelled');
    assert.equal(r.key, stepKey.replace('0000000000.step', '0000000001.rollback'));
    assert.equal(
      Buffer.from(r.value).toString(),
      JSON.stringify({
        type_name: last.type_name,
        data: last.data,
        parent_id: null,
        step: 1,
        error: 'cancelled',
        context: { event_context: { reason: 'auto_rebalance' } },
      }),
    );
    const task = T.toObject(T.decode(Buffer.from((JSON.parse(last.data) as { task: string }).task, 'base64'))) as {
      createTable: { tableName: string };
    };
    assert.equal(task.createTable.tableName, 'cpu');

    // A CreateLogicalTables of 12,000 tables: its message is over max_metadata_value_size.
    const tasks = Array.from({ length: 12_000 }, (_, i) =>
      Buffer.from(
        T.encode(
          T.fromObject({
            createTable: { catalogName: 'greptime', schemaName: 'public', tableName: `metric_${i}_${'x'.repeat(120)}`, engine: 'metric' },
          }),
        ).finish(),
      )
        .toString('base64')
        .replace(/=+$/, ''),
    );
    const big: ProcedureMessage = {
      type_name: 'metasrv-procedure::CreateLogicalTables',
      data: JSON.stringify({
        state: 'DatanodeCreateRegions',
        tasks,
        table_ids_already_exists: [],
        physical_table_id: 1024,
        physical_region_numbers: [0],
        physical_columns: [],
      }),
      parent_id: null,
      step: 3,
    };
    const rb = rollbackRecord(ROOT, uuid(2), big, 3, 'cancelled');
    const parts = splitValue(rb.key, rb.value);
    assert.ok(parts.length >= 2, `${rb.value.length} bytes in ${parts.length} parts`);
    assert.deepEqual(
      parts.map((p) => p.key),
      parts.map((_, i) => (i === 0 ? rb.key : `${rb.key}/${String(i).padStart(10, '0')}`)),
    );
    assert.ok(parts.every((p) => p.value.length <= 1500 * 1024));
    assert.deepEqual(Buffer.concat(parts.map((p) => p.value)), Buffer.from(rb.value));
  });
});

async function status(url: string): Promise<ClusterStatus> {
  const client = await ClusterClient.connect({ url, token: TOKEN, clientName: 'etcd-greptime' });
  try {
    return await client.request('cluster.status', {});
  } finally {
    client.close();
  }
}

/** Polls the gateway's status until `ok` holds, with a deadline. */
async function statusUntil(url: string, ok: (s: ClusterStatus) => boolean, what: string, deadlineMs = 30_000): Promise<ClusterStatus> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const s = await status(url);
    if (ok(s)) return s;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify({ counts: s.counts, ddl: s.subsystems?.ddl })}`);
    await new Promise((r) => setTimeout(r, 200)); // poll interval
  }
}

describe('GreptimeDB over a real etcd', function () {
  this.timeout(120_000);
  let etcd: RunningEtcd | undefined;
  let gateway: RunningGateway | undefined;
  let ws: ClusterWorkspace | undefined;
  afterEach(async () => {
    ws?.dispose();
    ws = undefined;
    await gateway?.stop();
    gateway = undefined;
    await etcd?.stop();
    etcd = undefined;
  });

  async function load(pairs: [string, string][]): Promise<RunningEtcd> {
    etcd = await startEtcd();
    // In transactions of at most 64 puts and 1 MiB (etcd takes requests up to 1.5 MiB).
    for (let i = 0; i < pairs.length;) {
      const batch: [string, string][] = [];
      let bytes = 0;
      while (i < pairs.length && batch.length < 64 && (batch.length === 0 || bytes + pairs[i]![1].length < 1024 * 1024)) {
        bytes += pairs[i]![1].length;
        batch.push(pairs[i++]!);
      }
      await etcd.client
        .if('__fixture__', 'Create', '==', 0)
        .then(...batch.map(([k, v]) => etcd!.client.put(k).value(v)))
        .commit();
    }
    return etcd;
  }

  async function workspace(url: string): Promise<ClusterWorkspace> {
    ws = new ClusterWorkspace({ connect: connectClusterClient, log: () => undefined, reconnect: false, catchUpMs: 20_000 });
    await ws.connect({ name: 'gw', url, token: TOKEN });
    await ws.flushChecks(ws.require('gw'));
    return ws;
  }

  it('reads more than 4 MiB of procedures in pages, and keeps watching', async () => {
    // 400 small procedures, then 12 of ~600 KB each (7 MB): one range would be RESOURCE_EXHAUSTED, and so is a
    // page grown on the small ones when it reaches the large ones.
    const msg = (pad: string) =>
      JSON.stringify({ type_name: 'metasrv-procedure::AlterTable', data: JSON.stringify({ pad }), parent_id: null, step: 0 });
    const pairs: [string, string][] = [
      ...Array.from({ length: 400 }, (_, i): [string, string] => [`${ROOT}${uuid(i + 1)}/0000000000.step`, msg('small')]),
      ...Array.from({ length: 12 }, (_, i): [string, string] => [`${ROOT}${uuid(1000 + i)}/0000000000.step`, msg('x'.repeat(600_000))]),
    ];
    const e = await load(pairs);
    gateway = await startGateway({ greptime: { etcd: { endpoints: [e.url] } } }, { token: TOKEN });
    await statusUntil(
      gateway.url,
      (s) => s.subsystems?.ddl?.state === 'ok' && s.counts['greptime.procedures'] === 412,
      '412 procedures read',
    );
    await e.client.put(`${ROOT}${uuid(2000)}/0000000000.step`).value(pairs[pairs.length - 1]![1]);
    await statusUntil(gateway.url, (s) => s.counts['greptime.procedures'] === 413, 'the watch sees the next one');
  });

  it('while a metasrv holds its election key, cancels are refused with the remedy; its candidate key gives the version', async () => {
    const e = await load(keyspace('keyspace-incident.json').slice(0, 6));
    await e.client
      .put('__metasrv_election_candidates/127.0.0.1:3002')
      .value(JSON.stringify({ addr: '127.0.0.1:3002', version: '0.13.2', git_commit: 'abcdef0', start_time_ms: 1 }));
    const lease = e.client.lease(30);
    await lease.put('__metasrv_election/694d7a0b1c2e3f40').value('127.0.0.1:3002');
    gateway = await startGateway({ greptime: { etcd: { endpoints: [e.url] } }, repairs: true }, { token: TOKEN });
    const s = await statusUntil(
      gateway.url,
      (x) => x.subsystems?.ddl?.refuses?.['greptime.cancelProcedures'] !== undefined && x.subsystems.ddl.version !== undefined,
      'refusal and version',
    );
    assert.match(
      s.subsystems!.ddl!.refuses!['greptime.cancelProcedures']!,
      /metasrv runs .*stop every metasrv, cancel here, and start metasrv again/,
    );
    assert.deepEqual(s.subsystems!.ddl!.version, {
      system: 'GreptimeDB',
      version: '0.13.2',
      from: 'etcd __metasrv_election_candidates/127.0.0.1:3002 (MetasrvNodeInfo.version)',
    });

    const w = await workspace(gateway.url);
    const c = w.require('gw');
    const f = c.checker.findings().find((x) => x.rule === 'ddl/duplicate')!;
    assert.ok(f, 'the duplicates are found');
    const before = (await e.client.getAll().prefix(ROOT).keys()).sort();
    const result = await w.applyRepair({ cluster: 'gw', findingId: f.id, repairId: 'cancel-duplicates' });
    assert.equal(result.applied, 0, result.summary);
    assert.deepEqual((await e.client.getAll().prefix(ROOT).keys()).sort(), before, 'etcd unchanged');

    // metasrv stopped: its lease ends, the cancel goes through.
    await lease.revoke();
    await statusUntil(
      gateway.url,
      (x) => x.subsystems?.ddl?.refuses?.['greptime.cancelProcedures'] === undefined,
      'no refusal once metasrv is gone',
    );
  });

  it("cancels duplicates across 70 tables within etcd's 128 operations per transaction", async () => {
    const [[, template]] = keyspace('keyspace-incident.json');
    const msg = JSON.parse(template) as ProcedureMessage;
    const data = JSON.parse(msg.data) as { task: string };
    const T = upstreamCreateTableTask();
    const pairs: [string, string][] = [];
    for (let t = 0; t < 70; t++) {
      const task = Buffer.from(
        T.encode(
          T.fromObject({ createTable: { catalogName: 'greptime', schemaName: 'public', tableName: `metric_${t}`, engine: 'mito' } }),
        ).finish(),
      )
        .toString('base64')
        .replace(/=+$/, '');
      for (let d = 0; d < 3; d++) {
        pairs.push([
          `${ROOT}${uuid(1000 + t * 3 + d)}/0000000000.step`,
          JSON.stringify({ ...msg, data: JSON.stringify({ ...data, task }) }),
        ]);
      }
    }
    const e = await load(pairs);
    gateway = await startGateway({ greptime: { etcd: { endpoints: [e.url] } }, repairs: true }, { token: TOKEN });
    await statusUntil(gateway.url, (s) => s.counts['greptime.procedures'] === 210, '210 procedures');
    const w = await workspace(gateway.url);
    const backlog = w
      .require('gw')
      .checker.findings()
      .find((x) => x.rule === 'ddl/backlog')!;
    assert.ok(backlog, 'the backlog is found');
    const result = await w.applyRepair({ cluster: 'gw', findingId: backlog.id, repairId: 'cancel-duplicates' });
    assert.equal(result.applied, 140, result.summary);
    assert.equal((await e.client.getAll().prefix(ROOT).keys()).filter((k) => k.endsWith('.rollback')).length, 140);
  });

  it('a cancel of a procedure over 1500 KiB writes its .rollback in segments metasrv joins back', async () => {
    const T = upstreamCreateTableTask();
    const tasks = Array.from({ length: 12_000 }, (_, i) =>
      Buffer.from(
        T.encode(
          T.fromObject({
            createTable: { catalogName: 'greptime', schemaName: 'public', tableName: `metric_${i}_${'x'.repeat(120)}`, engine: 'metric' },
          }),
        ).finish(),
      )
        .toString('base64')
        .replace(/=+$/, ''),
    );
    const message = (step: number) =>
      Buffer.from(
        JSON.stringify({
          type_name: 'metasrv-procedure::CreateLogicalTables',
          data: JSON.stringify({
            state: 'DatanodeCreateRegions',
            tasks,
            table_ids_already_exists: [],
            physical_table_id: 1024,
            physical_region_numbers: [0],
            physical_columns: [],
          }),
          parent_id: null,
          step,
        }),
      );
    const pairs: [string, string][] = [];
    for (const n of [1, 2])
      for (const p of splitValue(`${ROOT}${uuid(n)}/0000000000.step`, message(0))) pairs.push([p.key, Buffer.from(p.value).toString()]);
    const e = await load(pairs);
    gateway = await startGateway({ greptime: { etcd: { endpoints: [e.url] } }, repairs: true }, { token: TOKEN });
    await statusUntil(gateway.url, (s) => s.counts['greptime.procedures'] === 2, 'both procedures');
    const w = await workspace(gateway.url);
    const dup = w
      .require('gw')
      .checker.findings()
      .find((x) => x.rule === 'ddl/duplicate')!;
    assert.ok(dup);
    const result = await w.applyRepair({ cluster: 'gw', findingId: dup.id, repairId: 'cancel-duplicates' });
    assert.equal(result.applied, 1, result.summary);
    const base = `${ROOT}${uuid(2)}/0000000001.rollback`;
    const written = await e.client.getAll().prefix(base).buffers();
    const keys = Object.keys(written).sort();
    assert.ok(keys.length >= 2 && keys[0] === base && keys[1] === `${base}/0000000001`, keys.join());
    const joined = JSON.parse(Buffer.concat(keys.map((k) => written[k]!)).toString()) as Record<string, unknown>;
    assert.deepEqual(joined, {
      ...(JSON.parse(message(0).toString()) as object),
      step: 1,
      error: 'cancelled by operator (cluster-gateway)',
    });
  });
});
