/**
 * Bench: build the 763,471-shard Quickwit incident in a spawned `cluster-sim`
 * and page through `quickwit.metastore.shards` over the socket with the
 * protocol client (with zod validation), against `JSON.parse` of the same
 * bytes in the same run. Not a test: it prints, it does not assert.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { MAX_PAGE_LIMIT, PROTOCOL_VERSION } from '../../src/protocol';
import { ClusterClient } from '../../src/cluster/client';
import { ms } from '../processes';

const COLLECTION = 'quickwit.metastore.shards';

export async function benchSimPaging(outDir = join(__dirname)): Promise<void> {
  const t0 = performance.now();
  const sim = spawn(
    process.execPath,
    [join(outDir, 'cluster-sim.js'), '--port', '0', '--scenario', 'quickwit-dangling-shards', '--scale', 'incident'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const { url, token, built } = await ready(sim);
    console.log(`sim-paging: cluster-sim --scale incident ready in ${ms(t0)} (${built})`);

    // 1. The protocol client, as the language server and cluster-check use it.
    const client = await ClusterClient.connect({ url, token, clientName: 'bench', requestTimeoutMs: 600_000 });
    let t = performance.now();
    let entities = 0;
    for await (const page of client.listAll(COLLECTION, { limit: MAX_PAGE_LIMIT })) entities += page.length;
    const clientMs = performance.now() - t;
    const bytes = client.stats.bytesReceived;
    client.close();
    console.log(
      `sim-paging: client.listAll(${COLLECTION}): ${entities.toLocaleString('en-US')} entities, ${mb(bytes)} in ${clientMs.toFixed(0)} ms ` +
        `= ${rate(entities, clientMs)} entities/s, ${(bytes / 1e6 / (clientMs / 1000)).toFixed(0)} MB/s (pages of ${MAX_PAGE_LIMIT}, zod-validated)`,
    );

    // 2. The same pages over a bare socket, kept, then JSON.parse'd alone: the floor.
    t = performance.now();
    const pages = await rawPages(url, token);
    const rawMs = performance.now() - t;
    const rawBytes = pages.reduce((a, p) => a + p.length, 0);
    t = performance.now();
    let parsed = 0;
    for (const p of pages) parsed += (JSON.parse(p.toString('utf8')) as { result: { items: unknown[] } }).result.items.length;
    const parseMs = performance.now() - t;
    console.log(`sim-paging: bare ws fetch of the same pages: ${mb(rawBytes)} in ${rawMs.toFixed(0)} ms (no parsing)`);
    console.log(
      `sim-paging: JSON.parse of the same bytes: ${parsed.toLocaleString('en-US')} entities in ${parseMs.toFixed(0)} ms = ${(rawBytes / 1e6 / (parseMs / 1000)).toFixed(0)} MB/s`,
    );
    console.log(`sim-paging: client paging / JSON.parse = ${(clientMs / parseMs).toFixed(2)}×`);
    console.log(`sim-paging: peak RSS: bench ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB, cluster-sim ${vmHwm(sim.pid!)}`);
  } finally {
    sim.kill('SIGTERM');
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
function rate(n: number, millis: number): string {
  return Math.round(n / (millis / 1000)).toLocaleString('en-US');
}

function vmHwm(pid: number): string {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmHWM:'));
    return `${(Number(line?.replace(/\D+/g, '')) / 1024).toFixed(0)} MiB`;
  } catch {
    return 'n/a (no /proc)';
  }
}

/** Waits for the CLI's `listening` line (and its generated token). */
function ready(sim: ChildProcess): Promise<{ url: string; token: string; built: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    sim.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /^listening (ws:\/\/\S+)$/m.exec(out)?.[1];
      const token = /^token: (\S+)$/m.exec(out)?.[1];
      if (url && token) resolve({ url, token, built: /^scenario: .*$/m.exec(out)?.[0] ?? '' });
    });
    sim.once('exit', (code) => reject(new Error(`cluster-sim exited (${code}) before it was ready: ${out}`)));
  });
}

/** Every page of the collection over a bare socket, as received. */
async function rawPages(url: string, token: string): Promise<Buffer[]> {
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 1;
  const call = (method: string, params: unknown) =>
    new Promise<Buffer>((resolve) => {
      ws.once('message', (data: Buffer) => resolve(data));
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }));
    });
  await call('initialize', { protocolVersion: PROTOCOL_VERSION, clientName: 'bench-raw' });
  const pages: Buffer[] = [];
  let cursor: string | null = null;
  do {
    const page = await call('cluster.list', { collection: COLLECTION, cursor, limit: MAX_PAGE_LIMIT });
    pages.push(page);
    // Only the cursor is needed to go on; it sits at the end of the reply.
    cursor = /"nextCursor":(null|"([^"]*)")/.exec(page.toString('latin1', Math.max(0, page.length - 512)))?.[2] ?? null;
  } while (cursor !== null);
  ws.close();
  return pages;
}
