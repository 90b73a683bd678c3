/**
 * The `ClusterInfo` the extension's unit tests give their fakes: a live cluster, synced and checked,
 * with no problem and no protection, unless `info` says otherwise (`problems` merges per subsystem).
 */
import type { ClusterInfo } from '../../../src/protocol/lsp';

export const SYNCED_AT = '2026-12-06T06:10:00.000Z';

export function cluster(
  name: string,
  info: Partial<Omit<ClusterInfo, 'name' | 'problems'>> & { problems?: Partial<ClusterInfo['problems']> } = {},
): ClusterInfo {
  return {
    name,
    url: `ws://127.0.0.1:7878/${name}`,
    state: 'live',
    error: null,
    status: null,
    errors: 0,
    warnings: 0,
    protection: 'none',
    syncedAt: SYNCED_AT,
    checked: true,
    ...info,
    problems: { shards: 0, wal: 0, ddl: 0, regions: 0, partitions: 0, ...info.problems },
  };
}
