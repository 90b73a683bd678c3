/**
 * A SourceContext over plain maps, for driving a source in-process, and the shards subsystem's
 * status as the gateway would report it from what the source said (health, per-collection health,
 * version, refusals), so that tests can run the checks on exactly what a source read.
 */
import {
  COLLECTION_NAMES,
  type ClusterStatus,
  type CollectionHealth,
  type CollectionName,
  type EntityOf,
  type Subsystem,
  type SystemVersion,
  type UnreadableRecord,
} from '../../src/protocol';
import { modelFrom, type ClusterModel } from '../../src/analysis/model';
import type { SourceContext, SourceHealth } from '../../src/gateway/source';
import { status as baseStatus } from '../unit/fixtures';

export function fakeContext(collectionNames: readonly CollectionName[] = []) {
  const maps = new Map<CollectionName, Map<string, { key: string; version: number }>>();
  const unreadable = new Map<CollectionName, UnreadableRecord[]>();
  let health: SourceHealth = { state: 'unavailable', reason: 'starting' };
  // As the gateway does: every collection of the source starts unread.
  const collections = new Map<CollectionName, CollectionHealth>(
    collectionNames.map((c) => [c, { state: 'unread', reason: 'not read yet' }]),
  );
  const refuses = new Map<string, string>();
  let version: SystemVersion | undefined;
  const m = (c: CollectionName) => maps.get(c) ?? maps.set(c, new Map()).get(c)!;
  const ctx: SourceContext = {
    replace: (c, entities) => {
      const map = new Map();
      for (const e of entities) map.set(e.key, e);
      maps.set(c, map);
      collections.set(c, { state: 'ok' });
    },
    upsert: (c, e) => void m(c).set(e.key, e),
    remove: (c, key) => void m(c).delete(key),
    get: ((c: CollectionName, key: string) => m(c).get(key)) as SourceContext['get'],
    unreadable: (c, r) => void unreadable.set(c, r),
    collectionHealth: (c, h) => void collections.set(c, h),
    version: (v) => void (version = v),
    refusing: (command, reason) => void (reason === undefined ? refuses.delete(command) : refuses.set(command, reason)),
    health: (h) => void (health = h),
    log: () => undefined,
  };
  /** The cluster status a gateway would serve for `subsystem` from what the source reported. */
  const statusOf = (subsystem: Subsystem, over: Partial<ClusterStatus> = {}): ClusterStatus => {
    const notOk = [...collections].filter(([, h]) => h.state !== 'ok');
    return baseStatus({
      ...over,
      counts: Object.fromEntries(COLLECTION_NAMES.map((c) => [c, maps.get(c)?.size ?? 0])) as ClusterStatus['counts'],
      subsystems: {
        [subsystem]: {
          ...health,
          ...(notOk.length ? { collections: Object.fromEntries(notOk) } : {}),
          ...(version ? { version } : {}),
          ...(refuses.size ? { refuses: Object.fromEntries(refuses) } : {}),
        },
      },
    });
  };
  const model = (subsystem: Subsystem, over: Partial<ClusterStatus> = {}): ClusterModel =>
    modelFrom(statusOf(subsystem, over), <C extends CollectionName>(c: C) => (maps.get(c)?.values() ?? []) as Iterable<EntityOf<C>>);
  return { ctx, m, unreadable, health: () => health, collections, refuses, version: () => version, statusOf, model };
}
