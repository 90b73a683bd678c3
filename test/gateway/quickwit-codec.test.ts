/**
 * The Quickwit codec against records written by hand from the upstream
 * definitions (the `shards` migrations, position.rs, the debug route's
 * `ControlPlane::debug_info` / `Ingester::debug_info`), and malformed ones.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import {
  decodeDebugInfo,
  decodePosition,
  decodeShardRow,
  encodeDebugInfo,
  encodePosition,
  encodeShardRow,
  SHARD_COLUMNS,
  ulidSeconds,
  type ShardRow,
} from '../../src/codecs/quickwit';
import { MetastoreShard, ControlPlaneShard, IngesterShard, Ingester } from '../../src/protocol';
import { ROOT } from '../server/sim';

const INDEX_UID = 'otel-logs-v0_7:01HX5Q3ZKJ0000000000000000';
const SHARD_ID = '01J0000001ABCDEFGHJKMNPQRS';

/** A `shards` row as `SELECT …, xmin::text::bigint AS version` returns it from the upstream schema. */
function row(over: Partial<Record<keyof ShardRow, unknown>> = {}): ShardRow {
  return {
    index_uid: INDEX_UID,
    source_id: '_ingest-source',
    shard_id: SHARD_ID,
    leader_id: 'ingester-1',
    follower_id: null,
    shard_state: 'open',
    publish_position_inclusive: '',
    publish_token: null,
    doc_mapping_uid: '00000000000000000000000000',
    update_timestamp: '1724158996',
    version: '745',
    ...over,
  } as ShardRow;
}

describe('quickwit codec', () => {
  it('positions: upstream "" / 20 digits / "~" / "~<offset>" ⇄ the protocol\'s', () => {
    assert.equal(decodePosition(''), '');
    assert.equal(decodePosition('00000000000000000042'), '~00000000000000000042');
    assert.equal(decodePosition('~'), '~eof');
    assert.equal(decodePosition('~00000000000000001000'), '~eof');
    assert.equal(decodePosition('42'), undefined);
    assert.equal(decodePosition('~eof'), undefined);
    for (const up of ['', '00000000000000000042', '~']) assert.equal(encodePosition(decodePosition(up)!), up);
    assert.throws(() => encodePosition('42'));
  });

  it('a hand-written shards row decodes to a metastore shard and encodes back to the same row', () => {
    const r = row({
      follower_id: 'ingester-2',
      shard_state: 'closed',
      publish_position_inclusive: '~',
      publish_token: 'indexer-0:1718000000',
    });
    const d = decodeShardRow(r);
    assert.ok(d.ok, JSON.stringify(d));
    const e = d.entity;
    MetastoreShard.parse(e);
    assert.equal(e.key, `${INDEX_UID}/_ingest-source/${SHARD_ID}`);
    assert.equal(e.version, 745);
    assert.equal(e.shardState, 'closed');
    assert.equal(e.publishPositionInclusive, '~eof');
    assert.equal(e.followerId, 'ingester-2');
    assert.equal(e.createdAt, ulidSeconds(SHARD_ID));
    const back = encodeShardRow(e);
    assert.deepEqual(
      back,
      SHARD_COLUMNS.map((c) => (r as unknown as Record<string, unknown>)[c]),
    );
  });

  it('every SHARD_STATE value decodes; an offset position round-trips', () => {
    for (const state of ['unspecified', 'open', 'unavailable', 'closed']) {
      const d = decodeShardRow(row({ shard_state: state, publish_position_inclusive: '00000000000000000007' }));
      assert.ok(d.ok);
      assert.equal(d.entity.shardState, state);
      assert.equal(encodeShardRow(d.entity)[6], '00000000000000000007');
    }
  });

  it('ULID shard ids give the creation second; other ids 0', () => {
    assert.equal(ulidSeconds('01ARYZ6S41TSV4RRFFQ69G5FAV'), Math.floor(1469918176385 / 1000));
    assert.equal(ulidSeconds('00000000000000000017'), 0);
  });

  it('malformed rows are unreadable with a reason, never a throw', () => {
    const bad: [Partial<Record<keyof ShardRow, unknown>>, RegExp][] = [
      [{ shard_state: 'opened' }, /SHARD_STATE/],
      [{ publish_position_inclusive: 'abc' }, /not a position/],
      [{ leader_id: null }, /leader_id is null/],
      [{ shard_id: 'a/b' }, /"\/"/],
      [{ index_uid: 42 }, /index_uid is number/],
      [{ version: 'x' }, /row version/],
      [{ doc_mapping_uid: undefined }, /doc_mapping_uid/],
      [{ update_timestamp: 'yesterday' }, /update_timestamp "yesterday"/],
    ];
    for (const [over, reason] of bad) {
      const d = decodeShardRow(row(over));
      assert.ok(!d.ok, JSON.stringify(over));
      assert.equal(d.unreadable.collection, 'quickwit.metastore.shards');
      assert.match(d.unreadable.reason, reason);
      assert.match(d.unreadable.key, /^shards\(/);
    }
  });

  // Written from ControlPlane::debug_info, Ingester::debug_info and DeveloperApiServer::get_debug_info.
  const DEBUG = {
    'control-plane-0': {
      build_info: {},
      cluster_membership_info: {
        ready_nodes: [{ node_id: 'control-plane-0', generation_id: 1718000000123000000, gossip_advertise_addr: '10.0.0.1:7280' }],
        live_nodes: [],
        dead_nodes: [],
        chitchat_state: {},
      },
      control_plane: {
        ingesters: { 'ingester-1': { available: true, status: 'ready' } },
        physical_indexing_plan: [],
        shard_table: {
          [INDEX_UID]: {
            'ingester-1': [
              {
                index_uid: INDEX_UID,
                source_id: '_ingest-source',
                shard_id: SHARD_ID,
                shard_state: 'open',
                ingester_id: 'ingester-1',
                publish_position_inclusive: '00000000000000001000',
              },
            ],
          },
        },
      },
    },
    'ingester-1': {
      cluster_membership_info: {
        ready_nodes: [{ node_id: 'ingester-1', generation_id: 1718000000999000000, gossip_advertise_addr: '10.0.0.2:7280' }],
      },
      ingester: {
        status: 'ready',
        shards: {
          [INDEX_UID]: [
            {
              index_uid: INDEX_UID,
              source_id: '_ingest-source',
              shard_id: SHARD_ID,
              state: 'open',
              replication_position_inclusive: '00000000000000001042',
              truncation_position_inclusive: '00000000000000000999',
              type: 'solo',
              ingester_id: 'ingester-1',
            },
          ],
        },
        mrecordlog: {},
      },
    },
  };

  it("the debug route: the control plane shard table, the ingester's shards, the ingesters and the control plane generation", () => {
    const d = decodeDebugInfo(DEBUG);
    assert.deepEqual(d.unreadable, []);
    assert.equal(d.controlPlane.length, 1);
    ControlPlaneShard.parse(d.controlPlane[0]);
    assert.deepEqual(
      { ...d.controlPlane[0], version: 0 },
      {
        key: `${INDEX_UID}/_ingest-source/${SHARD_ID}`,
        version: 0,
        indexUid: INDEX_UID,
        sourceId: '_ingest-source',
        shardId: SHARD_ID,
        leaderId: 'ingester-1',
        shardState: 'open',
      },
    );
    IngesterShard.parse(d.ingesterShards[0]);
    assert.equal(d.ingesterShards[0]!.key, `ingester-1/${INDEX_UID}/_ingest-source/${SHARD_ID}`);
    assert.equal(d.ingesterShards[0]!.replicationPositionInclusive, '~00000000000000001042');
    assert.equal(d.ingesters.length, 1);
    Ingester.parse(d.ingesters[0]);
    assert.equal(d.ingesters[0]!.status, 'ready');
    assert.equal(d.controlPlaneNode, 'control-plane-0');
    assert.equal(d.controlPlaneGeneration, 1718000000123);
  });

  it('every IngesterStatus of the vendored ingester.proto decodes; those that list no WAL shards make the shards unknown', () => {
    const proto = protobuf.parse(readFileSync(join(ROOT, 'test/fixtures/upstream/quickwit/protos/ingester.proto'), 'utf8')).root;
    const values = Object.keys(proto.lookupEnum('quickwit.ingest.ingester.IngesterStatus').values);
    assert.equal(values.length, 7);
    for (const value of values) {
      // `IngesterStatus::as_json_str_name`: the proto name without its prefix, lower case.
      const status = value.replace(/^INGESTER_STATUS_/, '').toLowerCase();
      const d = decodeDebugInfo({ n: { ingester: { status, shards: {}, mrecordlog: {} } } });
      assert.deepEqual(d.unreadable, [], status);
      assert.equal(d.ingesters[0]!.status, status);
      Ingester.parse(d.ingesters[0]);
      assert.equal(d.ingesterShardsUnavailable !== undefined, ['unspecified', 'initializing', 'failed'].includes(status), status);
    }
  });

  it('the older flat shard table (main #4867, leader_id) decodes too', () => {
    const d = decodeDebugInfo({
      n: {
        control_plane: {
          shard_table: {
            [INDEX_UID]: [
              {
                index_uid: INDEX_UID,
                source_id: 's',
                shard_id: '1',
                shard_state: 'closed',
                leader_id: 'ingester-9',
                follower_id: null,
                publish_position_inclusive: '',
              },
            ],
          },
        },
      },
    });
    assert.deepEqual(d.unreadable, []);
    assert.equal(d.controlPlane[0]!.leaderId, 'ingester-9');
    assert.equal(d.controlPlane[0]!.shardState, 'closed');
  });

  it('versions change with the record and only with it', () => {
    const a = decodeDebugInfo(DEBUG);
    const b = decodeDebugInfo(JSON.parse(JSON.stringify(DEBUG)));
    assert.equal(a.controlPlane[0]!.version, b.controlPlane[0]!.version);
    const moved = JSON.parse(JSON.stringify(DEBUG));
    moved['ingester-1'].ingester.shards[INDEX_UID][0].replication_position_inclusive = '00000000000000001043';
    moved['ingester-1'].cluster_membership_info.ready_nodes[0].generation_id = 1718000001000000000;
    const c = decodeDebugInfo(moved);
    assert.notEqual(c.ingesterShards[0]!.version, a.ingesterShards[0]!.version);
    assert.notEqual(c.ingesters[0]!.version, a.ingesters[0]!.version, 'a restarted ingester is a new version');
  });

  it('malformed debug JSON gives unreadable records, never a throw', () => {
    for (const body of [null, 'x', [], 42]) assert.equal(decodeDebugInfo(body).unreadable.length, 1);
    const d = decodeDebugInfo({
      a: 'not an object',
      c: {
        control_plane: {
          shard_table: {
            i: [{ shard_state: 'open' }, { index_uid: 'i', source_id: 's', shard_id: '1', shard_state: 'opening', ingester_id: 'x' }, 7],
          },
        },
      },
      d: {
        ingester: {
          status: 'opening',
          shards: { i: [{ index_uid: 'i', source_id: 's', shard_id: '1', state: 'open', replication_position_inclusive: 'zz' }] },
        },
      },
      e: { ingester: { status: 'ready', shards: 'none' } },
    });
    assert.equal(d.controlPlane.length, 0);
    assert.equal(d.ingesterShards.length, 0);
    assert.deepEqual(
      d.ingesters.map((i) => i.nodeId),
      ['e'],
    );
    const reasons = d.unreadable.map((u) => `${u.collection} ${u.reason}`).join('\n');
    assert.match(reasons, /not an object/);
    assert.match(reasons, /index_uid is missing/);
    assert.match(reasons, /"opening" is not a ShardState/);
    assert.match(reasons, /"opening" is not an IngesterStatus/);
    assert.match(reasons, /"zz" is not a position/);
    assert.match(reasons, /quickwit.ingester.shards missing or not an object/);
    // The control plane answered an error: unknown (with why), not an unreadable record and not an empty table.
    const e = decodeDebugInfo({ b: { control_plane: { error: 'actor is dead' } } });
    assert.match(e.controlPlaneUnavailable!, /answered an error: actor is dead/);
    assert.deepEqual(e.unreadable, []);
    assert.match(d.ingesterShardsUnavailable!, /node a's debug info is not an object/);
  });

  it("encodeDebugInfo (the simulator's answer) decodes back to the same entities", () => {
    const cp = decodeDebugInfo(DEBUG);
    const body = encodeDebugInfo({
      controlPlaneNode: 'control-plane-0',
      controlPlaneGeneration: 1718000000123,
      controlPlane: cp.controlPlane,
      publishPositions: () => '~00000000000000001000',
      ingesters: cp.ingesters,
      ingesterGeneration: () => 1718000000999,
      ingesterShards: cp.ingesterShards,
    });
    const again = decodeDebugInfo(JSON.parse(JSON.stringify(body)));
    assert.deepEqual(again.controlPlane, cp.controlPlane);
    assert.deepEqual(again.ingesterShards, cp.ingesterShards);
    assert.deepEqual(again.ingesters, cp.ingesters);
    assert.equal(again.controlPlaneGeneration, 1718000000123);
  });
});
