/** The TiKV/PD codec on JSON written by hand from the upstream definitions (status_server/mod.rs, pkg/response/{region,store}.go). */
import * as assert from 'node:assert/strict';
import {
  decodeCachedRegions,
  decodePdRegions,
  decodePdStores,
  advanceMarks,
  deriveWriteBatch,
  encodeCachedRegions,
  isStaleMark,
  withAppliedIndex,
  type MarkStreak,
  encodePdRegions,
  encodePdStores,
} from '../../src/codecs/tikv';
import { CachedRegion, WriteBatch } from '../../src/protocol';
import { statusKey } from '../../src/gateway/sources/tikv';

// `serde_json::to_vec(&Vec<CachedRegion>)`: fields in struct order, hex upper-case.
const IME = `[{"start":"7480000000000000FF0500000000000000F8","end":"7480000000000000FF0700000000000000F8","id":26969,"epoch_version":12,"in_gc":false,"safe_point":449499999999885312,"state":"Active","is_written":true},
{"start":"7480000000000000FF0700000000000000F8","end":"","id":26970,"epoch_version":3,"in_gc":true,"safe_point":0,"state":"PendingEvict","is_written":false}]`;

const STORES = `{"count":1,"stores":[{"store":{"id":4,"address":"10.0.1.4:20160","labels":[{"key":"zone","value":"z1"}],"version":"8.5.0","peer_address":"10.0.1.4:20160","status_address":"10.0.1.4:20180","git_hash":"abc","start_timestamp":1700000000,"deploy_path":"/tikv/bin","last_heartbeat":1700000100000000000,"state_name":"Up"},"status":{"capacity":"1.8TiB","available":"1.1TiB","used_size":"30GiB","leader_count":10,"leader_weight":1,"leader_score":10,"leader_size":100,"region_count":30,"region_weight":1,"region_score":300,"region_size":300,"start_ts":"2024-01-01T00:00:00Z","last_heartbeat_ts":"2024-01-01T00:01:00Z","uptime":"1m0s"}}]}`;

const REGIONS = `{"count":1,"regions":[{"id":26969,"start_key":"7480000000000000FF05","end_key":"7480000000000000FF07","epoch":{"conf_ver":5,"version":12},"peers":[{"id":26971,"store_id":4,"role_name":"Voter"},{"id":26972,"store_id":1,"role_name":"Learner","is_learner":true}],"leader":{"id":26971,"store_id":4,"role_name":"Voter"},"cpu_usage":0,"written_bytes":0,"read_bytes":0,"written_keys":0,"read_keys":0,"approximate_size":1,"approximate_keys":0,"approximate_kv_size":0,"approximate_columnar_kv_size":0}]}`;

describe('tikv codec (PD HTTP API, TiKV status server)', () => {
  it('decodes /debug/ime/cached_regions items into cached regions of the store asked', () => {
    const d = decodeCachedRegions(IME, 4);
    assert.ok(d.ok);
    const [a, b] = d.value.regions;
    assert.equal(d.value.unreadable.length, 0);
    for (const r of d.value.regions) CachedRegion.parse(r);
    assert.equal(a!.key, 'store-4/region-26969');
    assert.equal(a!.isWritten, true);
    assert.equal(a!.epochVersion, 12);
    assert.equal(a!.safePoint, 1714706420898, 'a TSO: its physical part, in ms');
    assert.equal(b!.state, 'PendingEvict');
    assert.equal(b!.inGc, true);
    assert.equal(b!.end, '');
    assert.equal(a!.evictInfo, null);
  });

  it('round-trips: encode gives the upstream shape, sorted by range, upper-case hex', () => {
    const d = decodeCachedRegions(IME, 4);
    assert.ok(d.ok);
    const text = encodeCachedRegions([...d.value.regions].reverse());
    assert.deepEqual(JSON.parse(text), JSON.parse(IME));
    const again = decodeCachedRegions(text, 4);
    assert.ok(again.ok);
    assert.deepEqual(again.value.regions, d.value.regions);
  });

  it('the version changes when only is_written changes (epoch_version does not)', () => {
    const a = decodeCachedRegions(IME, 4);
    const b = decodeCachedRegions(IME.replace('"is_written":true', '"is_written":false'), 4);
    assert.ok(a.ok && b.ok);
    assert.equal(a.value.regions[0]!.epochVersion, b.value.regions[0]!.epochVersion);
    assert.notEqual(a.value.regions[0]!.version, b.value.regions[0]!.version);
  });

  it('a malformed item is unreadable, the rest decode; a malformed body is an error, never a crash', () => {
    const bad = `[{"id":1,"start":"zz","end":"","epoch_version":1,"in_gc":false,"safe_point":0,"state":"Active","is_written":false},
      {"id":2,"start":"","end":"","epoch_version":1,"in_gc":false,"safe_point":0,"state":"Cached","is_written":false},
      {"id":3,"start":"","end":"","epoch_version":-1,"in_gc":false,"safe_point":0,"state":"Active","is_written":false},
      "junk", null,
      {"id":4,"start":"61","end":"62","epoch_version":1,"in_gc":false,"safe_point":0,"state":"Loading","is_written":false}]`;
    const d = decodeCachedRegions(bad, 1);
    assert.ok(d.ok);
    assert.deepEqual(
      d.value.regions.map((r) => r.regionId),
      [4],
    );
    assert.equal(d.value.unreadable.length, 5);
    assert.match(d.value.unreadable[1]!.reason, /RegionState/);
    for (const text of ['', 'In memory engine is not enabled', '{"a":1}', '[', 'null']) {
      const r = decodeCachedRegions(text, 1);
      assert.equal(r.ok, false, text);
    }
  });

  it('decodes PD stores and regions, and encodes them back in the same shape', () => {
    const s = decodePdStores(STORES);
    assert.ok(s.ok);
    assert.deepEqual(s.value, [
      { id: 4, address: '10.0.1.4:20160', statusAddress: '10.0.1.4:20180', stateName: 'Up', version: '8.5.0', gitHash: 'abc' },
    ]);
    const s2 = decodePdStores(encodePdStores(s.value));
    assert.ok(s2.ok);
    assert.deepEqual(s2.value, s.value);
    const r = decodePdRegions(REGIONS);
    assert.ok(r.ok);
    assert.deepEqual(r.value[0]!.epoch, { confVer: 5, version: 12 });
    assert.equal(r.value[0]!.leaderStoreId, 4);
    assert.equal(r.value[0]!.peers[1]!.roleName, 'Learner');
    const r2 = decodePdRegions(encodePdRegions(r.value));
    assert.ok(r2.ok);
    assert.deepEqual(r2.value, r.value);
    assert.equal(decodePdStores('{"stores":[{"status":{}}]}').ok, false);
    assert.equal(decodePdRegions('<html>').ok, false);
  });

  it('matches status URLs to PD status_address', () => {
    assert.equal(statusKey('http://10.0.1.4:20180/'), statusKey('10.0.1.4:20180'));
    assert.equal(statusKey('http://127.0.0.1:5/tikv/4'), '127.0.0.1:5/tikv/4');
  });

  it('infers the write batch: every mark not proven stale belongs to a batch in progress; stale marks leave it at a commit boundary', () => {
    const d = decodeCachedRegions(IME, 4);
    assert.ok(d.ok);
    const first = deriveWriteBatch(4, d.value.regions, new Set());
    WriteBatch.parse(first);
    assert.deepEqual([first.currentRegion, first.atCommitBoundary, first.writtenRegions], [null, false, [26969]]);
    const second = deriveWriteBatch(4, d.value.regions, new Set([26969]));
    assert.deepEqual([second.currentRegion, second.atCommitBoundary, second.writtenRegions], [null, true, []]);
    assert.notEqual(first.version, second.version);
    const none = deriveWriteBatch(4, [], new Set());
    assert.deepEqual([none.currentRegion, none.atCommitBoundary, none.writtenRegions], [null, true, []]);
  });

  it('a mark is stale only after N reads over the span with the applied index unchanged', () => {
    const d = decodeCachedRegions(IME, 4);
    assert.ok(d.ok);
    const rule = { reads: 3, ms: 1000 };
    let streaks = new Map<number, MarkStreak>();
    const read = (now: number, applied: number | undefined) => {
      streaks = advanceMarks(streaks, d.value.regions, now);
      for (const [id, s] of streaks) streaks.set(id, withAppliedIndex(s, applied, now));
      return isStaleMark(streaks.get(26969)!, now, rule);
    };
    assert.equal(read(0, 7), false);
    assert.equal(read(500, 7), false);
    assert.equal(read(900, 7), false, 'three reads, but not 1000 ms yet');
    assert.equal(read(1000, 7), true);
    assert.equal(read(1100, 8), false, 'the applied index moved: a batch was written, the streak starts again');
    assert.equal(read(5000, undefined), false, 'the applied index could not be read: not confirmed');
    const unmarked = decodeCachedRegions(IME.replace('"is_written":true', '"is_written":false'), 4);
    assert.ok(unmarked.ok);
    assert.equal(advanceMarks(streaks, unmarked.value.regions, 6000).size, 0, 'an unmarked read ends the streak');
  });
});
