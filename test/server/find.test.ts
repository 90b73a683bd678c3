/**
 * `clusterDebugger/findEntity` from the real language server against the real simulator: the
 * entities whose key holds a query, paged; each one's tree id is a node of its view that shows that
 * entity, and its line in the cluster's document is the entity's line.
 */
import * as assert from 'node:assert/strict';
import {
  COLLECTION_NAMES,
  FindEntityResult,
  LspMethods,
  STATE_FIELD,
  type ClusterInfo,
  type FoundEntity,
  type TreeNode,
} from '../../src/protocol';
import { useLanguageServer } from './lsp';
import { startSim } from './sim';

describe('clusterDebugger/findEntity (real server, real simulator)', function () {
  this.timeout(60_000);
  const t = useLanguageServer();

  async function find(query: string, cursor: string | null = null, limit = 200): Promise<FindEntityResult> {
    return FindEntityResult.parse(await t.lsp.request(LspMethods.findEntity, { query, cursor, limit }));
  }

  /** The node with this id, walked down from the view's root by the ids' path prefixes, following pages. */
  async function treeNode(e: FoundEntity): Promise<TreeNode | undefined> {
    let parentId = `${e.subsystem}:${e.cluster}`;
    for (let depth = 0; depth < 8; depth++) {
      let cursor: string | undefined;
      let next: TreeNode | undefined;
      do {
        const { nodes } = await t.lsp.request<{ nodes: TreeNode[] }>(LspMethods.treeChildren, {
          subsystem: e.subsystem,
          parentId,
          cursor,
          limit: 1000,
        });
        next = nodes.find((n) => n.kind !== 'loadMore' && (n.id === e.treeId || e.treeId!.startsWith(`${n.id}/`)));
        cursor = nodes.find((n) => n.kind === 'loadMore')?.cursor;
      } while (!next && cursor);
      if (!next || next.id === e.treeId) return next;
      parentId = next.id;
    }
    return undefined;
  }

  it('finds an entity of each collection by part of its key; each is its tree node and document line', async () => {
    const sim = await startSim(['--scenario', 'incident-all', '--seed', '1']);
    t.sims.push(sim);
    const info = await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: sim.url, token: sim.token });
    assert.equal(info.state, 'live');

    // A query every key holds a character of: the pages, followed to the end, give each entity once.
    const all: FoundEntity[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await find('-', cursor, 500);
      assert.ok(page.entities.length <= 500);
      all.push(...page.entities);
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 1000);
    assert.ok(pages > 1, 'more than one page');
    const ids = all.map((e) => `${e.collection} ${e.key}`);
    assert.equal(new Set(ids).size, ids.length, 'no entity twice');

    for (const collection of COLLECTION_NAMES) {
      const one = all.find((e) => e.collection === collection);
      if (!one) continue;
      const found = (await find(one.key.slice(1).toUpperCase(), null, 1000)).entities.find(
        (e) => e.collection === collection && e.key === one.key,
      );
      assert.ok(found, `part of ${one.key} finds it`);
      assert.ok(found.location, `${collection} ${one.key} has a document line`);
      const { text } = await t.lsp.request<{ text: string }>(LspMethods.document, { uri: found.location.uri });
      // A group too large to list in the document has one line; its entities point at it.
      const line = text.split('\n')[found.location.line]!;
      const group = /^group (\S+) /.exec(line)?.[1];
      assert.ok(
        line.includes(one.key) || (group !== undefined && one.key.includes(group)),
        `line ${found.location.line} of ${found.location.uri} is ${one.key}'s: ${line}`,
      );
      if (found.treeId === undefined) {
        assert.ok(['quickwit.ingesters', 'fluvio.spuReports', 'fluvio.spus'].includes(collection), `${collection} has a node in its view`);
        continue;
      }
      const node = await treeNode(found);
      assert.ok(node, `${found.treeId} is a node of the ${found.subsystem} view`);
      assert.deepEqual(node.entity, { collection, key: one.key });
      // The match carries the marker its node shows, and its state where the collection has one.
      if (node.health === 'error' || node.health === 'warning') assert.equal(found.severity, node.health, `${one.key}'s marker`);
      else assert.equal(found.problems, 0, `${one.key} has no problem in its view`);
      assert.equal(typeof found.state, STATE_FIELD[collection] ? 'string' : 'undefined', `${collection}'s state`);
    }
  });

  it('answers a bad cursor and an unknown cluster with an error in words', async () => {
    await assert.rejects(t.lsp.request(LspMethods.findEntity, { query: 'x', cursor: 'garbage' }), /not a cursor of this server/);
    await assert.rejects(t.lsp.request(LspMethods.findEntity, { query: 'x', cluster: 'nope' }), /no cluster named nope is connected/);
  });
});
