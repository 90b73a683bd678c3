/**
 * Quickwit shards: the metastore, the control plane's model and the ingesters
 * must agree on the set of non-closed shards (quickwit #5008).
 *
 * Built for 763,471 metastore shards: one pass over the metastore, lookups in
 * small sets built from the ~3,000 control-plane and ingester shards, a
 * one-entry group cache (consecutive shards share their source), and repair
 * targets written straight into their batches.
 */
import { keys, type EntityRef, type Finding, type IngesterShard, type MetastoreShard, type Precondition } from '../../protocol';
import { formatCount, plural } from '../../protocol/format';
import { shardGroup } from '../grouping';
import { shardIdentity } from '../shard-key';
import type { ClusterModel } from '../model';
import {
  batchedOption,
  controlPlaneAt,
  describeCounts,
  facts,
  fixedOption,
  increment,
  isAre,
  factsPer,
  makeFinding,
  pushSample,
  stillAt,
  TargetBatcher,
} from './common';
import { CONTROL_PLANE, INGESTER, METASTORE } from '../../protocol/systems';

/** An ingester shard's replication position that says it holds records not yet gone: neither empty nor at eof. */
export function holdsData(replicationPositionInclusive: string): boolean {
  return replicationPositionInclusive !== '' && replicationPositionInclusive !== '~eof';
}

/**
 * Whether dropping an ingester shard the metastore does not have can lose
 * records: it holds some (neither empty nor at eof) and is not closed.
 *
 * The metastore deletes a shard only once it is closed and published to its
 * end (DeleteShards refuses anything else), and a shard it never had was
 * never routed a record. So a closed orphan holds only published records:
 * typically its ingester was away while the shard was closed, drained from the
 * follower and deleted, and reloaded it from its WAL, closed, on restart
 * (quickwit #6531); dropping it is what upstream's `advise_reset_shards` does.
 * An orphan still open with records missed that close: how it lost its
 * metastore row is unknown, and its records past the last publish may be the
 * only copy.
 */
export function orphanMayHoldUnpublished(s: IngesterShard): boolean {
  return holdsData(s.replicationPositionInclusive) && s.shardState !== 'closed';
}

/**
 * Whether deleting this metastore shard is safe: it was never initialised on an
 * ingester (so it holds no records) and nothing was ever published from it.
 * A shard an ingester holds is live, and one with a publish position had a log
 * somewhere; both stay out of every delete plan (the cluster refuses them too).
 */
export function isSafeToDeleteShard(shard: MetastoreShard, heldBy: readonly IngesterShard[]): boolean {
  return heldBy.length === 0 && shard.publishPositionInclusive === '';
}

/** Ingester shards by (index, source, shard): an ingester shard's key also names the ingester. */
function ingesterShardsByShard(model: ClusterModel): Map<string, IngesterShard[]> {
  const held = new Map<string, IngesterShard[]>();
  for (const s of model.collections[INGESTER].values()) {
    const k = keys.shard(s.indexUid, s.sourceId, s.shardId);
    const list = held.get(k);
    if (list) list.push(s);
    else held.set(k, [s]);
  }
  return held;
}

interface DanglingGroup {
  indexUid: string;
  sourceId: string;
  count: number;
  states: Map<string, number>;
  samples: EntityRef[];
  deletable: TargetBatcher;
  /** Dangling but with a publish position: kept out of the delete plan. */
  published: number;
  oldest: number;
}

const NO_INGESTER: readonly IngesterShard[] = [];

/** A source's non-closed metastore shards that the control plane knows or an ingester holds (its live ones). */
interface LiveShards {
  /** Known or held (each shard once). */
  count: number;
  known: number;
  knownKey?: string;
  held: number;
  heldKey?: string;
}
const NO_LIVE_SHARDS: LiveShards = { count: 0, known: 0, held: 0 };

/**
 * The live shards of the sources in `groups`, from the small views (the control plane's and the
 * ingesters' ~3,000 shards) looked up in the metastore: no second pass over its 763,471.
 */
function liveShardsOf(
  model: ClusterModel,
  groups: ReadonlyMap<string, unknown>,
  known: ReadonlySet<string>,
  held: ReadonlyMap<string, IngesterShard[]>,
): Map<string, LiveShards> {
  const metastore = model.collections[METASTORE];
  const live = new Map<string, LiveShards>();
  const of = (s: { indexUid: string; sourceId: string }, id: string): LiveShards | undefined => {
    const group = shardGroup(s.indexUid, s.sourceId);
    if (!groups.has(group)) return undefined;
    const m = metastore.get(id);
    if (!m || m.shardState === 'closed') return undefined;
    let l = live.get(group);
    if (!l) live.set(group, (l = { count: 0, known: 0, held: 0 }));
    return l;
  };
  for (const s of model.collections[CONTROL_PLANE].values()) {
    const l = of(s, shardIdentity(s));
    if (!l) continue;
    l.count++;
    l.known++;
    l.knownKey ??= s.key;
  }
  for (const [id, list] of held) {
    const l = of(list[0]!, id);
    if (!l) continue;
    if (!known.has(id)) l.count++;
    l.held++;
    l.heldKey ??= list[0]!.key;
  }
  return live;
}

/** `shards/dangling`: non-closed metastore shards the control plane does not know and no ingester holds. */
export function checkDanglingShards(model: ClusterModel): Finding[] {
  const { collections, status } = model;
  const known = new Set<string>();
  for (const s of collections[CONTROL_PLANE].values()) known.add(shardIdentity(s));
  const held = ingesterShardsByShard(model);
  // What "the control plane does not know them and no ingester holds them" rests on: the control
  // plane has not reloaded (a reload teaches it every metastore shard), and no ingester joined or restarted.
  const premise: Precondition[] = [
    controlPlaneAt(status.controlPlaneEpoch),
    ...[...collections['quickwit.ingesters'].values()].map((i) => stillAt('quickwit.ingesters', i)),
  ];

  const groups = new Map<string, DanglingGroup>();
  let last: DanglingGroup | undefined;
  for (const s of collections[METASTORE].values()) {
    if (s.shardState === 'closed') continue;
    const k = shardIdentity(s);
    if (known.has(k) || held.has(k)) continue;
    let g = last !== undefined && last.indexUid === s.indexUid && last.sourceId === s.sourceId ? last : undefined;
    if (!g) {
      const id = shardGroup(s.indexUid, s.sourceId);
      g = groups.get(id);
      if (!g) {
        g = {
          indexUid: s.indexUid,
          sourceId: s.sourceId,
          count: 0,
          states: new Map(),
          samples: [],
          deletable: new TargetBatcher('quickwit.deleteShards', premise),
          published: 0,
          oldest: s.createdAt,
        };
        groups.set(id, g);
      }
      last = g;
    }
    g.count++;
    increment(g.states, s.shardState);
    pushSample(g.samples, METASTORE, s);
    if (s.createdAt < g.oldest) g.oldest = s.createdAt;
    if (isSafeToDeleteShard(s, NO_INGESTER)) g.deletable.add(s);
    else g.published++;
  }

  const others = liveShardsOf(model, groups, known, held);
  const fact = facts(status);
  const epoch = status.controlPlaneEpoch;
  const findings: Finding[] = [];
  for (const [group, g] of groups) {
    const states = describeCounts(g.states);
    const live = others.get(group) ?? NO_LIVE_SHARDS;
    const total = g.count + live.count;
    const first = g.samples[0]!.key;
    const since = { since: g.oldest };
    const why = `open_shards succeeded, init_shards did not (the oldest created at ${fact.at(g.oldest)})`;
    const evidence = [
      fact.group(
        METASTORE,
        group,
        total,
        first,
        `The metastore has ${plural(total, 'shard')} of ${group} that ${isAre(total)} not closed.`,
      ),
      fact.group(
        CONTROL_PLANE,
        group,
        live.known,
        live.knownKey,
        `The control plane (epoch ${epoch}) knows ${live.known ? formatCount(live.known) : 'none'} of them.`,
        { epoch },
      ),
      fact.group(
        INGESTER,
        group,
        live.held,
        live.heldKey,
        live.held ? `Ingesters hold ${formatCount(live.held)} of them.` : 'No ingester holds any of them.',
      ),
      live.count > 0
        ? fact.group(METASTORE, group, g.count, first, `The other ${formatCount(g.count)} (${states}) have no ingester: ${why}.`, since)
        : fact.group(METASTORE, group, g.count, first, `They (${states}) were never initialised: ${why}.`, since),
    ];
    if (g.published > 0) {
      evidence.push(
        fact.group(
          METASTORE,
          group,
          g.published,
          undefined,
          `${plural(g.published, 'shard')} of those ${g.published === 1 ? 'has' : 'have'} a publish position: kept out of the delete plan.`,
        ),
      );
    }
    findings.push(
      makeFinding('shards/dangling', {
        group,
        message:
          `${plural(g.count, 'shard')} of index ${g.indexUid}, source ${g.sourceId} ${g.count === 1 ? 'is' : 'are'} in the ` +
          `metastore (${states}), but the control plane does not know ${g.count === 1 ? 'it' : 'them'} and no ingester ` +
          `holds ${g.count === 1 ? 'it' : 'them'} (leaked by a failed shard init).`,
        count: g.count,
        samples: g.samples,
        facts: evidence,
        repairs: [
          ...batchedOption(
            {
              id: 'delete-uninitialised',
              title: `Delete ${plural(g.deletable.count, 'uninitialised shard')} of ${group} from the metastore`,
              safety: 'safe',
              description:
                `Sends DeleteShards for the ${formatCount(g.deletable.count)} shards no ingester ever initialised and ` +
                `nothing was published from: they hold no data. Each is conditional on its version, and the ` +
                `metastore refuses any shard that became live in the meantime.`,
            },
            g.deletable,
          ),
          fixedOption(
            {
              id: 'restart-control-plane',
              title: `Restart the control plane so it reloads the shards of ${group} from the metastore`,
              safety: 'safe',
              description:
                `The control plane rebuilds its model from the metastore and learns the ${formatCount(g.count)} shards. ` +
                `Nothing is deleted; the shards stay uninitialised until the control plane reopens or closes them.`,
              targetCount: g.count,
            },
            [{ command: 'quickwit.restartControlPlane', expectedEpoch: status.controlPlaneEpoch }],
          ),
        ],
      }),
    );
  }
  return findings;
}

interface OrphanGroup {
  count: number;
  samples: EntityRef[];
  controlPlane: number;
  ingesterShards: IngesterShard[];
  ingesters: Set<string>;
}

/** `shards/orphaned`: control-plane or ingester shards the metastore does not have. */
export function checkOrphanedShards(model: ClusterModel): Finding[] {
  const { collections, status } = model;
  // The metastore is keyed by `keys.shard`, so membership is a lookup, not a 763k-entry set.
  const metastore = collections[METASTORE];
  const groups = new Map<string, OrphanGroup>();
  const groupFor = (indexUid: string, sourceId: string): OrphanGroup => {
    const id = shardGroup(indexUid, sourceId);
    let g = groups.get(id);
    if (!g) {
      g = { count: 0, samples: [], controlPlane: 0, ingesterShards: [], ingesters: new Set() };
      groups.set(id, g);
    }
    return g;
  };
  for (const s of collections[CONTROL_PLANE].values()) {
    if (metastore.has(shardIdentity(s))) continue;
    const g = groupFor(s.indexUid, s.sourceId);
    g.count++;
    g.controlPlane++;
    pushSample(g.samples, CONTROL_PLANE, s);
  }
  for (const s of collections[INGESTER].values()) {
    if (metastore.has(keys.shard(s.indexUid, s.sourceId, s.shardId))) continue;
    const g = groupFor(s.indexUid, s.sourceId);
    g.count++;
    g.ingesterShards.push(s);
    g.ingesters.add(s.ingesterId);
    pushSample(g.samples, INGESTER, s);
  }

  const fact = facts(status);
  const epoch = status.controlPlaneEpoch;
  const findings: Finding[] = [];
  for (const [group, g] of groups) {
    const withData = g.ingesterShards.filter((s) => holdsData(s.replicationPositionInclusive));
    const atRisk = withData.filter(orphanMayHoldUnpublished);
    const closedWithData = withData.length - atRisk.length;
    // Each reset rests on the metastore still not having the shard.
    const absent = (s: IngesterShard): Precondition => ({
      collection: METASTORE,
      key: keys.shard(s.indexUid, s.sourceId, s.shardId),
      absent: true,
    });
    const resetAll = new TargetBatcher('quickwit.adviseResetShards');
    for (const s of g.ingesterShards) resetAll.add(s, absent(s));
    const resetSafe = new TargetBatcher('quickwit.adviseResetShards');
    for (const s of g.ingesterShards) if (!orphanMayHoldUnpublished(s)) resetSafe.add(s, absent(s));
    const safeNoun = (n: number) =>
      closedWithData > 0
        ? plural(n, 'ingester shard with no unpublished records', 'ingester shards with no unpublished records')
        : plural(n, 'empty ingester shard');
    const safeWhy =
      closedWithData > 0
        ? `Their logs are empty or at eof, or they are closed (${formatCount(closedWithData)}): the metastore deleted those only once ` +
          'they were published to their end, so no records are lost.'
        : 'Their logs are empty or at eof, so no records are lost.';
    const ingesterList = [...g.ingesters].sort().join(', ');
    const where = [
      g.controlPlane > 0 ? `the control plane knows ${formatCount(g.controlPlane)}` : '',
      g.ingesterShards.length > 0 ? `ingesters hold ${formatCount(g.ingesterShards.length)} (${ingesterList})` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    const evidence = [
      fact.group(METASTORE, group, 0, undefined, `The metastore has none of these ${plural(g.count, 'shard')} of ${group}.`),
    ];
    if (g.controlPlane > 0) {
      const first = g.samples.find((x) => x.collection === CONTROL_PLANE)?.key;
      evidence.push(
        fact.group(
          CONTROL_PLANE,
          group,
          g.controlPlane,
          first,
          `The control plane (epoch ${epoch}) knows ${formatCount(g.controlPlane)} of them.`,
          { epoch },
        ),
      );
    }
    evidence.push(...ingesterFacts(fact, group, g.ingesterShards));
    if (closedWithData > 0) {
      const first = withData.find((x) => !orphanMayHoldUnpublished(x))!.key;
      evidence.push(
        fact.group(
          INGESTER,
          group,
          closedWithData,
          first,
          `${plural(closedWithData, 'shard')} with records ${isAre(closedWithData)} closed: the metastore deletes a shard only once it is ` +
            'closed and published to its end, and an ingester reloads the shards of its WAL closed when it restarts (quickwit #6531).',
        ),
      );
    }
    if (atRisk.length > 0) {
      evidence.push(
        fact.group(
          INGESTER,
          group,
          atRisk.length,
          atRisk[0]!.key,
          `${plural(atRisk.length, 'shard')} with records ${isAre(atRisk.length)} not closed: records past the last publish may be the only copy.`,
        ),
      );
    }
    findings.push(
      makeFinding('shards/orphaned', {
        group,
        message: `${plural(g.count, 'shard')} of ${group} ${g.count === 1 ? 'is' : 'are'} missing from the metastore, but ${where}.`,
        count: g.count,
        samples: g.samples,
        facts: evidence,
        repairs: [
          ...(g.controlPlane > 0
            ? [
                fixedOption(
                  {
                    id: 'restart-control-plane',
                    title: `Restart the control plane so it reloads the shards of ${group} from the metastore`,
                    safety: 'safe',
                    description: `The control plane rebuilds its model from the metastore and forgets the ${formatCount(g.controlPlane)} shards the metastore does not have.`,
                    targetCount: g.controlPlane,
                  },
                  [{ command: 'quickwit.restartControlPlane', expectedEpoch: status.controlPlaneEpoch }],
                ),
              ]
            : []),
          ...(atRisk.length > 0 && resetSafe.count > 0
            ? batchedOption(
                {
                  id: 'advise-reset-safe-shards',
                  title: `Reset the ${safeNoun(resetSafe.count)} of ${group}`,
                  safety: 'safe',
                  description: `Advises the ingesters to drop the orphaned shards that cannot hold unpublished records. ${safeWhy}`,
                },
                resetSafe,
              )
            : []),
          ...batchedOption(
            atRisk.length > 0
              ? {
                  id: 'advise-reset-shards',
                  title: `Reset ${plural(g.ingesterShards.length, 'ingester shard')} of ${group}, ${formatCount(atRisk.length)} not closed and holding records`,
                  safety: 'may-lose-data',
                  description:
                    `Advises the ingesters to drop every orphaned shard. ${plural(atRisk.length, 'shard')} ${atRisk.length === 1 ? 'is' : 'are'} not ` +
                    `closed and may hold records past their last publish; those records are lost.`,
                }
              : {
                  id: 'advise-reset-shards',
                  title: `Reset ${safeNoun(g.ingesterShards.length)} of ${group}`,
                  safety: 'safe',
                  description: `Advises the ingesters to drop the orphaned shards (advise_reset_shards). ${safeWhy}`,
                },
            resetAll,
          ),
        ],
      }),
    );
  }
  return findings;
}

/** One fact per ingester holding orphans of `group` (the first MAX_FACT_ENTITIES ingesters, then the rest together). */
function ingesterFacts(fact: ReturnType<typeof facts>, group: string, shards: readonly IngesterShard[]) {
  const byIngester = new Map<string, { count: number; withData: number; key: string }>();
  for (const s of shards) {
    let i = byIngester.get(s.ingesterId);
    if (!i) byIngester.set(s.ingesterId, (i = { count: 0, withData: 0, key: s.key }));
    i.count++;
    if (holdsData(s.replicationPositionInclusive)) i.withData++;
  }
  const ids = [...byIngester.keys()].sort();
  return factsPer(
    ids,
    (id) => {
      const i = byIngester.get(id)!;
      return fact.group(
        INGESTER,
        `${group} on ${id}`,
        i.count,
        i.key,
        `Ingester ${id} holds ${formatCount(i.count)} of them, ${formatCount(i.withData)} with records not yet at eof.`,
      );
    },
    (rest) => {
      const n = rest.reduce((sum, id) => sum + byIngester.get(id)!.count, 0);
      return fact.group(
        INGESTER,
        group,
        n,
        byIngester.get(rest[0]!)!.key,
        `${plural(rest.length, 'other ingester')} hold ${formatCount(n)} of them.`,
      );
    },
  );
}
