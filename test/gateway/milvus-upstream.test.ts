/**
 * Milvus conformance from upstream artifacts (test/fixtures/upstream/milvus/, with the commits in
 * its README): the pchannel metas are encoded by protobufjs from upstream's whole
 * `streaming.proto`, in the states upstream's own code leaves them; the sessions are the JSON
 * upstream's structs marshal to. A healthy cluster gives no finding; #41307 is found in the shape
 * 2.6 leaves it (ASSIGNING to the new node, the stuck one only in `histories`) and in the shape
 * before the balancer moved the channel; and the gateway, over a real etcd holding exactly those
 * bytes, finds it, says what etcd cannot hold, and writes nothing.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { runChecks } from '../../src/analysis/checks';
import { emptyCollections, type ClusterModel } from '../../src/analysis';
import type { EtcdKv } from '../../src/codecs/etcd-kv';
import {
  decodePChannelMeta,
  decodeSession,
  deriveNodesAndWals,
  encodePChannelMeta,
  encodeSession,
  type PChannelKv,
  type SessionKv,
} from '../../src/codecs/milvus';
import { RULE_VERSIONS } from '../../src/protocol/versions';
import { ruleReadiness } from '../../src/protocol/readiness';
import type { ClusterStatus, Finding } from '../../src/protocol';
import { MILVUS_APPENDS_UNOBSERVABLE } from '../../src/gateway/sources/milvus';
import { status as baseStatus } from '../unit/fixtures';
import { cli } from '../cli/cliProcess';
import { ClusterClient } from '../../src/cluster/client';
import { snapshotKeys, startEtcd, type RunningEtcd } from './etcd';
import { startGateway, type RunningGateway } from './gateway';
import { testSecret } from '../secrets';

const DIR = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'upstream', 'milvus');
const PROTO = readFileSync(join(DIR, 'streaming.proto'), 'utf8');
const METAS = JSON.parse(readFileSync(join(DIR, 'pchannel-metas.json'), 'utf8')) as Record<string, object[]>;
const SESSIONS = JSON.parse(readFileSync(join(DIR, 'sessions.json'), 'utf8')) as {
  raw: Record<string, string>;
  legacy: Record<string, string>;
};
/** Upstream's own definition, the whole file (its imports are not needed by PChannelMeta's types). */
const UpstreamPChannelMeta = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('milvus.proto.streaming.PChannelMeta');
const upstreamBytes = (o: object): Uint8Array => UpstreamPChannelMeta.encode(UpstreamPChannelMeta.fromObject(o)).finish();
const upstreamObject = (b: Uint8Array) =>
  UpstreamPChannelMeta.toObject(UpstreamPChannelMeta.decode(b), { enums: String, longs: Number, defaults: true });

const PCHANNELS = 'by-dev/meta/streamingcoord-meta/pchannel/';
const SESSION = 'by-dev/meta/session/';
const TOKEN = testSecret('gateway');
let rev = 10;
const kv = (key: string, value: Uint8Array): EtcdKv => ({ key, value, modRevision: ++rev, createRevision: rev });

function sessionsOf(names: string[]): SessionKv[] {
  return names.map((n) => ({
    kv: kv(`${SESSION}${n.replace(/-stopping$/, '')}`, Buffer.from(SESSIONS.raw[n]!)),
    session: decodeSession(Buffer.from(SESSIONS.raw[n]!)),
  }));
}
function metasOf(shape: string): PChannelKv[] {
  return METAS[shape]!.map((o) => {
    const bytes = upstreamBytes(o);
    const meta = decodePChannelMeta(bytes);
    return { kv: kv(`${PCHANNELS}${meta.channel}`, bytes), meta };
  });
}

/** What the gateway's status says of the wal subsystem over a real etcd: appends unknown, the sessions' version. */
function storeStatus(time: number): ClusterStatus {
  return baseStatus({
    time,
    subsystems: {
      wal: {
        state: 'ok',
        collections: { 'milvus.appends': { state: 'unavailable', reason: MILVUS_APPENDS_UNOBSERVABLE } },
        version: { system: 'Milvus', version: '2.6.0', from: 'etcd by-dev/meta/session/streamingnode-1 (Version)' },
      },
    },
  } as Partial<ClusterStatus>);
}

/** The model the gateway builds from these records: the stop seen at t=0, a 30 s grace period, checked at t=`time`. */
function check(sessions: string[], shape: string, time = 3600): { model: ClusterModel; findings: Finding[] } {
  const { nodes, wals } = deriveNodesAndWals(sessionsOf(sessions), metasOf(shape), { stopSeenAt: () => 0, gracePeriodSeconds: 30 });
  const model: ClusterModel = { status: storeStatus(time), collections: emptyCollections() };
  for (const n of nodes) model.collections['milvus.nodes'].set(n.key, n);
  for (const w of wals) model.collections['milvus.wals'].set(w.key, w);
  return { model, findings: runChecks(model, { subsystem: 'wal' }) };
}

describe('Milvus conformance (upstream artifacts: whole streaming.proto, SessionRaw JSON, pchannel.go states)', () => {
  it('decodes what upstream writes, field for field, with upstream terms (the first assignment is term 2)', () => {
    for (const [shape, list] of Object.entries(METAS)) {
      if (shape.startsWith('_')) continue;
      for (const o of list) {
        const bytes = upstreamBytes(o);
        const r = decodePChannelMeta(bytes);
        const up = upstreamObject(bytes) as {
          channel: { name: string; term: number };
          state: string;
          histories: { term: number; node: { server_id: number } }[];
        };
        assert.equal(r.channel, up.channel.name);
        assert.equal(r.term, up.channel.term);
        assert.equal(r.state, up.state);
        assert.deepEqual(
          r.histories.map((h) => [h.term, h.node?.serverId]),
          up.histories.map((h) => [h.term, h.node.server_id]),
        );
      }
    }
    const s = decodeSession(Buffer.from(SESSIONS.raw['streamingnode-1-stopping']!));
    assert.deepEqual([s.ServerID, s.Stopping, s.Version, s.HostName], [1, true, '2.6.0', 'milvus-streamingnode-6c4bbccdcf-xbt67']);
    const legacy = decodeSession(Buffer.from(SESSIONS.legacy['streamingnode-1-stopping']!));
    assert.deepEqual([legacy.ServerID, legacy.Stopping, legacy.Version], [1, true, '2.5.10']);
  });

  it('a record with a field or a state number this proto does not know stays readable (proto3, as Go reads it)', () => {
    const known = upstreamBytes(METAS['healthy']![0]!);
    // master's PChannelMeta.replicas (field 6, length-delimited) and a later state number (field 3 = 5, last one wins).
    const extra = Buffer.concat([Buffer.from(known), Buffer.from([(6 << 3) | 2, 2, 0x08, 0x01]), Buffer.from([(3 << 3) | 0, 5])]);
    const r = decodePChannelMeta(extra);
    assert.equal(r.channel, 'by-dev-rootcoord-dml_0');
    assert.equal(r.state, 'PCHANNEL_META_STATE_UNKNOWN');
    assert.equal(r.stateNumber, 5);
  });

  it('healthy: 0 findings', () => {
    const { findings, model } = check(['streamingnode-1', 'streamingnode-4'], 'healthy');
    assert.deepEqual(findings, []);
    assert.equal(model.collections['milvus.wals'].size, 2);
    for (const w of model.collections['milvus.wals'].values()) {
      assert.equal(w.recovering, null, 'recovery is not in etcd: unknown, not false');
      assert.equal(w.inFlightAppends, null, 'in-flight appends are not in etcd: unknown, not 0');
      assert.equal(w.closing, false);
    }
  });

  it('a stopping node within its grace period, or whose channels were all handed over: no finding', () => {
    assert.deepEqual(check(['streamingnode-1-stopping', 'streamingnode-4'], 'incident-2.6', 20).findings, []);
    assert.deepEqual(check(['streamingnode-1-stopping', 'streamingnode-4'], 'unavailable').findings, []);
  });

  it('#41307 as 2.6 leaves it: ASSIGNING to the new node, the stuck node only in histories — found, on the stuck node', () => {
    const { findings, model } = check(['streamingnode-1-stopping', 'streamingnode-4'], 'incident-2.6');
    assert.deepEqual(
      findings.map((f) => f.id),
      ['wal/close-blocked:node-1'],
    );
    const held = model.collections['milvus.wals'].get('node-1/by-dev-rootcoord-dml_0')!;
    assert.deepEqual([held.term, held.available, held.closing], [2, false, true]);
    const opening = model.collections['milvus.wals'].get('node-4/by-dev-rootcoord-dml_0')!;
    assert.deepEqual([opening.term, opening.available, opening.closing], [3, false, false]);
    assert.match(findings[0]!.message, /not confirmed/);
    assert.match(findings[0]!.message, /not observable here/);
  });

  it('#41307 before the balancer moved the channel (ASSIGNED to the stopping node): found too', () => {
    assert.deepEqual(
      check(['streamingnode-1-stopping', 'streamingnode-4'], 'incident-before-balance').findings.map((f) => f.id),
      ['wal/close-blocked:node-1'],
    );
  });

  it('versions: the rule runs on 2.6 and later, is not applicable before 2.5 (no streaming node), and reads no appends', () => {
    const v = RULE_VERSIONS['wal/close-blocked']!;
    assert.equal(v.applies('2.6.0'), true);
    assert.equal(v.applies('2.4.17'), false);
    assert.equal(ruleReadiness('wal/close-blocked', storeStatus(1)).state, 'checked', 'milvus.appends unknown does not stop the rule');
  });

  it('the simulator mirror writes sessions in SessionRaw shape and pchannel metas upstream decodes to the same values', () => {
    const s = decodeSession(Buffer.from(SESSIONS.raw['streamingnode-1-stopping']!));
    const expected = JSON.parse(SESSIONS.raw['streamingnode-1-stopping']!) as Record<string, unknown>;
    delete expected.LeaseID; // the mirror's sessions have no lease
    assert.equal(Buffer.from(encodeSession(s)).toString(), JSON.stringify(expected));
    for (const o of METAS['incident-2.6']!) {
      const ours = encodePChannelMeta(decodePChannelMeta(upstreamBytes(o)));
      assert.deepEqual(upstreamObject(ours), upstreamObject(upstreamBytes(o)));
    }
  });

  describe('through the gateway over a real etcd holding the upstream bytes', function () {
    this.timeout(60_000);
    let etcd: RunningEtcd | undefined;
    let gateway: RunningGateway | undefined;
    afterEach(async () => {
      await gateway?.stop();
      await etcd?.stop();
      [gateway, etcd] = [undefined, undefined];
    });

    it('finds the 2.6 shape, says appends are unknown and the version, refuses both repairs while mixcoord runs, and writes nothing', async () => {
      etcd = await startEtcd();
      for (const n of ['streamingnode-1-stopping', 'streamingnode-4', 'mixcoord'])
        await etcd.client.put(`${SESSION}${n.replace(/-stopping$/, '')}`).value(SESSIONS.raw[n]!);
      for (const o of METAS['incident-2.6']!) {
        const bytes = upstreamBytes(o);
        await etcd.client.put(`${PCHANNELS}${decodePChannelMeta(bytes).channel}`).value(Buffer.from(bytes));
      }
      const before = await snapshotKeys(etcd.client, ['by-dev/']);
      gateway = await startGateway({ milvus: { etcd: { endpoints: [etcd.url] }, gracePeriodSeconds: 1 }, repairs: true }, { token: TOKEN });
      const deadline = Date.now() + 20_000;
      for (;;) {
        const out = (await cli([gateway.url, '--token', TOKEN, '--format', 'json'])).stdout;
        if (/wal\/close-blocked:node-1/.test(out)) break;
        assert.ok(Date.now() < deadline, `not found through the gateway: ${out}`);
        await new Promise((r) => setTimeout(r, 250)); // poll interval: the finding shows once the grace period has passed on the gateway's clock
      }
      const text = await cli([gateway.url, '--token', TOKEN]);
      assert.match(text.stdout, /StreamingNode 1 .*2\.6\.0.*not confirmed/);
      const client = await ClusterClient.connect({ url: gateway.url, token: TOKEN, clientName: 'milvus-upstream' });
      const wal = (await client.request('cluster.status', {})).subsystems!.wal!;
      client.close();
      assert.equal(wal.collections?.['milvus.appends']?.state, 'unavailable');
      assert.deepEqual(wal.version, { system: 'Milvus', version: '2.6.0', from: 'etcd by-dev/meta/session/streamingnode-1 (Version)' });
      for (const command of ['milvus.cancelAppendsAndClose', 'milvus.forceRemoveNode']) {
        assert.match(wal.refuses![command]!, /the streaming coordinator runs \(session mixcoord server 9\)/);
        assert.match(wal.refuses![command]!, /kubectl delete pod milvus-streamingnode-6c4bbccdcf-xbt67 --grace-period=0 --force/);
      }
      const repair = await cli([gateway.url, '--token', TOKEN, '--repair', 'all', '--yes']);
      assert.doesNotMatch(repair.stdout, /applied [1-9]/);
      assert.deepEqual(await snapshotKeys(etcd.client, ['by-dev/']), before, 'every key and mod_revision as upstream left them');
    });
  });
});
