/**
 * Bench: sync and check the 763,471-shard incident through the language
 * server process, against the raw cost of reading the same entities
 * (WebSocket + `JSON.parse`, no validation, no model).
 *
 * Prints sync time, check time, the server's peak RSS (VmHWM), the ratio
 * of the server's sync to the raw read, and the bytes per entity on the wire
 * as v1 objects and as `columns-v1` pages; and the first view: connect → the summary's groups and
 * counts in the Shards tree (`cluster.summary`, before the full sync), and the summary alone; and
 * connect → the first problem published (a provisional one, from the checks on counts) and → the
 * first full problem (after the sync and the checks on every entity).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ClusterClient } from '../../src/protocol/client';
import {
  COLLECTION_NAMES,
  decodeColumnsPage,
  LspMethods,
  MAX_PAGE_LIMIT,
  PROTOCOL_VERSION,
  type ClusterInfo,
  type DidChangeParams,
  type TreeNode,
} from '../../src/protocol';
import { INCIDENT, ms, startLanguageServer, startSim } from '../processes';

export async function benchServerSync(outDir = join(__dirname)): Promise<void> {
  const sim = await startSim(outDir);
  try {
    const { url, token } = sim;
    const control = await ClusterClient.connect({ url, token, clientName: 'bench', requestTimeoutMs: 600_000 });
    let t = performance.now();
    const status = await control.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1, size: INCIDENT });
    const entities = Object.values(status.counts).reduce((a, b) => a + b, 0);
    console.log(`server-sync: built the incident (${entities.toLocaleString('en-US')} entities) in ${ms(t)}`);
    t = performance.now();
    const summary = await control.request('cluster.summary', {});
    console.log(
      `server-sync: cluster.summary (${Object.keys(summary.collections).length} collections, ${JSON.stringify(summary).length.toLocaleString('en-US')} bytes) in ${ms(t)}`,
    );
    control.close();

    t = performance.now();
    const raw = await rawRead(url, token);
    const rawMs = performance.now() - t;
    console.log(`server-sync: raw ws + JSON.parse of every collection: ${raw.items.toLocaleString('en-US')} entities, ${(raw.bytes / 1e6).toFixed(0)} MB in ${rawMs.toFixed(0)} ms`);
    t = performance.now();
    const raw2 = await rawRead(url, token, ['columns-v1']);
    const raw2Ms = performance.now() - t;
    console.log(
      `server-sync: raw ws + JSON.parse, columns-v1: ${raw2.items.toLocaleString('en-US')} entities, ${(raw2.bytes / 1e6).toFixed(0)} MB in ${raw2Ms.toFixed(0)} ms ` +
        `(decoding the pages into entity objects: ${raw2.decodeMs.toFixed(0)} ms of it)`,
    );
    console.log(
      `server-sync: bytes per entity on the wire: v1 objects ${(raw.bytes / raw.items).toFixed(0)}, columns-v1 ${(raw2.bytes / raw2.items).toFixed(0)} ` +
        `(${((100 * raw2.bytes) / raw.bytes).toFixed(0)}% of v1)`,
    );

    const logs: string[] = [];
    let firstView: Promise<{ ms: number; rows: number }> | undefined;
    /** When the first problem was published, provisional (from counts) or full, and what it said. */
    const problems: { provisional?: { ms: number; message: string }; full?: { ms: number; message: string } } = {};
    const { process: server, conn } = await startLanguageServer(outDir, {}, (c) => {
      c.onNotification('window/logMessage', (p: { message: string }) => void logs.push(p.message));
      c.onNotification('textDocument/publishDiagnostics', (p: { diagnostics: { message: string }[] }) => {
        for (const d of p.diagnostics) {
          const kind = d.message.includes('(from counts;') ? 'provisional' : 'full';
          problems[kind] ??= { ms: performance.now() - t, message: d.message };
        }
      });
      c.onNotification(LspMethods.syncProgress, () => undefined);
      // The first view: the first change while syncing, then the Shards tree's groups as the extension asks for them.
      c.onNotification(LspMethods.didChange, (p: DidChangeParams) => {
        if (firstView || !p.clusters.some((x) => x.sync)) return;
        firstView = (async () => {
          const roots = (await c.sendRequest(LspMethods.treeChildren, { subsystem: 'shards', parentId: null })) as { nodes: TreeNode[] };
          const groups = (await c.sendRequest(LspMethods.treeChildren, { subsystem: 'shards', parentId: roots.nodes[0]!.id })) as { nodes: TreeNode[] };
          return { ms: performance.now() - t, rows: groups.nodes.filter((n) => n.kind === 'group').length };
        })();
      });
    });
    t = performance.now();
    const info = (await conn.sendRequest(LspMethods.connect, { name: 'bench', url, token })) as ClusterInfo;
    const totalMs = performance.now() - t;
    const first = await firstView;
    console.log(
      first
        ? `server-sync: connect → first view (the Shards tree's ${first.rows} group row(s) with the summary's counts) in ${first.ms.toFixed(0)} ms`
        : 'server-sync: no first view (the cluster gave no summary)',
    );
    const said = (p: { ms: number; message: string } | undefined) => (p ? `${p.ms.toFixed(0)} ms ("${p.message.slice(0, 160)}${p.message.length > 160 ? '…' : ''}")` : 'none');
    console.log(`server-sync: connect → first provisional problem (from cluster.summary's counts) in ${said(problems.provisional)}`);
    console.log(`server-sync: connect → first full problem (after the sync and every check) in ${said(problems.full)}`);
    const syncMs = Number(/synced \d+ entities .* in (\d+) ms/.exec(logs.join('\n'))?.[1] ?? NaN);
    const checkMs = Number(/checked .* in (\d+) ms/.exec(logs.join('\n'))?.[1] ?? NaN);
    const hwm = vmHwm(server.pid!);
    console.log(`server-sync: connect → live and checked in ${totalMs.toFixed(0)} ms (state ${info.state}, ${info.errors} error finding(s))`);
    console.log(`server-sync:   sync ${syncMs} ms, check+render ${checkMs} ms, server peak RSS ${hwm}`);
    console.log(`server-sync:   sync / raw read = ${(syncMs / rawMs).toFixed(2)}× (v1 objects), ${(syncMs / raw2Ms).toFixed(2)}× (columns-v1, what the server's client negotiates)`);
    await conn.sendRequest('shutdown');
    await conn.sendNotification('exit');
    conn.dispose();
    server.kill();
  } finally {
    sim.process.kill();
  }
}

function vmHwm(pid: number): string {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
    const kb = Number(line?.replace(/\D+/g, ''));
    return `${(kb / 1024).toFixed(0)} MiB`;
  } catch {
    return 'n/a (no /proc)';
  }
}

/**
 * Pages through every collection with a bare socket: the floor any sync pays. With
 * `encodings`, offers them in `initialize` and decodes each compact page (timed apart).
 */
async function rawRead(url: string, token: string, encodings?: string[]): Promise<{ items: number; bytes: number; decodeMs: number }> {
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  type Page = { result: { items?: unknown[]; page?: unknown; nextCursor: string | null } };
  let nextId = 1;
  const call = (method: string, params: unknown) =>
    new Promise<Page>((resolve) => {
      const id = nextId++;
      const onMessage = (data: Buffer) => {
        bytes += data.length;
        const msg = JSON.parse(data.toString('utf8'));
        if (msg.id !== id) return;
        ws.off('message', onMessage);
        resolve(msg);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  let bytes = 0;
  let items = 0;
  let decodeMs = 0;
  await call('initialize', { protocolVersion: PROTOCOL_VERSION, clientName: 'bench-raw', ...(encodings ? { encodings } : {}) });
  for (const collection of COLLECTION_NAMES) {
    let cursor: string | null = null;
    do {
      const page: Page = await call('cluster.list', { collection, cursor, limit: MAX_PAGE_LIMIT });
      if (page.result.page !== undefined) {
        const t = performance.now();
        const decoded = decodeColumnsPage(collection, page.result.page);
        decodeMs += performance.now() - t;
        if (!decoded.ok) throw new Error(decoded.error);
        items += decoded.items.length;
      } else items += page.result.items!.length;
      cursor = page.result.nextCursor;
    } while (cursor !== null);
  }
  ws.close();
  return { items, bytes, decodeMs };
}
