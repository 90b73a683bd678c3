/**
 * The upstream HTTP routes of PD and the TiKV status servers, in their real
 * shape (src/codecs/tikv.ts), served by the simulator's one HTTP server:
 *
 *   GET /pd/api/v1/stores                       PD
 *   GET /pd/api/v1/regions                      PD
 *   GET /pd/api/v1/region/id/{id}               PD
 *   GET /pd/api/v1/region/key/{key}[?format=hex]  PD (the region holding the key)
 *   GET /tikv/{storeId}/debug/ime/cached_regions  store {storeId}'s status server
 *   GET /tikv/{storeId}/region/{id}               store {storeId}'s status server (`RegionMeta`)
 *
 * The version PD lists for each store is the build the simulator models:
 * with the regions bug on, a master build between #17685 and #17703
 * (`8.4.0-alpha`, git d621ed9e, the only builds with #17700's assertion and
 * without its fix); with it fixed, v8.5.7. Both serve the status route with
 * its leading slash (real 8.4.0-alpha builds answer 404 there: see
 * docs/gateway.md). `raft_apply.applied_index` is the write batch's sequence
 * number (it moves with every apply round that writes).
 *
 * A real cluster has one status server per TiKV (`host:20180`), serving
 * `/debug/ime/cached_regions` at its root. The simulator has one address for
 * all, so each store's status server is the base URL
 * `http://HOST:PORT/tikv/{storeId}`, and PD's `status_address` for the store
 * says so (`HOST:PORT/tikv/{storeId}`): a gateway matches its `tikvStatus`
 * URLs to PD's stores the same way for both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CachedRegion } from '../../protocol';
import { encodeCachedRegions, encodePdRegions, encodePdStores, type PdRegion, type PdStore } from '../../codecs/tikv';

/** tikv/tikv d621ed9e4e (#17685): a master build that has #17700's assertion and not #17703. */
const BUGGY_BUILD = { version: '8.4.0-alpha', gitHash: 'd621ed9e4ea5df5fa4a98a64fbf8be61e09236db' };
/** tikv/tikv v8.5.7. */
const FIXED_BUILD = { version: '8.5.7', gitHash: '3f446cfa9eb1d5c653031d261e185911495d0359' };
import type { Simulator } from '../simulator';

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): true {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
  return true;
}

function storesOf(sim: Simulator): Map<number, CachedRegion[]> {
  const byStore = new Map<number, CachedRegion[]>();
  for (const b of sim.entities('tikv.writeBatches')) byStore.set(b.storeId, []);
  for (const r of sim.entities('tikv.regions')) {
    const list = byStore.get(r.storeId) ?? [];
    list.push(r);
    byStore.set(r.storeId, list);
  }
  return byStore;
}

function pdRegion(r: CachedRegion): PdRegion {
  return {
    id: r.regionId,
    startKey: r.start,
    endKey: r.end,
    epoch: { confVer: 1, version: r.epochVersion },
    peers: [{ id: r.regionId * 10 + 1, storeId: r.storeId, roleName: 'Voter' }],
    leaderStoreId: r.storeId,
  };
}

/** Answers a PD or TiKV status route and returns true, or returns false for a path it does not serve. */
export function serveTikvRoute(sim: Simulator, req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://sim');
  const path = url.pathname;
  const status = /^\/tikv\/(\d+)\/debug\/ime\/cached_regions$/.exec(path);
  const region = /^\/pd\/api\/v1\/region\/id\/(\d+)$/.exec(path);
  const byKey = /^\/pd\/api\/v1\/region\/key\/([^/]+)$/.exec(path);
  const meta = /^\/tikv\/(\d+)\/region\/(\d+)$/.exec(path);
  if (path !== '/pd/api/v1/stores' && path !== '/pd/api/v1/regions' && !status && !region && !byKey && !meta) return false;
  if (req.method !== 'GET') return send(res, 405, 'method not allowed', 'text/plain');
  const stores = storesOf(sim);
  if (path === '/pd/api/v1/stores') {
    const host = req.headers.host ?? '127.0.0.1';
    const list: PdStore[] = [...stores.keys()]
      .sort((a, b) => a - b)
      .map((id) => ({
        id,
        address: `tikv-${id}:20160`,
        statusAddress: `${host}/tikv/${id}`,
        stateName: 'Up',
        ...(sim.status().bugs.regions === 'buggy' ? BUGGY_BUILD : FIXED_BUILD),
      }));
    return send(res, 200, encodePdStores(list));
  }
  if (path === '/pd/api/v1/regions') {
    const all = [...stores.values()].flat().sort((a, b) => a.regionId - b.regionId);
    return send(res, 200, encodePdRegions(all.map(pdRegion)));
  }
  if (region) {
    const id = Number(region[1]);
    const r = [...stores.values()].flat().find((x) => x.regionId === id);
    // PD answers `null` for an unknown region id.
    return send(res, 200, r ? JSON.stringify(JSON.parse(encodePdRegions([pdRegion(r)])).regions[0]) : 'null');
  }
  if (byKey) {
    // The simulator's cached regions never reach the end of the key space: the last region is one PD knows
    // with no cached copy, held by no simulated store (the gateway asks for it to know which stores are unsafe to poll).
    const all = [...stores.values()].flat().sort((a, b) => (a.end < b.end ? -1 : 1));
    const start = all.length ? all[all.length - 1]!.end.toUpperCase() : '';
    const last: PdRegion = {
      id: 2,
      startKey: start,
      endKey: '',
      epoch: { confVer: 1, version: 1 },
      peers: [{ id: 3, storeId: 2, roleName: 'Voter' }],
      leaderStoreId: 2,
    };
    return send(res, 200, JSON.stringify(JSON.parse(encodePdRegions([last])).regions[0]));
  }
  if (meta) {
    const storeId = Number(meta[1]);
    const r = stores.get(storeId)?.find((x) => x.regionId === Number(meta[2]));
    if (!r) return send(res, 404, `region(${meta[2]}) not found`, 'text/plain');
    const batch = [...sim.entities('tikv.writeBatches')].find((b) => b.storeId === storeId);
    return send(res, 200, encodeRegionMeta(r, batch?.sequenceNumber ?? 0));
  }
  const regions = stores.get(Number(status![1]));
  if (!regions) return send(res, 404, 'no such store', 'text/plain');
  return send(res, 200, encodeCachedRegions(regions));
}

/** `RegionMeta` (components/raftstore/src/store/region_meta.rs) as `GET /region/{id}` serialises it. */
function encodeRegionMeta(r: CachedRegion, appliedIndex: number): string {
  const peer = { id: r.regionId * 10 + 1, store_id: r.storeId, role: 'Voter', is_witness: false };
  return JSON.stringify({
    group_state: 'Ordered',
    raft_status: {
      id: peer.id,
      hard_state: { term: 6, vote: peer.id, commit: appliedIndex },
      soft_state: { leader_id: peer.id, raft_state: 'Leader' },
      applied: appliedIndex,
      voters: {
        [peer.id]: {
          matched: appliedIndex,
          next_idx: appliedIndex + 1,
          state: 'Replicate',
          paused: false,
          pending_snapshot: 0,
          pending_request_snapshot: 0,
          recent_active: true,
        },
      },
      learners: {},
      last_index: appliedIndex,
      persisted_index: appliedIndex,
    },
    raft_apply: { applied_index: appliedIndex, commit_index: appliedIndex, commit_term: 6, truncated_state: { index: 5, term: 5 } },
    region_state: {
      id: r.regionId,
      start_key: [...Buffer.from(r.start, 'hex')],
      end_key: [...Buffer.from(r.end, 'hex')],
      epoch: { conf_ver: 1, version: r.epochVersion },
      peers: [peer],
      merge_state: null,
      tablet_index: 0,
    },
    bucket_keys: [],
  });
}
