/**
 * Bench: sync and check the 763,471-shard incident through the language
 * server process, against the raw cost of reading the same entities
 * (WebSocket + `JSON.parse`, no validation, no model).
 *
 * Prints sync time, check time, the server's peak RSS (VmHWM), the ratios
 * of the server's sync to the raw reads (of v1 objects, and of `columns-v1`
 * pages decoded into objects: issue 21's two), the bytes per entity on the wire
 * as v1 objects and as `columns-v1` pages, and the memory the server's
 * model takes per entity: RSS and V8 heap after a full GC, above the same
 * server idle (read through its inspector, see `Inspector`).
 *
 * Then the scaling curve: the same (both ratios) at 100k, 300k, 1M and (with 16 GiB of
 * RAM or more) 3M entities, a fresh server for each, appended as a table to
 * `bench/RESULTS.md`. `BENCH_SCALES=100000,300000` picks other sizes.
 * The first view too: connect → the summary's groups and counts in the
 * Shards tree (`cluster.summary`, before the full sync), and the summary alone.
 * And connect → the first problem published (a provisional one, from the checks on
 * counts) and → the first full problem (after the sync and the checks on every entity).
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ClusterClient } from '../../src/cluster/client';
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
import { INCIDENT, ms, startLanguageServer, startSim, type MemoryAfterGc } from '../processes';
import { appendResults } from '../results';

/** Entities of the incident besides the metastore's dangling shards (control plane, ingesters, other systems). */
const OTHER_ENTITIES = 769_568 - INCIDENT.danglingShards;

export async function benchServerSync(outDir = join(__dirname)): Promise<void> {
  const sim = await startSim(outDir);
  try {
    const { url, token } = sim;
    // Building 3M entities keeps the simulator busy for longer than a heartbeat: no heartbeat here.
    const control = await ClusterClient.connect({ url, token, clientName: 'bench', requestTimeoutMs: 600_000, heartbeatMs: 600_000 });
    const build = async (size: typeof INCIDENT): Promise<number> => {
      const t = performance.now();
      const status = await control.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1, size });
      const entities = Object.values(status.counts).reduce((a, b) => a + b, 0);
      console.log(`server-sync: built the incident (${entities.toLocaleString('en-US')} entities) in ${ms(t)}`);
      return entities;
    };
    await build(INCIDENT);
    let t = performance.now();
    const summary = await control.request('cluster.summary', {});
    console.log(
      `server-sync: cluster.summary (${Object.keys(summary.collections).length} collections, ${JSON.stringify(summary).length.toLocaleString('en-US')} bytes) in ${ms(t)}`,
    );

    t = performance.now();
    const raw = await rawRead(url, token);
    const rawMs = performance.now() - t;
    console.log(
      `server-sync: raw ws + JSON.parse of every collection: ${raw.items.toLocaleString('en-US')} entities, ${(raw.bytes / 1e6).toFixed(0)} MB in ${rawMs.toFixed(0)} ms`,
    );
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

    const run = await serverSync(outDir, url, token, raw.items);
    console.log(
      run.firstView
        ? `server-sync: connect → first view (the Shards tree's ${run.firstView.rows} group row(s) with the summary's counts) in ${run.firstView.ms.toFixed(0)} ms`
        : 'server-sync: no first view (the cluster gave no summary)',
    );
    const said = (p: { ms: number; message: string } | undefined) =>
      p ? `${p.ms.toFixed(0)} ms ("${p.message.slice(0, 160)}${p.message.length > 160 ? '…' : ''}")` : 'none';
    console.log(`server-sync: connect → first provisional problem (from cluster.summary's counts) in ${said(run.problems.provisional)}`);
    console.log(`server-sync: connect → first full problem (after the sync and every check) in ${said(run.problems.full)}`);
    console.log(
      `server-sync: connect → live and checked in ${run.totalMs.toFixed(0)} ms (state ${run.state}, ${run.errors} error finding(s))`,
    );
    console.log(`server-sync:   sync ${run.syncMs} ms, check+render ${run.checkMs} ms, server peak RSS ${mib(run.peakRss)}`);
    console.log(
      `server-sync:   sync / raw read = ${(run.syncMs / rawMs).toFixed(2)}× (v1 objects), ${(run.syncMs / raw2Ms).toFixed(2)}× (columns-v1, what the server's client negotiates)`,
    );
    console.log(
      `server-sync:   memory above an idle server, after GC: RSS ${mib(run.used.rss)} (${perEntity(run.used.rss, raw.items)} B per entity), ` +
        `heap ${mib(run.used.heapUsed)} (${perEntity(run.used.heapUsed, raw.items)} B per entity), external ${mib(run.used.external)}; ` +
        `idle server: RSS ${mib(run.idle.rss)}, heap ${mib(run.idle.heapUsed)}`,
    );

    // The scaling curve: a fresh server per size, so each idle baseline is clean.
    const rows: string[] = [];
    const header =
      '| entities | raw v1 read | raw columns-v1 read | sync | sync / raw v1 | sync / raw columns-v1 | check+render | RSS / entity | heap / entity | server peak RSS |';
    console.log(`\nserver-sync: scaling curve (memory above an idle server, after GC)\n${header}`);
    for (const n of scales()) {
      const entities = await build({ danglingShards: Math.max(0, n - OTHER_ENTITIES), liveShards: INCIDENT.liveShards });
      t = performance.now();
      const rawN = await rawRead(url, token);
      const rawNMs = performance.now() - t;
      t = performance.now();
      const rawColumnsN = await rawRead(url, token, ['columns-v1']);
      const rawColumnsNMs = performance.now() - t;
      const r = await serverSync(outDir, url, token, entities);
      const row =
        `| ${entities.toLocaleString('en-US')} | ${rawNMs.toFixed(0)} ms | ${rawColumnsNMs.toFixed(0)} ms | ${r.syncMs} ms ` +
        `| ${(r.syncMs / rawNMs).toFixed(2)}× | ${(r.syncMs / rawColumnsNMs).toFixed(2)}× | ${r.checkMs} ms ` +
        `| ${perEntity(r.used.rss, entities)} B | ${perEntity(r.used.heapUsed, entities)} B | ${mib(r.peakRss)} |`;
      if (rawN.items !== entities) throw new Error(`raw read ${rawN.items} entities, the cluster has ${entities}`);
      if (rawColumnsN.items !== entities) throw new Error(`raw columns-v1 read ${rawColumnsN.items} entities, the cluster has ${entities}`);
      console.log(row);
      rows.push(row);
    }
    control.close();
    appendResults(
      outDir,
      'server-sync: scaling curve',
      'npm run build && node out/bench.js server-sync',
      [
        `The language server synced through \`columns-v1\`; the raw reads are v1 objects, and \`columns-v1\` pages decoded into objects, over a bare socket with \`JSON.parse\`. Memory is`,
        `the server's RSS and V8 heap after a full GC, minus the same server's before it connected.`,
        '',
        header,
        '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...rows,
      ].join('\n'),
    );
  } finally {
    sim.process.kill();
  }
}

/** The curve's sizes: `BENCH_SCALES`, else 100k, 300k, 1M, and 3M with 16 GiB of RAM or more (the simulator and the server both hold it). */
function scales(): number[] {
  const given = process.env.BENCH_SCALES?.split(',')
    .map(Number)
    .filter((n) => Number.isSafeInteger(n) && n > 0);
  if (given?.length) return given;
  return totalmem() >= 16 * 2 ** 30 ? [100_000, 300_000, 1_000_000, 3_000_000] : [100_000, 300_000, 1_000_000];
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function perEntity(bytes: number, entities: number): string {
  return (bytes / entities).toFixed(0);
}

interface ServerRun {
  totalMs: number;
  syncMs: number;
  checkMs: number;
  state: string;
  errors: number;
  peakRss: number;
  idle: MemoryAfterGc;
  /** After the sync and check, minus `idle`. */
  used: MemoryAfterGc;
  /** Connect → the Shards tree's groups from the summary, while the full sync runs; absent without a summary. */
  firstView?: { ms: number; rows: number };
  /** When the first problem was published, provisional (from counts) or full, and what it said. */
  problems: { provisional?: { ms: number; message: string }; full?: { ms: number; message: string } };
}

/** A fresh language server connects to the cluster; its sync, check and memory. */
async function serverSync(outDir: string, url: string, token: string, entities: number): Promise<ServerRun> {
  const logs: string[] = [];
  const problems: ServerRun['problems'] = {};
  const {
    process: server,
    conn,
    inspector,
  } = await startLanguageServer(
    outDir,
    {},
    (c) => {
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
          const groups = (await c.sendRequest(LspMethods.treeChildren, { subsystem: 'shards', parentId: roots.nodes[0]!.id })) as {
            nodes: TreeNode[];
          };
          return { ms: performance.now() - t, rows: groups.nodes.filter((n) => n.kind === 'group').length };
        })();
      });
    },
    { inspect: true },
  );
  let firstView: Promise<{ ms: number; rows: number }> | undefined;
  let t = 0;
  try {
    const idle = await inspector!.memoryAfterGc();
    t = performance.now();
    const info = (await conn.sendRequest(LspMethods.connect, { name: 'bench', url, token })) as ClusterInfo;
    const totalMs = performance.now() - t;
    const text = logs.join('\n');
    const synced = /synced (\d+) entities .* in (\d+) ms/.exec(text);
    if (Number(synced?.[1]) !== entities) throw new Error(`the server synced ${synced?.[1]} entities, the cluster has ${entities}`);
    const after = await inspector!.memoryAfterGc();
    inspector!.close(); // else the server waits for the debugger to disconnect when it exits
    const used = { rss: after.rss - idle.rss, heapUsed: after.heapUsed - idle.heapUsed, external: after.external - idle.external };
    const peakRss = vmHwm(server.pid!); // before it exits
    await conn.sendRequest('shutdown');
    // A clean exit, so that a server run with BENCH_NODE_ARGS=--cpu-prof writes its profile.
    const exited = new Promise((resolve) => server.once('exit', resolve));
    void conn.sendNotification('exit');
    await exited;
    return {
      totalMs,
      syncMs: Number(synced?.[2] ?? NaN),
      checkMs: Number(/checked .* in (\d+) ms/.exec(text)?.[1] ?? NaN),
      state: info.state,
      errors: info.errors,
      peakRss,
      idle,
      used,
      firstView: await firstView,
      problems,
    };
  } finally {
    inspector?.close();
    conn.dispose();
    server.kill();
  }
}

/** Peak RSS in bytes, or NaN without /proc. */
function vmHwm(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmHWM:'));
    return Number(line?.replace(/\D+/g, '')) * 1024;
  } catch {
    return NaN;
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
