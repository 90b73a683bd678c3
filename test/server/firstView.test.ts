/**
 * The first view: before the full sync ends, the trees show the groups and counts of
 * `cluster.summary`, the cluster info says a sync is running and how far it is, and a disconnect
 * cancels it. The sync is held at its first page by a gate in the link (no timing involved).
 * A cluster without `cluster.summary` (an older one) is synced in full, as before.
 */
import * as assert from 'node:assert/strict';
import { COLLECTION_NAMES, type EntityOf, type SyncProgress, type TreeNode } from '../../src/protocol';
import { NO_CLUSTER_MESSAGE, treeChildren } from '../../src/engine/tree';
import { ClusterWorkspace } from '../../src/engine/workspace';
import { ConnectError } from '../../src/engine/cluster';
import { snapshot, useSimulator } from '../sim/helpers';
import { GatedLinks } from './gatedLinks';

/** Resolves when `test()` holds after some workspace change; rejects after `ms`. */
function until(workspace: ClusterWorkspace, what: string, test: () => boolean, ms = 20_000): Promise<void> {
  if (test()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    const check = () => {
      if (test()) {
        clearTimeout(timer);
        resolve();
      }
    };
    workspace.addListener({ changed: check, removed: check, syncProgress: check });
  });
}

/** The tree's nodes down a path of labels (each level's first page). */
function nodesAt(workspace: ClusterWorkspace, subsystem: 'shards' | 'ddl' | 'partitions', labels: string[]): TreeNode[] {
  let nodes = treeChildren(workspace.list(), subsystem, null, null, 500);
  let parent = nodes[0];
  nodes = treeChildren(workspace.list(), subsystem, parent.id, null, 500);
  for (const label of labels) {
    parent = nodes.find((n) => n.label === label)!;
    assert.ok(parent, `a node ${label} among ${nodes.map((n) => n.label).join(', ')}`);
    nodes = treeChildren(workspace.list(), subsystem, parent.id, null, 500);
  }
  return nodes;
}

/** Id and description without what only the synced view has: the problem count, etcd's bytes (a summary counts, it does not add up sizes). */
const shown = (nodes: TreeNode[]) =>
  nodes.map((n) => `${n.id} ${n.label}: ${(n.description ?? '').replace(/ · \d+ problems?$/, '').replace(/ · [\d.]+ MiB$/, '')}`);

describe('first view and sync progress (engine, real simulator)', function () {
  this.timeout(60_000);
  const sim = useSimulator();
  let workspace: ClusterWorkspace;
  const log: string[] = [];

  beforeEach(async () => {
    await sim.client.request('sim.reset', { scenario: 'incident-all', seed: 2, size: { danglingShards: 12_000, liveShards: 30 } });
    log.length = 0;
  });
  afterEach(() => workspace?.dispose());

  function start(links: GatedLinks): ClusterWorkspace {
    workspace = new ClusterWorkspace({ connect: links.factory, log: (m) => log.push(m), reconnect: false, statusPollMs: 0 });
    return workspace;
  }

  it("shows the summary's groups and counts before any page arrives, the same the synced trees show after", async () => {
    const links = new GatedLinks();
    const ws = start(links);
    const progress: SyncProgress[] = [];
    let ended: string | undefined;
    ws.addListener({
      changed: () => undefined,
      removed: () => undefined,
      syncProgress: (_c, p, outcome) => (p ? progress.push(p) : (ended = outcome?.phase)),
    });
    const connected = ws.connect({ name: 'sim', url: sim.server.url, token: sim.server.token });
    await until(ws, 'the first view', () => ws.get('sim')?.session.summary != null);

    // Held at the first page: no entity has arrived, and the views show the cluster's counts.
    const cluster = ws.get('sim')!;
    assert.equal(cluster.session.model, null);
    const info = ws.infos()[0];
    assert.equal(info.state, 'syncing');
    assert.ok(info.sync, 'the cluster info says a sync is running');
    assert.equal(info.sync.done, 0);
    const fresh = await snapshot(sim.client, 5000);
    const entities = COLLECTION_NAMES.reduce((n, c) => n + fresh[c].size, 0);
    assert.equal(info.sync.total, entities, 'of every entity the cluster holds');
    const root = treeChildren(ws.list(), 'shards', null, null, 500)[0];
    assert.match(root.description ?? '', /^syncing 0%/);

    const shards = fresh['quickwit.metastore.shards'] as Map<string, EntityOf<'quickwit.metastore.shards'>>;
    const index = [...shards.values()][0].indexUid;
    const firstView = {
      indexes: shown(nodesAt(ws, 'shards', [])),
      sources: shown(nodesAt(ws, 'shards', [index])),
      tables: shown(nodesAt(ws, 'ddl', [])),
      topics: shown(nodesAt(ws, 'partitions', [])),
    };
    const source = [...shards.values()].find((s) => s.indexUid === index)!.sourceId;
    const metastoreOfSource = [...shards.values()].filter((s) => s.indexUid === index && s.sourceId === source).length;
    const components = nodesAt(ws, 'shards', [index, source]);
    assert.equal(components.find((n) => n.label === 'metastore')?.description, `${metastoreOfSource.toLocaleString('en-US')} shards`);
    assert.match(nodesAt(ws, 'shards', [index, source, 'metastore'])[0].label, /^Loading: the entities arrive when the sync ends/);
    assert.ok(firstView.indexes.length > 0 && firstView.tables.length > 0 && firstView.topics.length > 0, JSON.stringify(firstView));
    // Before every entity is there, only what the counts prove: provisional, with no repair.
    const early = cluster.checker.findings();
    assert.deepEqual(early.map((f) => f.rule).sort(), ['ddl/backlog', 'shards/dangling']);
    for (const f of early) assert.ok(f.provisional && f.repairs.length === 0, f.id);
    assert.equal(ws.infos()[0].checked, undefined, 'not checked: findings from the counts only');

    links.release();
    await connected;
    assert.equal(ended, 'done');
    assert.ok(progress.length > 2, `progress reported page by page (${progress.length} reports)`);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].done >= progress[i - 1].done, 'done never goes back');
    assert.equal(progress.at(-1)!.done, entities);
    assert.equal(ws.infos()[0].sync, undefined, 'no sync running once live');
    assert.equal(ws.infos()[0].checked, true, 'the full check ran');
    assert.ok(cluster.checker.findings().length > early.length, 'the findings came with the sync');
    for (const f of early)
      assert.ok(cluster.checker.finding(f.id) && !cluster.checker.finding(f.id)!.provisional, `${f.id}: replaced by the full finding`);
    assert.ok(cluster.checker.findings().every((f) => !f.provisional));
    // The synced trees have the same groups, ids and counts.
    assert.deepEqual(shown(nodesAt(ws, 'shards', [])), firstView.indexes);
    assert.deepEqual(shown(nodesAt(ws, 'shards', [index])), firstView.sources);
    assert.deepEqual(shown(nodesAt(ws, 'ddl', [])), firstView.tables);
    assert.deepEqual(shown(nodesAt(ws, 'partitions', [])), firstView.topics);
  });

  it('a disconnect cancels the sync: connect says so, and nothing of the cluster is left', async () => {
    const links = new GatedLinks();
    const ws = start(links);
    let removed = 0;
    ws.addListener({ changed: () => undefined, removed: () => removed++ });
    const connected = ws.connect({ name: 'sim', url: sim.server.url, token: sim.server.token });
    await until(ws, 'the first view', () => ws.get('sim')?.session.summary != null);
    const session = ws.get('sim')!.session;
    ws.disconnect('sim');
    await assert.rejects(connected, (e: unknown) => e instanceof ConnectError && /the sync was cancelled/.test(e.message));
    links.release();
    assert.equal(removed, 1);
    assert.deepEqual(ws.infos(), []);
    assert.equal(session.state, 'disconnected');
    assert.equal(session.model, null);
    assert.equal(session.syncProgress, null);
    assert.deepEqual(
      treeChildren(ws.list(), 'shards', null, null, 500).map((n) => n.label),
      [NO_CLUSTER_MESSAGE],
    );
  });

  it('a first sync that fails leaves no provisional finding behind', async () => {
    const links = new GatedLinks();
    const ws = start(links);
    const connected = ws.connect({ name: 'sim', url: sim.server.url, token: sim.server.token });
    await until(ws, 'the provisional findings', () => (ws.infos()[0]?.provisional ?? 0) > 0);
    links.fail('the store went away');
    await assert.rejects(connected, (e: unknown) => e instanceof ConnectError && /the store went away/.test(e.message));
    const [info] = ws.infos();
    assert.equal(info.state, 'disconnected');
    assert.equal(info.provisional, undefined);
    assert.deepEqual([info.errors, info.warnings], [0, 0]);
    assert.deepEqual(ws.get('sim')!.checker.findings(), []);
  });

  it('a cluster without cluster.summary (an older one) is synced in full, with progress from its counts', async () => {
    const links = new GatedLinks({ old: true });
    links.release();
    const ws = start(links);
    let last: SyncProgress | undefined;
    ws.addListener({ changed: () => undefined, removed: () => undefined, syncProgress: (_c, p) => (last = p ?? last) });
    await ws.connect({ name: 'sim', url: sim.server.url, token: sim.server.token });
    assert.ok(!links.requests.includes('cluster.summary'), `never asked: ${links.requests.join(', ')}`);
    const cluster = ws.get('sim')!;
    assert.equal(cluster.session.summary, null);
    assert.equal(cluster.session.state, 'live');
    const fresh = await snapshot(sim.client, 5000);
    for (const c of COLLECTION_NAMES) assert.equal(cluster.session.model!.collections[c].size, fresh[c].size, c);
    assert.ok(last && last.total > 0 && last.done === last.total, JSON.stringify(last));
    assert.ok(cluster.checker.findings().length > 0);
  });
});
