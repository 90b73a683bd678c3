/**
 * The gateway's `cluster.summary` while a source's first read is still running: that source's
 * collections are counted by its store's own query (`SubsystemSource.summary`), or are absent if it
 * has none; once the read is over, the mirror answers. The first read is held by the test.
 */
import * as assert from 'node:assert/strict';
import type { CollectionName, CollectionSummary, EntityOf, RepairCommand, RepairItemResult } from '../../src/protocol';
import { GatewayConfig } from '../../src/gateway/config';
import { Gateway } from '../../src/gateway/gateway';
import type { SourceContext, SubsystemSource } from '../../src/gateway/source';
import * as F from '../unit/fixtures';

/** A fluvio source whose first read waits for `release()`, and whose store counts two partitions of `events`. */
class SlowFluvio implements SubsystemSource {
  readonly subsystem = 'partitions' as const;
  readonly collections: CollectionName[] = ['fluvio.partitions', 'fluvio.spuReports', 'fluvio.spus'];
  readonly commands: RepairCommand['command'][] = [];
  release!: () => void;
  private readonly gate = new Promise<void>((r) => (this.release = r));
  summaries = 0;
  constructor(counts: boolean) {
    if (!counts) (this as { summary?: unknown }).summary = undefined;
  }
  async summary(): Promise<Partial<Record<CollectionName, CollectionSummary>>> {
    this.summaries++;
    return { 'fluvio.partitions': { total: 2, states: { Online: 2 }, groups: [{ group: 'events', count: 2, states: { Online: 2 } }] } };
  }
  async start(ctx: SourceContext): Promise<void> {
    await this.gate;
    ctx.replace('fluvio.partitions', [
      F.partition('events', 0),
      F.partition('events', 1),
      F.partition('logs', 0),
    ] as EntityOf<'fluvio.partitions'>[]);
    ctx.health({ state: 'ok' });
  }
  async repair(): Promise<RepairItemResult[]> {
    return [];
  }
  async close(): Promise<void> {}
}

describe('gateway cluster.summary while a source reads', () => {
  it("comes from the store's own count while the first read runs, then from the mirror", async () => {
    const source = new SlowFluvio(true);
    const gateway = new Gateway(GatewayConfig.parse({ fluvio: { metadataDir: '/nonexistent' } }), [source]);
    const started = gateway.start(0);
    await started; // serving, the read still held
    const early = await gateway.summary();
    assert.equal(source.summaries, 1);
    assert.deepEqual(early.collections['fluvio.partitions'], {
      total: 2,
      states: { Online: 2 },
      groups: [{ group: 'events', count: 2, states: { Online: 2 } }],
    });
    assert.equal(early.collections['fluvio.spus'], undefined, 'a collection the store cannot count is absent, not 0');
    assert.equal(early.collections['quickwit.metastore.shards']?.total, 0, 'a subsystem not configured holds nothing');
    source.release();
    // The read ends on its own: poll (with a deadline) until the mirror answers.
    const deadline = Date.now() + 10_000;
    let late = await gateway.summary();
    while (late.collections['fluvio.spus'] === undefined && Date.now() < deadline) {
      await new Promise<void>((r) => setImmediate(r));
      late = await gateway.summary();
    }
    assert.equal(late.collections['fluvio.partitions']?.total, 3, 'the mirror answers once the read is over (the store counted 2)');
    assert.equal(late.collections['fluvio.spus']?.total, 0);
    await gateway.close();
  });

  it('a source without a store-side count is absent until its read is over', async () => {
    const source = new SlowFluvio(false);
    const gateway = new Gateway(GatewayConfig.parse({ fluvio: { metadataDir: '/nonexistent' } }), [source]);
    await gateway.start(0);
    const early = await gateway.summary();
    for (const c of source.collections) assert.equal(early.collections[c], undefined, c);
    source.release();
    await gateway.close();
  });
});
