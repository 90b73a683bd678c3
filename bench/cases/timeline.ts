/**
 * Bench: the timeline recorder at the incident's scale, in process. The bulk repair deletes 760,471
 * dangling shards: each delete is one transition the recorder sees (`open` → deleted). Prints the
 * time per change observed, the heap a full timeline holds (at the default bound and at the largest
 * one allowed), and what the timeline rule and a Show Timeline query cost over a full default one.
 */
import { keys, MAX_TIMELINE_TRANSITIONS, CONFIG_DEFAULTS, type AnyEntity, type MetastoreShard } from '../../src/protocol';
import { checkForbiddenTransitions, emptyCollections, queryTimeline, Timeline, type ClusterModel } from '../../src/analysis';
import { ms } from '../processes';

const DELETES = 760_471;

function shard(i: number): MetastoreShard {
  const shardId = `01J${String(i).padStart(10, '0')}`;
  return {
    key: keys.shard('otel-logs-v0_7:01HXYZ', '_ingest-source', shardId),
    version: 1,
    indexUid: 'otel-logs-v0_7:01HXYZ',
    sourceId: '_ingest-source',
    shardId,
    leaderId: 'ingester-1',
    followerId: null,
    docMappingUid: '01HX',
    shardState: 'open',
    publishPositionInclusive: '',
    publishToken: null,
    createdAt: 1,
    updateTimestamp: null,
  };
}

function heapMb(): number {
  global.gc?.();
  return process.memoryUsage().heapUsed / 1024 ** 2;
}

export async function benchTimeline(): Promise<void> {
  for (const capacity of [CONFIG_DEFAULTS['timeline.maxTransitions'], MAX_TIMELINE_TRANSITIONS]) {
    const before = heapMb();
    const timeline = new Timeline(capacity);
    const t = performance.now();
    for (let i = 0; i < DELETES; i++) {
      const e = shard(i) as AnyEntity;
      timeline.observe({ seq: i + 1, time: 100, collection: 'quickwit.metastore.shards', key: e.key, before: e, after: undefined });
    }
    const took = performance.now() - t;
    const held = heapMb() - before;
    console.log(
      `timeline: ${DELETES.toLocaleString('en-US')} deletes observed into a ${capacity.toLocaleString('en-US')}-transition timeline in ${ms(t)} ` +
        `(${((took * 1000) / DELETES).toFixed(2)} µs each, shard built included); it holds ${timeline.size.toLocaleString('en-US')}, ` +
        `heap +${held.toFixed(1)} MB${global.gc ? '' : ' (run node with --expose-gc for a steadier figure)'}`,
    );
    if (capacity !== CONFIG_DEFAULTS['timeline.maxTransitions']) continue;
    const model: ClusterModel = {
      status: {
        clusterName: 'bench',
        scenario: 'bench',
        seed: 1,
        bugs: {} as never,
        time: 100,
        seq: DELETES,
        controlPlaneEpoch: 1,
        counts: {} as never,
        config: { maxRunningProcedures: 128, maxRetryTimes: 3, etcdQuotaBytes: 1 },
      },
      collections: emptyCollections(),
    };
    const transitions = timeline.toArray();
    let c = performance.now();
    checkForbiddenTransitions(model, { timeline: transitions });
    console.log(`timeline: the timeline rule over ${transitions.length.toLocaleString('en-US')} transitions in ${ms(c)}`);
    c = performance.now();
    const r = queryTimeline('bench', model, { transitions, capacity, dropped: timeline.dropped }, { limit: 5000, states: ['open'] });
    console.log(
      `timeline: a Show Timeline query (5,000 newest of ${r.matched.toLocaleString('en-US')}, ${r.text.length.toLocaleString('en-US')} characters of text) in ${ms(c)}`,
    );
  }
}
