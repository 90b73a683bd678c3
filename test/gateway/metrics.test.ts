/**
 * `GET /metrics` (src/cluster/metrics.ts), in process: the simulator's and a gateway's over a source
 * from memory. The findings are the checks' own, the entities the status's counts, subsystem health
 * one series per state; reads and repairs are counted; no token is needed unless `requireToken`;
 * a rebound Host is refused; nothing names an entity or the token.
 */
import * as assert from 'node:assert/strict';
import { request } from 'node:http';
import { modelFrom, runChecks } from '../../src/analysis';
import { COLLECTION_NAMES, type CollectionName, type EntityOf, type RepairCommand, type RepairItemResult } from '../../src/protocol';
import { startMetricsServer, type MetricsServer } from '../../src/cluster/metrics';
import { hostAllowed, startClusterServer, type ClusterServer } from '../../src/cluster/server';
import { GatewayConfig } from '../../src/gateway/config';
import { Gateway } from '../../src/gateway/gateway';
import type { SourceContext, SubsystemSource } from '../../src/gateway/source';
import { startSimulatorServer, type SimulatorServer } from '../../src/simulator/server';
import * as F from '../unit/fixtures';
import { testSecret } from '../secrets';

const TOKEN = testSecret('metrics');

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** A plain HTTP GET, with the headers given (a Host of our choosing, which fetch would not send). */
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const httpOf = (server: ClusterServer) => server.url.replace(/^ws:/, 'http:');

/** The samples of one metric: its labels as an object, and the value. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** A fluvio source from memory: one Online partition whose leader SPU reports its storage full (the incident). */
class FakeFluvio implements SubsystemSource {
  readonly subsystem = 'partitions' as const;
  readonly collections: CollectionName[] = ['fluvio.partitions', 'fluvio.spuReports', 'fluvio.spus'];
  readonly commands: RepairCommand['command'][] = ['fluvio.restoreFromSpuReport'];
  ctx!: SourceContext;
  fail = false;
  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    ctx.readDuration?.(0.003, true);
    ctx.replace('fluvio.partitions', [F.partition('events', 0)] as EntityOf<'fluvio.partitions'>[]);
    ctx.replace('fluvio.spuReports', [F.spuReport(5001, 'events', 0, { storageFull: true })] as EntityOf<'fluvio.spuReports'>[]);
    ctx.replace('fluvio.spus', []);
    ctx.health({ state: 'ok' });
  }
  async repair(): Promise<RepairItemResult[]> {
    if (this.fail) throw new Error('the store hung up');
    return [{ key: 'events-0', status: 'refused', message: 'changed since' }];
  }
  async close(): Promise<void> {}
}

describe('GET /metrics', function () {
  this.timeout(30_000);
  let sim: SimulatorServer | undefined;
  let server: ClusterServer | undefined;
  let metricsServer: MetricsServer | undefined;
  afterEach(async () => {
    await Promise.all([sim?.close(), server?.close(), metricsServer?.close()]);
    [sim, server, metricsServer] = [undefined, undefined, undefined];
  });

  it("the simulator serves the checks' findings, entities per collection and subsystem health, without the token, naming no entity", async () => {
    sim = await startSimulatorServer({ scenario: 'incident-all', token: TOKEN });
    const res = await get(`${httpOf(sim)}/metrics`);
    assert.equal(res.status, 200, res.body);
    assert.match(res.type, /^text\/plain; version=0\.0\.4/);
    const s = sim.simulator;
    const status = s.status();
    const expected = runChecks(modelFrom(status, (c) => s.collections(c).values()));
    assert.ok(expected.length > 0);
    const byRule = new Map<string, { findings: number; entities: number }>();
    for (const f of expected) {
      const k = `${f.rule}|${f.severity}|${f.subsystem}`;
      const e = byRule.get(k) ?? { findings: 0, entities: 0 };
      byRule.set(k, { findings: e.findings + 1, entities: e.entities + f.count });
    }
    const got = (name: string) =>
      new Map(samples(res.body, name).map((x) => [`${x.labels.rule}|${x.labels.severity}|${x.labels.subsystem}`, x.value]));
    assert.deepEqual(got('cluster_debugger_findings'), new Map([...byRule].map(([k, v]) => [k, v.findings])));
    assert.deepEqual(got('cluster_debugger_finding_entities'), new Map([...byRule].map(([k, v]) => [k, v.entities])));
    for (const x of samples(res.body, 'cluster_debugger_findings')) assert.equal(x.labels.cluster, status.clusterName);

    const entities = samples(res.body, 'cluster_debugger_entities');
    assert.deepEqual(
      new Map(entities.map((x) => [x.labels.collection, x.value])),
      new Map(COLLECTION_NAMES.map((c) => [c, status.counts[c]])),
    );
    const states = samples(res.body, 'cluster_debugger_subsystem_state').filter((x) => x.value === 1);
    assert.deepEqual(new Set(states.map((x) => x.labels.state)), new Set(['ok']));
    assert.equal(samples(res.body, 'cluster_debugger_subsystem_up').length, 5);

    assert.ok(!res.body.includes(TOKEN), 'no token');
    for (const c of COLLECTION_NAMES)
      for (const key of s.collections(c).keys())
        if (key.length >= 12) assert.ok(!res.body.includes(key), `${c} key ${key} is not in /metrics`);
    const labels = new Set(res.body.match(/\b\w+(?==")/g));
    assert.deepEqual(
      [...labels].sort(),
      ['cluster', 'collection', 'rule', 'severity', 'state', 'subsystem'],
      'labels of bounded sets only (no key, no id)',
    );
  });

  it('needs the token only with requireToken; a rebound Host is refused; off: /metrics is not served there', async () => {
    sim = await startSimulatorServer({ scenario: 'healthy', token: TOKEN, metrics: { requireToken: true } });
    assert.equal((await get(`${httpOf(sim)}/metrics`)).status, 401);
    assert.equal((await get(`${httpOf(sim)}/metrics`, { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get(`${httpOf(sim)}/metrics`, { Authorization: `Bearer ${TOKEN}` })).status, 200);
    const rebound = await get(`${httpOf(sim)}/metrics`, { Host: `evil.example:${sim.port}`, Authorization: `Bearer ${TOKEN}` });
    assert.equal(rebound.status, 421);
    await sim.close();

    sim = await startSimulatorServer({ scenario: 'healthy', token: TOKEN, metrics: false });
    assert.equal((await get(`${httpOf(sim)}/metrics`)).status, 426, 'not a route of the simulator any more');
    metricsServer = await startMetricsServer(sim.simulator, { port: 0, hostAllowed, authorize: (req) => sim!.authorizes(req) });
    assert.equal((await get(metricsServer.url)).status, 401);
    const own = await get(metricsServer.url, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(own.status, 200);
    assert.match(own.body, /^cluster_debugger_entities\{/m);
    assert.equal((await get(metricsServer.url.replace('/metrics', '/'))).status, 404);
  });

  it("a gateway's: subsystems not configured, read latency and age per source, repairs by command and outcome", async () => {
    const fluvio = new FakeFluvio();
    const gateway = new Gateway(GatewayConfig.parse({ clusterName: 'prod', repairs: true }), [fluvio]);
    await gateway.start();
    server = await startClusterServer(gateway, { token: TOKEN });
    const before = (await get(`${httpOf(server)}/metrics`)).body;
    const dangling = samples(before, 'cluster_debugger_finding_entities').filter((x) => x.labels.rule === 'partitions/online-out-of-space');
    assert.deepEqual(
      dangling.map((x) => x.labels),
      [{ cluster: 'prod', rule: 'partitions/online-out-of-space', severity: 'error', subsystem: 'partitions' }],
    );
    const up = new Map(samples(before, 'cluster_debugger_subsystem_up').map((x) => [x.labels.subsystem, x.value]));
    assert.deepEqual(up, new Map([['partitions', 1]]), 'not-configured subsystems have no up series');
    const notConfigured = samples(before, 'cluster_debugger_subsystem_state').filter(
      (x) => x.labels.state === 'not-configured' && x.value === 1,
    );
    assert.deepEqual(notConfigured.map((x) => x.labels.subsystem).sort(), ['ddl', 'regions', 'shards', 'wal']);
    const [age] = samples(before, 'cluster_debugger_source_last_read_age_seconds');
    assert.equal(age?.labels.source, 'partitions');
    assert.ok(age.value >= 0 && age.value < 10, String(age.value));
    assert.match(before, /^cluster_debugger_store_read_duration_seconds_count\{cluster="prod",source="partitions",result="ok"\} 1$/m);

    fluvio.ctx.readDuration?.(2, false);
    fluvio.ctx.health({ state: 'unavailable', reason: 'connection refused' });
    const command = { command: 'fluvio.restoreFromSpuReport', targets: [{ key: 'events-0', version: 1 }] } as unknown as RepairCommand;
    const params = (requestId: string) => ({ requestId, incarnation: gateway.incarnation, repair: command });
    await gateway.repair(params('r1'));
    fluvio.fail = true;
    await assert.rejects(gateway.repair(params('r2')));
    const after = (await get(`${httpOf(server)}/metrics`)).body;
    assert.match(after, /^cluster_debugger_subsystem_up\{cluster="prod",subsystem="partitions"\} 0$/m);
    assert.match(after, /^cluster_debugger_store_read_duration_seconds_count\{cluster="prod",source="partitions",result="error"\} 1$/m);
    const repairs = samples(after, 'cluster_debugger_repairs_total').filter((x) => x.value > 0);
    assert.deepEqual(
      repairs.map((x) => `${x.labels.command} ${x.labels.outcome} ${x.value}`),
      ['fluvio.restoreFromSpuReport refused 1', 'fluvio.restoreFromSpuReport failed 1'],
    );
    assert.ok(!after.includes('events-0') && !after.includes('connection refused') && !after.includes(TOKEN));
    await gateway.close();
  });
});
