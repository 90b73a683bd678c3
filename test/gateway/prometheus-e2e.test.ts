/**
 * A real Prometheus (Debian's) scrapes a real gateway over a real incident: `cluster-sim --etcd`
 * mirrors GreptimeDB's DDL backlog into a real etcd (and `--postgres` Quickwit's dangling shards
 * into a real PostgreSQL), `cluster-gateway` reads it back, and
 * Prometheus, scraping every second with deploy/prometheus's rules (their `for` set to 0s in a
 * test copy: the shipped thresholds are minutes), shows the finding's metric and fires the alert.
 * `cluster-check --repair all` through the gateway then clears the incident, and the alert resolves.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cli } from '../cli/cliProcess';
import { startSim, type RunningSim } from '../server/sim';
import { startEtcd, type RunningEtcd } from './etcd';
import { postgresAvailable, startPostgres, type TestPostgres } from './postgres';
import { startGateway, type RunningGateway } from './gateway';
import { RULES_FILE, startPrometheus, until, type RunningPrometheus } from './prometheus';
import { testSecret } from '../secrets';

const TOKEN = testSecret('gateway');

/** The shipped rules with every `for` at 0s: an alert fires on the first evaluation that sees its finding. */
const testRules = () => readFileSync(RULES_FILE, 'utf8').replace(/^(\s+for:) \S+$/gm, '$1 0s');

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}
interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
}

async function api<T>(prometheus: RunningPrometheus, path: string): Promise<T> {
  const res = await fetch(`${prometheus.url}${path}`);
  const body = (await res.json()) as { status: string; data: T };
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data;
}
const query = (p: RunningPrometheus, promql: string) =>
  api<{ result: Sample[] }>(p, `/api/v1/query?query=${encodeURIComponent(promql)}`).then((d) => d.result);
const alerts = (p: RunningPrometheus) => api<{ alerts: Alert[] }>(p, '/api/v1/alerts').then((d) => d.alerts);

describe('a real Prometheus scrapes a real gateway (cluster-sim --etcd → etcd → cluster-gateway → prometheus)', function () {
  this.timeout(120_000);
  let etcd: RunningEtcd | undefined;
  let sim: RunningSim | undefined;
  let gateway: RunningGateway | undefined;
  let prometheus: RunningPrometheus | undefined;
  let pg: TestPostgres | undefined;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`prometheus said:\n${prometheus?.output() ?? ''}\n`);
    await prometheus?.stop();
    await gateway?.stop();
    await sim?.stop();
    await etcd?.stop();
    await pg?.stop();
    [prometheus, gateway, sim, etcd, pg] = [undefined, undefined, undefined, undefined, undefined];
  });

  it('greptime-ddl-backlog: the metric shows, ClusterDebuggerDdlBacklog fires; a repair clears it and the alert resolves', async () => {
    etcd = await startEtcd();
    sim = await startSim(['--etcd', etcd.url, '--scenario', 'greptime-ddl-backlog', '--token', TOKEN]);
    gateway = await startGateway({ clusterName: 'prod', greptime: { etcd: { endpoints: [etcd.url] } }, repairs: true }, { token: TOKEN });
    const target = gateway.url.replace(/^ws:\/\//, '');
    prometheus = await startPrometheus(target, testRules());
    const p = prometheus;

    const backlog = await until(async () => {
      const r = await query(p, 'cluster_debugger_finding_entities{rule="ddl/backlog"}');
      return r.length > 0 && r;
    }, 'the ddl/backlog finding metric in Prometheus');
    assert.equal(backlog.length, 1);
    assert.deepEqual(
      { ...backlog[0]!.metric, instance: undefined },
      {
        __name__: 'cluster_debugger_finding_entities',
        cluster: 'prod',
        rule: 'ddl/backlog',
        severity: 'error',
        subsystem: 'ddl',
        job: 'cluster-debugger',
        instance: undefined,
      },
    );
    assert.ok(Number(backlog[0]!.value[1]) > 0, `entities behind the finding: ${backlog[0]!.value[1]}`);
    const up = await query(p, 'cluster_debugger_subsystem_up');
    assert.deepEqual(
      up.map((s) => `${s.metric.subsystem}=${s.value[1]}`),
      ['ddl=1'],
      'only the configured subsystem has an up series, and it is up',
    );
    const age = await query(p, 'cluster_debugger_source_last_read_age_seconds{source="ddl"}');
    assert.ok(age.length === 1 && Number(age[0]!.value[1]) < 60, JSON.stringify(age));
    await until(
      async () => (await query(p, 'cluster_debugger_store_read_duration_seconds_count{source="ddl",result="ok"} > 0')).length > 0,
      'read latencies',
    );

    const firing = await until(async () => {
      const a = (await alerts(p)).find((x) => x.labels.alertname === 'ClusterDebuggerDdlBacklog' && x.state === 'firing');
      return a;
    }, 'ClusterDebuggerDdlBacklog firing');
    assert.equal(firing.labels.cluster, 'prod');
    assert.equal(firing.labels.severity, 'critical');
    assert.equal(firing.annotations.runbook_url, 'docs/rules/ddl/backlog.md');
    assert.match(firing.annotations.summary!, /^\d+ unfinished DDL procedures in prod$/);
    assert.ok(!(await alerts(p)).some((a) => a.labels.alertname === 'ClusterDebuggerStoreUnavailable'), 'the store is up');

    // The repair, through the gateway (conditional writes to etcd): the finding goes, and so does the alert.
    const run = await cli([gateway.url, '--token', TOKEN, '--repair', 'all', '--yes']);
    assert.match(run.stdout, /All findings repaired\./, run.stdout + run.stderr);
    await until(
      async () => (await query(p, 'cluster_debugger_finding_entities{rule="ddl/backlog"}')).length === 0,
      'the finding metric gone',
    );
    await until(
      async () => !(await alerts(p)).some((a) => a.labels.alertname.startsWith('ClusterDebuggerDdl')),
      'ClusterDebuggerDdlBacklog resolved',
    );
    const repairs = await query(p, 'cluster_debugger_repairs_total{outcome="applied"} > 0');
    assert.ok(repairs.length > 0, 'applied repairs counted');
    assert.ok(
      repairs.every((s) => s.metric.command?.startsWith('greptime.')),
      JSON.stringify(repairs.map((s) => s.metric)),
    );

    // Nothing secret reached Prometheus: no token in any label of any series.
    const series = await api<Record<string, string>[]>(p, `/api/v1/series?match[]=${encodeURIComponent('{job="cluster-debugger"}')}`);
    assert.ok(series.length > 0);
    assert.ok(!JSON.stringify(series).includes(TOKEN));
  });

  it('quickwit-dangling-shards in PostgreSQL: ClusterDebuggerShardsDangling fires; --repair shards/dangling resolves it', async () => {
    assert.ok(postgresAvailable(), 'PostgreSQL 15 is not installed (scripts/setup-test-deps.sh installs it)');
    pg = await startPostgres();
    const db = await pg.createDatabase('prometheus_e2e');
    sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1', '--postgres', db, '--token', TOKEN]);
    const node = sim.url.replace(/^ws:/, 'http:');
    gateway = await startGateway(
      { clusterName: 'prod', quickwit: { postgres: db, node }, repairs: true, pollMs: 500, metrics: { port: 0 } },
      { token: TOKEN, deadlineMs: 60_000 },
    );
    // `metrics.port` in the config: /metrics on a port of its own, which the gateway prints (and no longer on its own port).
    const gw = gateway;
    const printed = await until(async () => /^metrics http:\/\/(\S+)\/metrics$/m.exec(gw.stdout())?.[1], 'the metrics line', 10_000);
    assert.notEqual(printed, gateway.url.replace(/^ws:\/\//, ''));
    assert.equal((await fetch(`${gateway.url.replace(/^ws:/, 'http:')}/metrics`)).status, 426);
    prometheus = await startPrometheus(printed, testRules());
    const p = prometheus;

    const dangling = await until(async () => {
      const r = await query(p, 'cluster_debugger_finding_entities{rule="shards/dangling"}');
      return r.length > 0 && r;
    }, 'the shards/dangling finding metric in Prometheus');
    assert.deepEqual(
      dangling.map((s) => [s.metric.cluster, s.metric.subsystem, s.metric.severity]),
      [['prod', 'shards', 'error']],
    );
    assert.ok(Number(dangling[0]!.value[1]) > 10, `dangling shards: ${dangling[0]!.value[1]}`);
    const firing = await until(
      async () => (await alerts(p)).find((a) => a.labels.alertname === 'ClusterDebuggerShardsDangling' && a.state === 'firing'),
      'ClusterDebuggerShardsDangling firing',
    );
    assert.equal(firing.annotations.runbook_url, 'docs/rules/shards/dangling.md');
    await until(
      async () => (await query(p, 'cluster_debugger_store_read_duration_seconds_count{source="shards",result="ok"} > 0')).length > 0,
      'metastore read latencies',
    );

    const run = await cli([gateway.url, '--token', TOKEN, '--repair', 'shards/dangling', '--yes']);
    assert.match(run.stdout, /: applied \d+\nAll findings repaired\./, run.stdout + run.stderr);
    await until(
      async () => (await query(p, 'cluster_debugger_finding_entities{rule="shards/dangling"}')).length === 0,
      'the finding metric gone',
    );
    await until(
      async () => !(await alerts(p)).some((a) => a.labels.alertname === 'ClusterDebuggerShardsDangling'),
      'ClusterDebuggerShardsDangling resolved',
    );
    const applied = await query(p, 'cluster_debugger_repairs_total{command="quickwit.deleteShards",outcome="applied"}');
    assert.ok(applied.length === 1 && Number(applied[0]!.value[1]) > 10, JSON.stringify(applied));
  });
});
