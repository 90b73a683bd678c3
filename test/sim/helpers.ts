/**
 * Test helpers: a real simulator server on port 0, a real client over a real
 * socket, and the invariants of docs/model.md evaluated on what the protocol
 * shows (deliberately not src/analysis: these tests check the simulator).
 */
import WebSocket from 'ws';
import {
  COLLECTION_NAMES,
  keys,
  UNFINISHED_PROCEDURE_STATUSES,
  type ClusterStatus,
  type CollectionName,
  type EntityOf,
} from '../../src/protocol';
import { ClusterClient } from '../../src/cluster/client';
import { startSimulatorServer, type SimulatorServer, type SimulatorServerOptions } from '../../src/simulator/server';
import { testSecret } from '../secrets';

export const TOKEN = testSecret('sim');

export async function startServer(opts: SimulatorServerOptions = {}): Promise<SimulatorServer> {
  return startSimulatorServer({ token: TOKEN, heartbeatMs: 60_000, ...opts });
}

export function connect(server: SimulatorServer, name = 'sim-test'): Promise<ClusterClient> {
  return ClusterClient.connect({ url: server.url, token: server.token, clientName: name });
}

export type Snapshot = { [C in CollectionName]: Map<string, EntityOf<C>> };

/** Every collection, paged with the cursor. */
export async function snapshot(client: ClusterClient, limit = 500): Promise<Snapshot> {
  const snap = {} as Record<CollectionName, Map<string, unknown>>;
  for (const c of COLLECTION_NAMES) {
    const m = new Map<string, unknown>();
    for await (const page of client.listAll(c, { limit })) for (const e of page) m.set(e.key, e);
    snap[c] = m;
  }
  return snap as Snapshot;
}

export const INVARIANTS = [
  'shards/dangling',
  'shards/orphaned',
  'wal/close-blocked',
  'ddl/backlog',
  'ddl/duplicate',
  'regions/stale-prepared',
  'partitions/online-out-of-space',
] as const;
export type Invariant = (typeof INVARIANTS)[number];

/** Keys of the entities breaking each invariant. */
export function violations(s: Snapshot, status: ClusterStatus): Record<Invariant, string[]> {
  const config = status.config;
  const dangling = [...s['quickwit.metastore.shards'].values()]
    .filter(
      (m) =>
        m.shardState !== 'closed' &&
        !s['quickwit.controlPlane.shards'].has(m.key) &&
        ![...s['quickwit.ingester.shards'].values()].some(
          (i) => i.indexUid === m.indexUid && i.sourceId === m.sourceId && i.shardId === m.shardId,
        ),
    )
    .map((m) => m.key);

  // Control-plane and ingester shards the metastore does not have.
  const metastore = s['quickwit.metastore.shards'];
  const orphaned = [
    ...[...s['quickwit.controlPlane.shards'].values()].filter((c) => !metastore.has(c.key)),
    ...[...s['quickwit.ingester.shards'].values()].filter((i) => !metastore.has(keys.shard(i.indexUid, i.sourceId, i.shardId))),
  ].map((e) => e.key);

  const blocked: string[] = [];
  for (const n of s['milvus.nodes'].values()) {
    if (n.lifecycle !== 'Terminating' || n.stopRequestedAt === null) continue;
    if (status.time - n.stopRequestedAt <= n.gracePeriodSeconds) continue;
    for (const w of s['milvus.wals'].values()) {
      const appends = [...s['milvus.appends'].values()].filter((a) => a.serverId === w.serverId && a.channel === w.channel);
      if (w.serverId === n.serverId && w.recovering === true && (w.inFlightAppends ?? 0) > 0 && appends.length > 0) blocked.push(w.key);
    }
  }

  const procedures = [...s['greptime.procedures'].values()];
  const unfinished = procedures.filter((p) => UNFINISHED_PROCEDURE_STATUSES.includes(p.status));
  const etcdBytes = [...s['greptime.etcd'].values()].reduce((a, e) => a + e.sizeBytes, 0);
  const backlog =
    unfinished.length > config.maxRunningProcedures || etcdBytes >= 0.8 * config.etcdQuotaBytes ? unfinished.map((p) => p.key) : [];
  const byTable = new Map<string, string[]>();
  for (const p of unfinished) {
    const k = `${p.typeName} ${p.table}`;
    byTable.set(k, [...(byTable.get(k) ?? []), p.key]);
  }
  const duplicate = [...byTable.values()].filter((ks) => ks.length > 1).flat();

  const stale = [...s['tikv.regions'].values()]
    .filter((r) => {
      const b = s['tikv.writeBatches'].get(keys.writeBatch(r.storeId));
      return r.isWritten && b !== undefined && (b.atCommitBoundary || b.currentRegion !== r.regionId);
    })
    .map((r) => r.key);

  const online = [...s['fluvio.partitions'].values()]
    .filter((p) => p.resolution === 'Online' && s['fluvio.spuReports'].get(keys.spuReport(p.leader.spu, p.topic, p.partition))?.storageFull)
    .map((p) => p.key);

  return {
    'shards/dangling': dangling,
    'shards/orphaned': orphaned,
    'wal/close-blocked': blocked,
    'ddl/backlog': backlog,
    'ddl/duplicate': duplicate,
    'regions/stale-prepared': stale,
    'partitions/online-out-of-space': online,
  };
}

/** A raw, authenticated socket for sending malformed input. */
export function rawSocket(server: SimulatorServer, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.url, { headers: { Authorization: `Bearer ${server.token}`, ...headers } });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Sends `text` and resolves with the next message, parsed. */
export function exchange(
  ws: WebSocket,
  text: string | Buffer,
): Promise<{ id?: unknown; error?: { code: number; message: string }; result?: unknown }> {
  return new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve(JSON.parse(d.toString())));
    ws.once('close', (code) => reject(new Error(`closed ${code}`)));
    ws.send(text);
  });
}

/** The HTTP status an upgrade attempt is refused with (or 101). */
export function upgradeStatus(server: SimulatorServer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(server.url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', () => undefined);
  });
}

/** Waits for `predicate` on a deadline (no fixed sleeps). */
export async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Registers mocha hooks that start a simulator server and connect one client
 * for the enclosing `describe`, and close both after it.
 */
export function useSimulator(opts: SimulatorServerOptions = {}): { readonly server: SimulatorServer; readonly client: ClusterClient } {
  const sim = {} as { server: SimulatorServer; client: ClusterClient };
  before(async () => {
    sim.server = await startServer(opts);
    sim.client = await connect(sim.server);
  });
  after(async () => {
    sim.client?.close();
    await sim.server?.close();
  });
  return sim;
}

/** The cluster's incarnation now: what a client that just re-checked would plan a repair on. */
export async function incarnationOf(client: ClusterClient): Promise<string> {
  const { incarnation } = await client.request('cluster.status', {});
  if (!incarnation) throw new Error('the cluster reported no incarnation');
  return incarnation;
}
