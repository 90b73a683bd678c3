/**
 * TiKV conformance from upstream shapes (test/fixtures/upstream/tikv, README there): a fake PD and
 * fake TiKV status servers answer with the vendored bodies, the gateway's tikv source reads them,
 * and the checks run on what it read, with the status it reported (collection health, version).
 *
 * - healthy (no marks; a batch that prepared regions 3 and 7 and is not written yet; a hot region
 *   marked in every other read) → 0 findings;
 * - the incident (region 3 marked, same epoch, applied index unchanged over the reads) on a build
 *   that has #17700's bug → found; on v8.5.7 → "not applicable (fixed by #17703)";
 * - v8.5.6 answers 404 on the route → unavailable with the reason, never empty;
 * - not opted in → the route is never asked, unavailable with how to enable it;
 * - a store holding the last region (empty end key) is never asked, even opted in;
 * - repairs are refused with the operator's remedy.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runChecks } from '../../src/analysis/checks';
import { emptyCollections, type ClusterModel } from '../../src/analysis';
import { decodeCachedRegions } from '../../src/codecs/tikv';
import { GatewayConfig } from '../../src/gateway/config';
import { createTikvSource, NO_TIKV_REPAIR_API } from '../../src/gateway/sources/tikv';
import type { SourceContext, SourceHealth, SubsystemSource } from '../../src/gateway/source';
import {
  RULE_VERSIONS,
  ruleNotes,
  type CollectionHealth,
  type CollectionName,
  type EntityOf,
  type SystemVersion,
} from '../../src/protocol';
import * as F from '../unit/fixtures';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'upstream', 'tikv');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** Records what a source tells the gateway, and builds the model the checks see. */
class RecordingContext implements SourceContext {
  readonly entities = emptyCollections();
  readonly collectionStates = new Map<CollectionName, CollectionHealth>();
  readonly refuses = new Map<string, string>();
  readonly logs: string[] = [];
  reads = 0;
  versionSeen: SystemVersion | undefined;
  healthSeen: SourceHealth = { state: 'unavailable', reason: 'starting' };
  replace<C extends CollectionName>(c: C, list: Iterable<EntityOf<C>>): void {
    const map = this.entities[c] as Map<string, EntityOf<C>>;
    map.clear();
    for (const e of list) map.set(e.key, e);
    this.collectionStates.delete(c);
    if (c === 'tikv.writeBatches') this.reads++;
  }
  upsert<C extends CollectionName>(c: C, e: EntityOf<C>): void {
    (this.entities[c] as Map<string, EntityOf<C>>).set(e.key, e);
  }
  remove(c: CollectionName, key: string): void {
    this.entities[c].delete(key);
  }
  get<C extends CollectionName>(c: C, key: string): EntityOf<C> | undefined {
    return (this.entities[c] as Map<string, EntityOf<C>>).get(key);
  }
  unreadable(): void {}
  collectionHealth(c: CollectionName, h: CollectionHealth): void {
    if (h.state === 'ok') this.collectionStates.delete(c);
    else this.collectionStates.set(c, h);
    if (c === 'tikv.writeBatches' && h.state !== 'ok') this.reads++;
  }
  refusing(command: string, reason: string | undefined): void {
    if (reason === undefined) this.refuses.delete(command);
    else this.refuses.set(command, reason);
  }
  version(v: SystemVersion | undefined): void {
    this.versionSeen = v;
  }
  health(h: SourceHealth): void {
    this.healthSeen = h;
  }
  log(message: string): void {
    this.logs.push(message);
  }
  model(): ClusterModel {
    return {
      status: F.status({
        subsystems: {
          regions: {
            state: this.healthSeen.state,
            ...(this.collectionStates.size ? { collections: Object.fromEntries(this.collectionStates) } : {}),
            ...(this.versionSeen ? { version: this.versionSeen } : {}),
          },
        },
      }),
      collections: this.entities,
    };
  }
}

/**
 * PD and two status servers (stores 1 and 4) on one port: `/pd/...`, `/s1/...`, `/s4/...`. Each store's
 * reads of the route step through `ime[store]` (the last body repeats); `/region/3` through `applied`.
 */
interface FakeCluster {
  stores: string;
  ime: Record<number, Array<string | 404>>;
  applied: number[];
  lastRegion: string;
}

async function serve(cluster: FakeCluster): Promise<{ url: string; asked: Record<string, number>; server: Server }> {
  const asked: Record<string, number> = {};
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    asked[path] = (asked[path] ?? 0) + 1;
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (path === '/pd/api/v1/stores') return reply(200, cluster.stores);
    if (path.startsWith('/pd/api/v1/region/key/')) return reply(200, cluster.lastRegion);
    const ime = /^\/s(\d+)\/debug\/ime\/cached_regions$/.exec(path);
    if (ime) {
      const seq = cluster.ime[Number(ime[1])] ?? [404];
      const body = seq[Math.min(asked[path]! - 1, seq.length - 1)]!;
      return body === 404 ? reply(404, 'path not found') : reply(200, body);
    }
    const meta = /^\/s(\d+)\/region\/(\d+)$/.exec(path);
    if (meta) {
      const n = asked[path]!;
      const index = cluster.applied[Math.min(n - 1, cluster.applied.length - 1)]!;
      return reply(200, fixture('tikv-region-3-meta-applied-120.json').replace(/"applied_index":120/, `"applied_index":${index}`));
    }
    reply(404, 'path not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked, server };
}

const IDLE = fixture('ime-cached-regions-idle.json');
const BATCH_3_7 = fixture('ime-cached-regions-batch-3-7.json');
const STALE_3 = fixture('ime-cached-regions-stale-3.json');
const BUGGY_STORES = fixture('pd-stores-8.4.0-alpha-d621ed9e.json');
const FIXED_STORES = fixture('pd-stores-v8.5.7.json');
/** The last region, held by stores 5 and 6 only: stores 1 and 4 are safe to ask. */
const LAST_ELSEWHERE = fixture('pd-region-last.json').replace(/"store_id": 1\b/g, '"store_id": 5');

describe('tikv conformance with upstream shapes (fake PD and status servers)', function () {
  this.timeout(30_000);
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function run(cluster: FakeCluster, tikv: Record<string, unknown>, reads: number) {
    const fake = await serve(cluster);
    const config = GatewayConfig.parse({
      tikv: {
        pd: fake.url,
        tikvStatus: [
          { storeId: 1, url: `${fake.url}/s1` },
          { storeId: 4, url: `${fake.url}/s4` },
        ],
        ...tikv,
      },
      pollMs: 100,
    });
    const source: SubsystemSource = createTikvSource(config.tikv!, config);
    const ctx = new RecordingContext();
    cleanups.push(async () => {
      await source.close();
      fake.server.closeAllConnections();
      await new Promise<void>((r) => fake.server.close(() => r()));
    });
    await source.start(ctx);
    const deadline = Date.now() + 20_000;
    while (ctx.reads < reads && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(ctx.reads >= reads, `${reads} reads within the deadline (got ${ctx.reads})`);
    await source.close();
    return { ctx, asked: fake.asked, model: ctx.model() };
  }

  const optIn = { pollCachedRegions: true, staleMarkMs: 0 };

  it('healthy: no marks, a batch in progress over regions 3 and 7, a hot region marked every other read → 0 findings', async () => {
    const { ctx, model } = await run(
      {
        stores: BUGGY_STORES,
        // Store 1: the batch that prepared 3 and 7 is seen mid-write, then written. Store 4: region 3 hot.
        ime: { 1: [BATCH_3_7, IDLE], 4: [STALE_3, IDLE, STALE_3, IDLE, STALE_3, IDLE, STALE_3, IDLE, STALE_3, IDLE] },
        applied: [120, 121, 122, 123, 124, 125, 126, 127, 128, 129],
        lastRegion: LAST_ELSEWHERE,
      },
      optIn,
      12,
    );
    assert.deepEqual(runChecks(model), []);
    assert.equal(ctx.collectionStates.size, 0, 'both collections read');
    assert.equal(ctx.versionSeen?.version, '8.4.0-alpha+git.d621ed9e4e');
  });

  it('a batch over regions 3 and 7 seen in one read is not flagged (every prepared region stays marked until the batch is written)', async () => {
    const { ctx, model } = await run(
      { stores: BUGGY_STORES, ime: { 1: [BATCH_3_7, IDLE], 4: [IDLE] }, applied: [120], lastRegion: LAST_ELSEWHERE },
      optIn,
      1,
    );
    const batch = [...ctx.entities['tikv.writeBatches'].values()].find((b) => b.storeId === 1);
    assert.ok(batch);
    assert.deepEqual(runChecks(model), []);
  });

  it('the incident: region 3 stays marked at the same epoch with its applied index unchanged → found on 8.4.0-alpha at d621ed9e', async () => {
    const { model } = await run(
      { stores: BUGGY_STORES, ime: { 1: [IDLE], 4: [STALE_3] }, applied: [120], lastRegion: LAST_ELSEWHERE },
      optIn,
      4,
    );
    const findings = runChecks(model);
    assert.deepEqual(
      findings.map((f) => [f.rule, f.count]),
      [['regions/stale-prepared', 1]],
    );
    assert.match(
      findings[0]!.message,
      /^Store 4: 1 region \(3\) is still marked prepared for write, but the batch is at a commit boundary/,
    );
  });

  it('the same shape is not flagged while the applied index moves (the region is written again and again)', async () => {
    const { model } = await run(
      {
        stores: BUGGY_STORES,
        ime: { 1: [IDLE], 4: [STALE_3] },
        applied: [
          120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145,
          146, 147, 148, 149, 150,
        ],
        lastRegion: LAST_ELSEWHERE,
      },
      optIn,
      6,
    );
    assert.deepEqual(runChecks(model), []);
  });

  it('nor before staleMarkMs has passed (default 30 s: longer than any apply round)', async () => {
    const { model } = await run(
      { stores: BUGGY_STORES, ime: { 1: [IDLE], 4: [STALE_3] }, applied: [120], lastRegion: LAST_ELSEWHERE },
      { pollCachedRegions: true },
      5,
    );
    assert.deepEqual(runChecks(model), []);
  });

  it('v8.5.7: the rule is not applicable (fixed by #17703), the incident shape gives no finding', async () => {
    const { model } = await run(
      { stores: FIXED_STORES, ime: { 1: [IDLE], 4: [STALE_3] }, applied: [120], lastRegion: LAST_ELSEWHERE },
      optIn,
      4,
    );
    assert.deepEqual(runChecks(model), []);
    assert.deepEqual(ruleNotes('regions', model.status), [
      'regions/stale-prepared: not applicable to TiKV 8.5.7 (fixed by #17703 (in every release from v8.5.0); affected: master builds from #17685 (d621ed9e4e) to before #17703 (4b5b9e5069), October 22–25 2024, reporting 8.4.0-alpha; no release)',
    ]);
  });

  it('v8.5.6 answers 404 on the route: unavailable with why, never empty', async () => {
    const { ctx, model } = await run(
      { stores: fixture('pd-stores-v8.5.6-v8.5.7.json'), ime: { 1: [IDLE], 4: [404] }, applied: [120], lastRegion: LAST_ELSEWHERE },
      optIn,
      2,
    );
    const h = ctx.collectionStates.get('tikv.regions');
    assert.equal(h?.state, 'unavailable');
    assert.match(h!.reason!, /store 4 .*TiKV 8\.5\.6 does not serve \/debug\/ime\/cached_regions \(HTTP 404\).*#19547/);
    assert.equal(ctx.versionSeen?.version, '8.5.6');
    assert.deepEqual(runChecks(model), []);
    assert.match(ruleNotes('regions', model.status)[0]!, /not applicable to TiKV 8\.5\.6 \(fixed by #17703/);
  });

  it('not opted in: the route is never asked; unavailable with the hazard and how to enable it', async () => {
    const { ctx, asked } = await run(
      { stores: BUGGY_STORES, ime: { 1: [STALE_3], 4: [STALE_3] }, applied: [120], lastRegion: LAST_ELSEWHERE },
      {},
      2,
    );
    assert.equal(Object.keys(asked).filter((p) => p.includes('/debug/ime/')).length, 0);
    const h = ctx.collectionStates.get('tikv.regions');
    assert.match(h!.reason!, /panics TiKV.*empty end key.*"pollCachedRegions": true/);
    assert.match(ruleNotes('regions', ctx.model().status)[0]!, /^regions\/stale-prepared not checked: .*pollCachedRegions/);
  });

  it('opted in: a store that holds a peer of the last region is never asked (the route would panic it), and the user is warned', async () => {
    const { ctx, asked } = await run(
      { stores: BUGGY_STORES, ime: { 1: [IDLE], 4: [IDLE] }, applied: [120], lastRegion: fixture('pd-region-last.json') },
      optIn,
      2,
    );
    assert.equal(asked['/s1/debug/ime/cached_regions'], undefined, 'store 1 holds region 2, whose end key is empty');
    assert.ok(asked['/s4/debug/ime/cached_regions']! >= 1);
    assert.match(
      ctx.collectionStates.get('tikv.regions')!.reason!,
      /store 1 .*not polled: store 1 holds a peer of region 2, whose end key is empty/,
    );
    assert.ok(ctx.logs.some((l) => /^WARNING: "pollCachedRegions": true/.test(l)));
  });

  it("repairs are refused, and listed as refused before anything is sent, with the operator's remedy", async () => {
    const { ctx } = await run({ stores: BUGGY_STORES, ime: { 1: [IDLE], 4: [IDLE] }, applied: [120], lastRegion: LAST_ELSEWHERE }, {}, 1);
    assert.deepEqual([...ctx.refuses.keys()].sort(), ['tikv.clearPreparedMark', 'tikv.evictRegion']);
    assert.match(NO_TIKV_REPAIR_API, /restart that TiKV store/);
    const source = createTikvSource(
      GatewayConfig.parse({ tikv: { pd: 'http://127.0.0.1:9', tikvStatus: ['http://127.0.0.1:9'] } }).tikv!,
      GatewayConfig.parse({}),
    );
    const items = await source.repair({ command: 'tikv.evictRegion', targets: [{ key: 'store-4/region-3', version: 1 }] } as never, []);
    assert.deepEqual(
      items.map((i) => i.status),
      ['refused'],
    );
  });

  it('safe_point: the TSO is decoded exactly (a float would be 1 ms off)', () => {
    const d = decodeCachedRegions(STALE_3, 4);
    assert.ok(d.ok);
    assert.equal(d.value.regions[0]!.safePoint, 1714706420898);
    const asFloat = (JSON.parse(STALE_3) as Array<{ safe_point: number }>)[0]!.safe_point;
    assert.equal(Math.floor(asFloat / 2 ** 18), 1714706420899, 'what JSON.parse and a float division give');
  });

  it("decodes upstream's own test body (test_debug_in_memory_engine, #19547)", () => {
    const d = decodeCachedRegions(fixture('ime-cached-regions-upstream-test.json'), 1);
    assert.ok(d.ok);
    assert.deepEqual(
      d.value.regions.map((r) => [r.regionId, r.start, r.end, r.epochVersion, r.state, r.isWritten]),
      [[1, '61', '62', 1, 'Active', false]],
    );
  });

  it('RULE_VERSIONS: the rule applies only to the master builds between #17685 and #17703', () => {
    const applies = RULE_VERSIONS['regions/stale-prepared']!.applies;
    assert.deepEqual(
      [
        '8.4.0-alpha+git.d621ed9e4e',
        '8.4.0-alpha+git.f0713b6070',
        '8.4.0-alpha+git.4b5b9e5069',
        '8.4.0-alpha+git.ed04f214d1',
        '8.4.0-alpha',
        '8.4.0',
        '8.5.0',
        '8.5.6',
        '8.5.7',
        '9.0.0-beta.2',
        'Unknown',
      ].map(applies),
      [true, true, false, false, undefined, false, false, false, false, false, undefined],
    );
  });
});
