/** What the two bulk-repair races share: a big dangling-shards simulator, and reading its shards from outside. */
import { keys } from '../../src/protocol';
import type { ClusterClient } from '../../src/cluster/client';
import { startSim, type RunningSim } from '../server/sim';
import type { Counts } from './counts';
import { testSecret } from '../secrets';

export const SHARDS_TOKEN = testSecret('sim');

/** `sim.reset` / CLI sizes for a count: a number of dangling shards, or the full incident. */
export function sizeOf(shards: Counts['raceShards']): { danglingShards: number; liveShards?: number } {
  return shards === 'incident' ? { danglingShards: 763_471 - 3_000, liveShards: 3_000 } : { danglingShards: shards };
}

export function startShardSim(shards: Counts['raceShards']): Promise<RunningSim> {
  const size = sizeOf(shards);
  const args = [
    '--scenario',
    'quickwit-dangling-shards',
    '--seed',
    '1',
    '--token',
    SHARDS_TOKEN,
    '--dangling-shards',
    String(size.danglingShards),
  ];
  if (size.liveShards !== undefined) args.push('--live-shards', String(size.liveShards));
  return startSim(args, 120_000);
}

export interface ShardView {
  metastore: Map<string, { shardState: string; publishPositionInclusive: string }>;
  controlPlane: Set<string>;
  /** Metastore keys of the shards an ingester holds. */
  held: Set<string>;
}

/** The three components' views of the shards, read from the simulator directly. */
export async function readShards(client: ClusterClient): Promise<ShardView> {
  const metastore = new Map<string, { shardState: string; publishPositionInclusive: string }>();
  for await (const page of client.listAll('quickwit.metastore.shards', { limit: 5000 })) for (const s of page) metastore.set(s.key, s);
  const controlPlane = new Set<string>();
  for await (const page of client.listAll('quickwit.controlPlane.shards', { limit: 5000 })) for (const s of page) controlPlane.add(s.key);
  const held = new Set<string>();
  for await (const page of client.listAll('quickwit.ingester.shards', { limit: 5000 }))
    for (const s of page) held.add(keys.shard(s.indexUid, s.sourceId, s.shardId));
  return { metastore, controlPlane, held };
}

/** Live: the control plane knows it, an ingester holds it, or something was published from it. */
export function liveKeys(v: ShardView): Set<string> {
  const live = new Set<string>();
  for (const [k, s] of v.metastore) if (v.controlPlane.has(k) || v.held.has(k) || s.publishPositionInclusive !== '') live.add(k);
  for (const k of v.controlPlane) live.add(k);
  return live;
}

/** Open metastore shards that are not live: what a bulk delete of dangling shards goes after. */
export function danglingKeys(v: ShardView): string[] {
  const live = liveKeys(v);
  return [...v.metastore].filter(([k, s]) => s.shardState !== 'closed' && !live.has(k)).map(([k]) => k);
}
