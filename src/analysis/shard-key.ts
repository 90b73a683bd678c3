/**
 * Shard identity across components. The metastore and the control plane key
 * shards with `keys.shard(index, source, shard)`; when an entity's key is
 * already that string, use it instead of building (and hashing) a new one —
 * this runs once per shard over 763,471 metastore shards.
 */
import { keys } from '../protocol';

/** The (index, source, shard) identity of a shard entity of any component. */
export function shardIdentity(s: { key: string; indexUid: string; sourceId: string; shardId: string }): string {
  const { key, indexUid, sourceId, shardId } = s;
  if (
    key.length === indexUid.length + sourceId.length + shardId.length + 2 &&
    key.startsWith(indexUid) &&
    key.charCodeAt(indexUid.length) === 47 &&
    key.startsWith(sourceId, indexUid.length + 1) &&
    key.charCodeAt(indexUid.length + 1 + sourceId.length) === 47 &&
    key.endsWith(shardId)
  ) {
    return key;
  }
  return keys.shard(indexUid, sourceId, shardId);
}
