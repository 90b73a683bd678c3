/**
 * The gateway's own behaviour, with no real store: subsystems that are not configured or cannot be
 * read, records that do not decode, read-only refusals (at the gateway and, before anything is
 * sent, in the engine), status changes reaching a connected workspace.
 */
import * as assert from 'node:assert/strict';
import {
  SUBSYSTEMS,
  type CollectionName,
  type EntityOf,
  type RepairCommand,
  type RepairItemResult,
  type Subsystem,
  type TreeNode,
} from '../../src/protocol';
import { ClusterClient } from '../../src/cluster/client';
import { startClusterServer, type ClusterServer } from '../../src/cluster/server';
import { GatewayConfig, type GatewayConfigInput } from '../../src/gateway/config';
import { createSourcesIsolated, Gateway, READ_ONLY_REASON } from '../../src/gateway/gateway';
import type { SourceContext, SubsystemSource } from '../../src/gateway/source';
import { connectClusterClient, type LinkFactory } from '../../src/engine/link';
import { treeChildren } from '../../src/engine/tree';
import { ClusterWorkspace } from '../../src/engine/workspace';
import * as F from '../unit/fixtures';
import { testSecret } from '../secrets';

/** The gateway's token (test/secrets.ts: a whole test run is searched for it). */
const TOKEN = testSecret('gateway');

/** A fluvio source from memory: one Online partition whose leader SPU reports its storage full (the incident). */
class FakeFluvio implements SubsystemSource {
  readonly subsystem = 'partitions' as const;
  readonly collections: CollectionName[] = ['fluvio.partitions', 'fluvio.spuReports', 'fluvio.spus'];
  readonly commands: RepairCommand['command'][] = ['fluvio.restoreFromSpuReport'];
  ctx!: SourceContext;
  repairs: RepairCommand[] = [];
  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    ctx.replace('fluvio.partitions', [F.partition('events', 0)] as EntityOf<'fluvio.partitions'>[]);
    ctx.replace('fluvio.spuReports', [F.spuReport(5001, 'events', 0, { storageFull: true })] as EntityOf<'fluvio.spuReports'>[]);
    ctx.health({ state: 'ok' });
  }
  async repair(command: RepairCommand): Promise<RepairItemResult[]> {
    this.repairs.push(command);
    return [];
  }
  async close(): Promise<void> {}
}

function gatewayOf(config: GatewayConfigInput, sources: SubsystemSource[]): Gateway {
  return new Gateway(GatewayConfig.parse(config), sources);
}

/** A link factory that records every request method sent. */
function recording(methods: string[]): LinkFactory {
  return async (options) => {
    const client = await connectClusterClient(options);
    const request = client.request.bind(client) as (m: string, p: unknown) => Promise<unknown>;
    return {
      init: client.init,
      request: ((method: string, params: unknown) => {
        methods.push(method);
        return request(method, params);
      }) as ClusterClient['request'],
      listAll: client.listAll.bind(client),
      onEvents: client.onEvents.bind(client),
      onClose: client.onClose.bind(client),
      close: client.close.bind(client),
    };
  };
}

describe('gateway', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function serve(gateway: Gateway): Promise<ClusterServer> {
    await gateway.start();
    const server = await startClusterServer(gateway, { token: TOKEN });
    cleanup.push(
      () => gateway.close(),
      () => server.close(),
    );
    return server;
  }

  it('with an empty config: every subsystem not configured, read-only, nothing in the store', () => {
    const status = gatewayOf({}, []).status();
    assert.equal(status.readOnly, true);
    for (const s of SUBSYSTEMS) {
      assert.equal(status.subsystems?.[s]?.state, 'not-configured', s);
      assert.match(status.subsystems?.[s]?.reason ?? '', /no \w+ section in the gateway config/);
    }
    assert.ok(Object.values(status.counts).every((n) => n === 0));
  });

  it("its time is wall-clock Unix seconds, the clock of the real system's own timestamps (ages are time − since)", () => {
    const before = Math.floor(Date.now() / 1000);
    const status = gatewayOf({}, []).status();
    const after = Math.floor(Date.now() / 1000);
    assert.equal(status.scenario, 'gateway');
    assert.ok(status.time >= before && status.time <= after, `time ${status.time} is now (${before}…${after})`);
  });

  it('a source that cannot be made leaves its subsystem unavailable with the reason; the others are made', async () => {
    const config = GatewayConfig.parse({ greptime: { etcd: { endpoints: ['http://127.0.0.1:1'] } }, fluvio: { metadataDir: '/nowhere' } });
    const sources = createSourcesIsolated(config, (c) => {
      if (c.greptime) throw new Error('etcd says no');
      return c.fluvio ? [new FakeFluvio()] : [];
    });
    assert.deepEqual(sources.map((s) => s.subsystem).sort(), ['ddl', 'partitions']);
    const gateway = new Gateway(config, sources);
    await gateway.start();
    const status = gateway.status();
    assert.deepEqual(status.subsystems?.ddl, { state: 'unavailable', reason: 'cannot read greptime: etcd says no' });
    assert.equal(status.subsystems?.partitions?.state, 'ok');
    assert.equal(status.subsystems?.shards?.state, 'not-configured');
    assert.equal(status.counts['fluvio.partitions'], 1);
  });

  it('lists unreadable records and counts them', async () => {
    const source = new FakeFluvio();
    const gateway = gatewayOf({ fluvio: { metadataDir: '/x' } }, [source]);
    await gateway.start();
    source.ctx.unreadable('fluvio.partitions', [{ collection: 'fluvio.partitions', key: 'Partition/bad-0.yaml', reason: 'not YAML' }]);
    assert.deepEqual(gateway.status().subsystems?.partitions, {
      state: 'ok',
      // The fake source never read its SPUs: unknown, not empty.
      collections: { 'fluvio.spus': { state: 'unread', reason: 'not read yet' } },
      unreadable: [{ collection: 'fluvio.partitions', key: 'Partition/bad-0.yaml', reason: 'not YAML' }],
      unreadableCount: 1,
    });
  });

  it('read-only: refuses a repair sent through the protocol, item by item, and changes nothing', async () => {
    const source = new FakeFluvio();
    const gateway = gatewayOf({ fluvio: { metadataDir: '/x' } }, [source]);
    const server = await serve(gateway);
    const client = await ClusterClient.connect({ url: server.url, token: TOKEN, clientName: 'test' });
    cleanup.push(() => client.close());
    const before = await client.request('cluster.status', {});
    assert.equal(before.readOnly, true);
    const partitions: EntityOf<'fluvio.partitions'>[] = [];
    for await (const page of client.listAll('fluvio.partitions')) partitions.push(...page);
    const [partition] = partitions;
    const result = await client.request('repair', {
      requestId: 'r1',
      incarnation: before.incarnation!,
      repair: { command: 'fluvio.restoreFromSpuReport', targets: [{ key: partition.key, version: partition.version }] },
    });
    assert.equal(result.applied, 0);
    assert.equal(result.refused, 1);
    assert.deepEqual(
      result.items.map((i) => [i.status, i.message]),
      [['refused', READ_ONLY_REASON]],
    );
    assert.match(READ_ONLY_REASON, /read-only.*"repairs": true/);
    assert.deepEqual(source.repairs, [], 'the source was never asked to write');
    const after = await client.request('cluster.status', {});
    assert.equal(after.seq, before.seq);
  });

  it('the engine refuses repairs on a read-only cluster before sending anything (one and all safe)', async () => {
    const server = await serve(gatewayOf({ fluvio: { metadataDir: '/x' } }, [new FakeFluvio()]));
    const methods: string[] = [];
    const workspace = new ClusterWorkspace({ connect: recording(methods), log: () => undefined, reconnect: false, statusPollMs: 0 });
    cleanup.push(() => workspace.dispose());
    await workspace.connect({ name: 'gw', url: server.url, token: TOKEN });
    const [finding] = workspace.findings({ cluster: 'gw' });
    assert.equal(finding?.rule, 'partitions/online-out-of-space', 'the checks see the incident through the gateway');
    const one = await workspace.applyRepair({ cluster: 'gw', findingId: finding.id, repairId: finding.repairs[0].id });
    assert.equal(one.ok, false);
    assert.match(one.summary, /^Refused: gw is read-only.*nothing was sent$/);
    const all = await workspace.applyAllSafe('gw');
    assert.equal(all.ok, false);
    assert.match(all.summary, /read-only/);
    assert.ok(!methods.includes('repair'), `no repair request was sent (sent: ${[...new Set(methods)].join(', ')})`);
  });

  it('a health change with no entity change reaches the workspace, its listeners and the tree', async () => {
    const source = new FakeFluvio();
    const server = await serve(gatewayOf({ fluvio: { metadataDir: '/x' } }, [source]));
    const workspace = new ClusterWorkspace({ connect: connectClusterClient, log: () => undefined, reconnect: false, statusPollMs: 50 });
    cleanup.push(() => workspace.dispose());
    const announced: Subsystem[][] = [];
    workspace.addListener({ changed: (_c, subsystems) => announced.push([...subsystems]), removed: () => undefined });
    await workspace.connect({ name: 'gw', url: server.url, token: TOKEN });
    const c = workspace.require('gw');
    const root = (s: Subsystem): TreeNode[] => treeChildren(workspace.list(), s, `${s}:gw`, null, 100);
    assert.deepEqual(
      root('shards').map((n) => [n.kind, n.health, n.label]),
      [['message', 'none', 'Not configured: no quickwit section in the gateway config']],
    );
    const [clusterNode] = treeChildren(workspace.list(), 'shards', null, null, 100);
    assert.match(clusterNode.description ?? '', /not configured · read-only/);
    assert.equal(clusterNode.health, 'none');

    announced.length = 0;
    source.ctx.health({ state: 'unavailable', reason: 'metadata folder gone' });
    const deadline = Date.now() + 10_000;
    while (!announced.some((s) => s.includes('partitions')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      announced.some((s) => s.includes('partitions')),
      'the partitions view was told',
    );
    assert.equal(c.session.model?.status.subsystems?.partitions?.state, 'unavailable');
    const nodes = root('partitions');
    assert.deepEqual([nodes[0].kind, nodes[0].health, nodes[0].label], ['message', 'error', 'Unavailable: metadata folder gone']);
    assert.ok(
      nodes.slice(1).some((n) => n.label === 'events'),
      'what was read before stays visible',
    );
    const [partitionsRoot] = treeChildren(workspace.list(), 'partitions', null, null, 100);
    assert.equal(partitionsRoot.health, 'error');
    assert.equal(workspace.infos()[0].state, 'live', 'the cluster stays connected for the others');
  });

  it('a command its source refuses now (the owner runs) is refused everywhere: the preview, Repair All Safe and the gateway', async () => {
    const source = new FakeFluvio();
    const server = await serve(gatewayOf({ fluvio: { metadataDir: '/x' }, repairs: true }, [source]));
    const workspace = new ClusterWorkspace({ connect: connectClusterClient, log: () => undefined, reconnect: false, statusPollMs: 50 });
    cleanup.push(() => workspace.dispose());
    const remedy = 'the SC runs and keeps partitions in memory: stop the SC, repair, start it';
    source.ctx.refusing('fluvio.restoreFromSpuReport', remedy);
    await workspace.connect({ name: 'gw', url: server.url, token: TOKEN });
    const [finding] = workspace.findings({ cluster: 'gw' });
    assert.equal(finding?.rule, 'partitions/online-out-of-space');
    const preview = await workspace.preview({ cluster: 'gw', findingId: finding.id, repairId: finding.repairs[0].id });
    assert.deepEqual(preview?.resolves, [], 'the preview does not promise what the gateway refuses');
    assert.deepEqual(
      preview?.operations.map((o) => [o.command, o.applied, o.refused, o.refusals[0]?.message]),
      [['fluvio.restoreFromSpuReport', 0, 1, `refused by the gateway: ${remedy}`]],
    );
    assert.deepEqual(workspace.planAllSafe(workspace.require('gw')), [], 'Repair All Safe leaves it out');
    const one = await workspace.applyRepair({ cluster: 'gw', findingId: finding.id, repairId: finding.repairs[0].id });
    assert.equal(one.ok, false);
    assert.deepEqual(source.repairs, [], 'the source was never asked to write');

    // The owner stopped: the same repair is accepted again.
    source.ctx.refusing('fluvio.restoreFromSpuReport', undefined);
    const deadline = Date.now() + 10_000;
    while (workspace.require('gw').session.model?.status.subsystems?.partitions?.refuses && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(workspace.require('gw').session.model?.status.subsystems?.partitions?.refuses, undefined);
    assert.equal(workspace.planAllSafe(workspace.require('gw')).length, 1);
  });
});
