/**
 * `GET /metrics`: a cluster's state in the Prometheus exposition format (prom-client), served by
 * the gateway and the simulator alike (src/cluster/server.ts routes it; `startMetricsServer` serves
 * it on a port of its own). docs/operations.md says what each metric means.
 *
 * Findings are the checks' own (src/analysis, pure): they run on the collections as served (the
 * store's maps, not copied), at most once per `checkIntervalMs` and never more often than ten times
 * their last run's cost, so scrapes cost the cluster at most about a tenth of one core.
 *
 * Cardinality is bounded and nothing secret leaves: labels are the cluster's name, rule ids,
 * severities, subsystems, collections, repair commands and outcomes; never an entity key or id,
 * a token, a URL or an error text.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { runChecks, type CollectionMaps } from '../analysis';
import { COLLECTION_NAMES, SUBSYSTEMS, type ClusterStatus, type Finding } from '../protocol';
import type { ClusterBackend } from './backend';
import { REPAIR_OUTCOMES } from './telemetry';

export const METRICS_PATH = '/metrics';
const DEFAULT_CHECK_INTERVAL_MS = 1000;
/** A run of the checks waits at least this many times its last cost before the next one. */
const COST_FACTOR = 10;
const STATES = ['ok', 'unavailable', 'not-configured'] as const;

export interface ClusterMetricsOptions {
  /** Least time between two runs of the checks, in ms. Default 1000. */
  checkIntervalMs?: number;
}

export interface ClusterMetrics {
  /** The exposition text, current as of now. */
  render(): Promise<string>;
  readonly contentType: string;
  /** Answers `GET /metrics` (and HEAD); false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  close(): void;
}

/** Whether a request is for `/metrics` (any query string ignored). */
export function isMetricsRequest(req: IncomingMessage): boolean {
  return (req.url ?? '').split('?')[0] === METRICS_PATH;
}

export function createClusterMetrics(cluster: ClusterBackend, opts: ClusterMetricsOptions = {}): ClusterMetrics {
  const registry = new Registry();
  const registers = [registry];
  const findingLabels = ['cluster', 'rule', 'severity', 'subsystem'] as const;
  const findings = new Gauge({
    name: 'cluster_debugger_findings',
    help: 'Findings of the checks, by rule, severity and subsystem (one finding per group, e.g. per index source).',
    labelNames: findingLabels,
    registers,
  });
  const findingEntities = new Gauge({
    name: 'cluster_debugger_finding_entities',
    help: 'Entities behind the findings (e.g. the number of dangling shards), by rule, severity and subsystem.',
    labelNames: findingLabels,
    registers,
  });
  const checksSeconds = new Gauge({
    name: 'cluster_debugger_checks_duration_seconds',
    help: 'How long the last run of the checks took.',
    labelNames: ['cluster'],
    registers,
  });
  const entities = new Gauge({
    name: 'cluster_debugger_entities',
    help: 'Entities the cluster serves, per collection.',
    labelNames: ['cluster', 'collection'],
    registers,
  });
  const up = new Gauge({
    name: 'cluster_debugger_subsystem_up',
    help: 'Whether a configured subsystem can be read: 1 ok, 0 unavailable (not configured: no series).',
    labelNames: ['cluster', 'subsystem'],
    registers,
  });
  const state = new Gauge({
    name: 'cluster_debugger_subsystem_state',
    help: 'A subsystem health, one series per state: 1 for its state now (ok, unavailable, not-configured), 0 for the others.',
    labelNames: ['cluster', 'subsystem', 'state'],
    registers,
  });
  const readAge = new Gauge({
    name: 'cluster_debugger_source_last_read_age_seconds',
    help: "Seconds since a source's store last answered a read (a page, a query, a probe, a watch event).",
    labelNames: ['cluster', 'source'],
    registers,
  });
  const readSeconds = new Histogram({
    name: 'cluster_debugger_store_read_duration_seconds',
    help: "Latency of one read of a source's store (an etcd page or probe, a PostgreSQL query), by result (ok, error).",
    labelNames: ['cluster', 'source', 'result'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const repairs = new Counter({
    name: 'cluster_debugger_repairs_total',
    help: 'Repair items by command and outcome (applied, refused, unchanged; failed: the write itself failed).',
    labelNames: ['cluster', 'command', 'outcome'],
    registers,
  });

  // The cluster's name as of the last scrape (a read is observed often: it need not build a status each time).
  let clusterName = cluster.status().clusterName;
  const unsubscribe = cluster.telemetry?.onReadDuration((source, seconds, ok) =>
    readSeconds.observe({ cluster: clusterName, source, result: ok ? 'ok' : 'error' }, seconds),
  );

  const interval = opts.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
  let cached: { at: number; findings: Finding[] } | undefined;
  let lastCostMs = 0;
  function currentFindings(status: ClusterStatus): Finding[] {
    if (!cluster.collections) return [];
    const now = Date.now();
    if (cached && now - cached.at < Math.max(interval, COST_FACTOR * lastCostMs)) return cached.findings;
    const collections = {} as Record<string, unknown>;
    for (const c of COLLECTION_NAMES) collections[c] = cluster.collections(c);
    const began = performance.now();
    // The checks never mutate their model: the store's own maps are read in place (no copy of 763,471 shards).
    const result = runChecks({ status, collections: collections as CollectionMaps });
    lastCostMs = performance.now() - began;
    cached = { at: now, findings: result };
    return result;
  }

  function update(): void {
    const status = cluster.status();
    const name = status.clusterName;
    clusterName = name;
    findings.reset();
    findingEntities.reset();
    for (const f of currentFindings(status)) {
      const labels = { cluster: name, rule: f.rule, severity: f.severity, subsystem: f.subsystem };
      findings.inc(labels, 1);
      findingEntities.inc(labels, f.count);
    }
    if (cluster.collections) checksSeconds.set({ cluster: name }, lastCostMs / 1000);
    entities.reset();
    for (const c of COLLECTION_NAMES) entities.set({ cluster: name, collection: c }, status.counts[c] ?? 0);
    up.reset();
    state.reset();
    for (const s of SUBSYSTEMS) {
      const now = status.subsystems?.[s]?.state ?? 'ok';
      for (const st of STATES) state.set({ cluster: name, subsystem: s, state: st }, st === now ? 1 : 0);
      if (now !== 'not-configured') up.set({ cluster: name, subsystem: s }, now === 'ok' ? 1 : 0);
    }
    readAge.reset();
    repairs.reset();
    const telemetry = cluster.telemetry;
    if (!telemetry) return;
    const now = Date.now();
    for (const [source, at] of telemetry.lastRead) readAge.set({ cluster: name, source }, Math.max(0, (now - at) / 1000));
    for (const [command, counts] of telemetry.repairs)
      for (const outcome of REPAIR_OUTCOMES) repairs.inc({ cluster: name, command, outcome }, counts[outcome]);
  }

  async function render(): Promise<string> {
    update();
    return registry.metrics();
  }

  return {
    render,
    contentType: registry.contentType,
    handle(req, res) {
      if (!isMetricsRequest(req)) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' });
        res.end('GET /metrics\n');
        return true;
      }
      render().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        () => {
          // No error text: it could quote a store's answer.
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('metrics unavailable\n');
        },
      );
      return true;
    },
    close() {
      unsubscribe?.();
      registry.clear();
    },
  };
}

export interface MetricsServerOptions extends ClusterMetricsOptions {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  /** Whether a request may read `/metrics` (a token check); absent: anyone who reaches the port. */
  authorize?: (req: IncomingMessage) => Promise<boolean>;
  /** The Host header check of the main server (DNS rebinding), given the port listened on. */
  hostAllowed: (header: string | undefined, listenHost: string, port: number | undefined) => boolean;
}

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** `/metrics` on a port of its own (`--metrics-port`): nothing else is served there. */
export async function startMetricsServer(cluster: ClusterBackend, opts: MetricsServerOptions): Promise<MetricsServer> {
  const host = opts.host ?? '127.0.0.1';
  const metrics = createClusterMetrics(cluster, opts);
  const server: Server = createServer((req, res) => {
    if (!opts.hostAllowed(req.headers.host, host, (server.address() as AddressInfo | null)?.port)) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Host is not the address listened on\n');
      return;
    }
    const serve = () => {
      if (metrics.handle(req, res)) return;
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('only /metrics here\n');
    };
    if (!(isMetricsRequest(req) && opts.authorize)) return serve();
    void opts.authorize(req).then(
      (ok) => {
        if (ok) return serve();
        res.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Bearer realm="metrics"' });
        res.end('Unauthorized\n');
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  const s = server;
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(opts.port, host, () => {
      s.off('error', reject);
      resolve();
    });
  });
  const port = (s.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${METRICS_PATH}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        metrics.close();
        s.close(() => resolve());
        s.closeAllConnections();
      }),
  };
}
