/**
 * The upstream HTTP routes of PD and the TiKV status servers, in their real
 * shape (src/codecs/tikv.ts), served by the simulator's one HTTP server:
 *
 *   GET /pd/api/v1/stores                       PD
 *   GET /pd/api/v1/regions                      PD
 *   GET /pd/api/v1/region/id/{id}               PD
 *   GET /tikv/{storeId}/debug/ime/cached_regions  store {storeId}'s status server
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
  if (path !== '/pd/api/v1/stores' && path !== '/pd/api/v1/regions' && !status && !region) return false;
  if (req.method !== 'GET') return send(res, 405, 'method not allowed', 'text/plain');
  const stores = storesOf(sim);
  if (path === '/pd/api/v1/stores') {
    const host = req.headers.host ?? '127.0.0.1';
    const list: PdStore[] = [...stores.keys()]
      .sort((a, b) => a - b)
      .map((id) => ({ id, address: `tikv-${id}:20160`, statusAddress: `${host}/tikv/${id}`, stateName: 'Up' }));
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
  const regions = stores.get(Number(status![1]));
  if (!regions) return send(res, 404, 'no such store', 'text/plain');
  return send(res, 200, encodeCachedRegions(regions));
}
