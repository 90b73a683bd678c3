/**
 * The upstream HTTP routes of Quickwit that the simulator serves in their real
 * shape: `GET /api/developer/debug` (quickwit-serve `developer_api/debug.rs`),
 * the map node id → debug info of every ready node: the control plane's shard
 * table and ingesters, each ingester's shards (see src/codecs/quickwit.ts).
 * `node_ids` / `roles` filters are accepted and ignored (the answer is the
 * whole cluster, which is what a gateway asks for).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeDebugInfo } from '../../codecs/quickwit';
import type { MetastoreShard } from '../../protocol';
import type { Simulator } from '../simulator';

/** The control plane's node id in the simulator's debug answer. */
export const CONTROL_PLANE_NODE = 'control-plane-0';
/** The simulator's control plane "started" at this time (ms) plus its epoch: its chitchat generation. */
const GENERATION_BASE_MS = 1_700_000_000_000;

/** Answers a quickwit route and returns true, or returns false for a path it does not serve. */
export function serveQuickwitRoute(sim: Simulator, req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/api/developer/debug') return false;
  if (req.method !== 'GET') {
    res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET' });
    res.end('method not allowed');
    return true;
  }
  const metastore = new Map<string, string>();
  const controlPlane = [...sim.entities('quickwit.controlPlane.shards')];
  for (const s of controlPlane) {
    const m = sim.get('quickwit.metastore.shards', [s.key]).items[0] as MetastoreShard | undefined;
    metastore.set(s.key, m?.publishPositionInclusive ?? '');
  }
  const body = encodeDebugInfo({
    controlPlaneNode: CONTROL_PLANE_NODE,
    controlPlaneGeneration: GENERATION_BASE_MS + sim.status().controlPlaneEpoch,
    controlPlane,
    publishPositions: (key) => metastore.get(key) ?? '',
    ingesters: [...sim.entities('quickwit.ingesters')],
    ingesterGeneration: (i) => GENERATION_BASE_MS + i.version,
    ingesterShards: [...sim.entities('quickwit.ingester.shards')],
  });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}
