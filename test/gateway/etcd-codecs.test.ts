import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProcedure, groupProcedureKeys, GREPTIME_DDL_PROTO, procedureRoot } from '../../src/codecs/greptime';
import { decodePChannelMeta, decodeSession, MILVUS_STREAMING_PROTO } from '../../src/codecs/milvus';
import type { EtcdKv } from '../../src/codecs/etcd-kv';

const ROOT = procedureRoot('');
const ID = '0b4f6c2e-8d1a-4c3b-9e7f-112233445566';
const kv = (key: string, value: string | Uint8Array, rev: number): EtcdKv => ({
  key,
  value: typeof value === 'string' ? Buffer.from(value) : value,
  modRevision: rev,
  createRevision: rev,
});
/** protobuf by hand: CreateTableTask{create_table(1): CreateTableExpr{catalog 1, schema 2, table 3}}. */
function handTask(catalog: string, schema: string, table: string): string {
  const str = (field: number, s: string) => Buffer.concat([Buffer.from([(field << 3) | 2, Buffer.byteLength(s)]), Buffer.from(s)]);
  const expr = Buffer.concat([str(1, catalog), str(2, schema), str(3, table)]);
  const task = Buffer.concat([Buffer.from([(1 << 3) | 2, expr.length]), expr]);
  return task.toString('base64').replace(/=+$/, '');
}
const message = (step: number, extra = '') =>
  `{"type_name":"metasrv-procedure::CreateTable","data":${JSON.stringify(JSON.stringify({ state: 'Prepare', task: handTask('greptime', 'public', 'cpu'), table_route: null }))},"parent_id":null,"step":${step}${extra}}`;
const repo = join(__dirname, '..', '..', '..');

describe('etcd codecs (hand-built upstream records)', () => {
  it('embeds the proto excerpts kept under proto/', () => {
    assert.equal(GREPTIME_DDL_PROTO, readFileSync(join(repo, 'proto/greptime/ddl.proto'), 'utf8'));
    assert.equal(MILVUS_STREAMING_PROTO, readFileSync(join(repo, 'proto/milvus/streaming.proto'), 'utf8'));
  });

  it('decodes an unfinished CreateTable procedure, its segments, and .commit/.rollback', () => {
    const full = message(1);
    const kvs = [
      kv(`${ROOT}${ID}/0000000000.step`, message(0), 5),
      kv(`${ROOT}${ID}/0000000001.step`, full.slice(0, 40), 7),
      kv(`${ROOT}${ID}/0000000001.step/0000000001`, full.slice(40), 8),
    ];
    const { groups, unreadable } = groupProcedureKeys(ROOT, kvs);
    assert.deepEqual(unreadable, []);
    const d = decodeProcedure(ROOT, groups.get(ID)!, { startTime: 0, endTime: null });
    assert.equal(d.procedure.status, 'Running');
    assert.equal(d.procedure.table, 'greptime.public.cpu');
    assert.equal(d.procedure.version, 8);
    assert.equal(d.lastStep, 1);
    const done = decodeProcedure(ROOT, groupProcedureKeys(ROOT, [...kvs, kv(`${ROOT}${ID}/0000000001.commit`, '', 9)]).groups.get(ID)!, {
      startTime: 0,
      endTime: 3,
    });
    assert.equal(done.procedure.status, 'Done');
    const rolled = decodeProcedure(
      ROOT,
      groupProcedureKeys(ROOT, [...kvs, kv(`${ROOT}${ID}/0000000001.rollback`, message(1, ',"error":"boom"'), 9)]).groups.get(ID)!,
      {
        startTime: 0,
        endTime: null,
      },
    );
    assert.equal(rolled.procedure.status, 'RollingBack');
    assert.equal(rolled.procedure.error, 'boom');
  });

  it('reports malformed procedure records instead of crashing or skipping them', () => {
    const { unreadable, groups } = groupProcedureKeys(ROOT, [
      kv(`${ROOT}not-a-uuid/0000000000.step`, '{}', 1),
      kv(`${ROOT}${ID}/0000000000.step`, '{"type_name":1}', 2),
    ]);
    assert.equal(unreadable.length, 1);
    assert.throws(() => decodeProcedure(ROOT, groups.get(ID)!, { startTime: 0, endTime: null }), /type_name/);
    const badTask = message(0).replace(/\\"task\\":\\"[^\\]*\\"/, '\\"task\\":\\"!!\\"');
    assert.throws(() =>
      decodeProcedure(ROOT, groupProcedureKeys(ROOT, [kv(`${ROOT}${ID}/0000000000.step`, badTask, 2)]).groups.get(ID)!, {
        startTime: 0,
        endTime: null,
      }),
    );
    assert.throws(
      () =>
        decodeProcedure(ROOT, groupProcedureKeys(ROOT, [kv(`${ROOT}${ID}/0000000000.step/0000000002`, 'x', 2)]).groups.get(ID)!, {
          startTime: 0,
          endTime: null,
        }),
      /missing/,
    );
  });

  it('decodes a hand-encoded PChannelMeta and a session; rejects garbage', () => {
    const str = (f: number, s: string) => Buffer.concat([Buffer.from([(f << 3) | 2, s.length]), Buffer.from(s)]);
    const varint = (f: number, v: number) => Buffer.from([(f << 3) | 0, v]);
    const sub = (f: number, b: Buffer) => Buffer.concat([Buffer.from([(f << 3) | 2, b.length]), b]);
    const bytes = Buffer.concat([
      sub(1, Buffer.concat([str(1, 'by-dev-rootcoord-dml_1'), varint(2, 2)])),
      sub(2, Buffer.concat([varint(1, 4), str(2, '10.0.1.4:22222')])),
      varint(3, 3),
      varint(5, 11),
    ]);
    const m = decodePChannelMeta(bytes);
    assert.equal(m.channel, 'by-dev-rootcoord-dml_1');
    assert.equal(m.term, 2);
    assert.deepEqual(m.node, { serverId: 4, address: '10.0.1.4:22222' });
    assert.equal(m.state, 'PCHANNEL_META_STATE_ASSIGNED');
    assert.equal(m.accessMode, 'PCHANNEL_ACCESS_READWRITE');
    assert.throws(() => decodePChannelMeta(Buffer.from([0xff, 0xff, 0xff])));
    const s = decodeSession(
      Buffer.from(
        '{"ServerID":4,"ServerName":"streamingnode","Address":"10.0.1.4:22222","Stopping":true,"TriggerKill":true,"Version":"2.5.10"}',
      ),
    );
    assert.equal(s.Stopping, true);
    assert.throws(() => decodeSession(Buffer.from('{"ServerID":"4"}')));
    assert.throws(() => decodeSession(Buffer.from('not json')));
  });
});
