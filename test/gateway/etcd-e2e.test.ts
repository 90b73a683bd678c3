/**
 * The gateway over a REAL etcd, end to end: the simulator mirrors an
 * incident into etcd in the upstream layouts (`cluster-sim --etcd`), a
 * `cluster-gateway` reads it back, and `cluster-check` finds the same rules
 * through the gateway as against the simulator. Repairs go to etcd as
 * conditional transactions: what a concurrent writer changed after the plan
 * survives, a read-only gateway writes nothing, and an unreachable etcd makes
 * its subsystem unavailable without taking the gateway down.
 */
import * as assert from 'node:assert/strict';
import { connectClusterClient } from '../../src/engine/link';
import { ClusterWorkspace } from '../../src/engine/workspace';
import { ClusterClient } from '../../src/cluster/client';
import type { ClusterStatus } from '../../src/protocol';
import { cli, type Run } from '../cli/cliProcess';
import { startSim, type RunningSim } from '../server/sim';
import { freePort, snapshotKeys, startEtcd, type RunningEtcd } from './etcd';
import { startGateway, type RunningGateway } from './gateway';
import { decodePChannelMeta } from '../../src/codecs/milvus';
import { testSecret } from '../secrets';

const PROCEDURES = '/__procedure__/procedure/';
const ALL_PREFIXES = ['/__procedure__/', '__table_info/', '__table_name/', 'by-dev/'];
const TOKEN = testSecret('gateway');

interface JsonFinding {
  rule: string;
  id: string;
  count: number;
  repairs: { id: string; safety: string; targetCount: number }[];
}

function findingsOf(run: Run): JsonFinding[] {
  assert.ok(run.code === 0 || run.code === 1, `cluster-check failed (${run.code}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as { findings: JsonFinding[] }).findings;
}
const summary = (fs: JsonFinding[]) => fs.map((f) => `${f.id} ×${f.count}`).sort();
const rules = (fs: JsonFinding[]) => [...new Set(fs.map((f) => f.rule))].sort();

/** Polls `cluster-check` through the gateway until `ok` holds (a condition, with a deadline). */
async function checkUntil(url: string, ok: (fs: JsonFinding[]) => boolean, what: string, deadlineMs = 20_000): Promise<JsonFinding[]> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const fs = findingsOf(await cli([url, '--token', TOKEN, '--format', 'json']));
    if (ok(fs)) return fs;
    if (Date.now() > deadline) assert.fail(`${what} not seen through the gateway within ${deadlineMs} ms: ${JSON.stringify(summary(fs))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The keys of one procedure: step numbers written, and which of .commit/.rollback exist. */
async function procedureKeys(
  etcd: RunningEtcd,
  id: string,
): Promise<{ lastStep: number; commit: boolean; rollback: boolean; keys: string[] }> {
  const res = await etcd.client.getAll().prefix(`${PROCEDURES}${id}/`).keys();
  let lastStep = -1;
  for (const k of res) {
    const m = /\/(\d{10})\.step$/.exec(k);
    if (m) lastStep = Math.max(lastStep, Number(m[1]));
  }
  return { lastStep, commit: res.some((k) => k.endsWith('.commit')), rollback: res.some((k) => k.endsWith('.rollback')), keys: res };
}
/** The keys a repair operation targets. */
const targetKeys = (op: object): string[] => ('targets' in op ? (op.targets as { key: string }[]).map((t) => t.key) : []);
const stepKey = (id: string, step: number, kind: 'commit' | 'rollback') => `${PROCEDURES}${id}/${String(step).padStart(10, '0')}.${kind}`;

async function status(url: string): Promise<ClusterStatus> {
  const client = await ClusterClient.connect({ url, token: TOKEN, clientName: 'etcd-e2e' });
  try {
    return await client.request('cluster.status', {});
  } finally {
    client.close();
  }
}

describe('gateway over a real etcd (cluster-sim --etcd → cluster-gateway → cluster-check)', function () {
  this.timeout(60_000);
  let etcd: RunningEtcd | undefined;
  let sim: RunningSim | undefined;
  let gateway: RunningGateway | undefined;
  let workspace: ClusterWorkspace | undefined;

  afterEach(async () => {
    workspace?.dispose();
    await gateway?.stop();
    await sim?.stop();
    await etcd?.stop();
    [workspace, gateway, sim, etcd] = [undefined, undefined, undefined, undefined];
  });

  /** etcd, the simulator mirroring `scenario` into it, and the findings the simulator itself gives. */
  async function incident(scenario: string): Promise<{ etcd: RunningEtcd; expected: JsonFinding[] }> {
    etcd = await startEtcd();
    sim = await startSim(['--etcd', etcd.url, '--scenario', scenario, '--token', TOKEN]);
    const expected = findingsOf(await cli([sim.url, '--token', TOKEN, '--format', 'json']));
    assert.ok(expected.length > 0, `${scenario} shows findings on the simulator`);
    return { etcd, expected };
  }

  async function connectWorkspace(url: string): Promise<ClusterWorkspace> {
    workspace = new ClusterWorkspace({ connect: connectClusterClient, log: () => undefined, reconnect: false, catchUpMs: 20_000 });
    await workspace.connect({ name: 'gw', url, token: TOKEN });
    await workspace.flushChecks(workspace.require('gw'));
    return workspace;
  }

  it('greptime-ddl-backlog: same findings as the simulator; repairs write etcd conditionally and spare what a writer finished meanwhile', async () => {
    const { etcd, expected } = await incident('greptime-ddl-backlog');
    gateway = await startGateway({ greptime: { etcd: { endpoints: [etcd.url] } }, repairs: true }, { token: TOKEN });
    const seen = await checkUntil(gateway.url, (fs) => rules(fs).join() === rules(expected).join(), "the simulator's rules");
    assert.deepEqual(rules(seen), ['ddl/backlog', 'ddl/duplicate']);
    assert.deepEqual(summary(seen), summary(expected), 'the same findings, with the same counts, through etcd');

    const ws = await connectWorkspace(gateway.url);
    const cluster = ws.require('gw');

    // Purge the finished procedures: their keys leave etcd.
    const backlog = ws.pinCurrent(cluster, 'ddl/backlog:metasrv')!;
    const purge = backlog.repairs.find((r) => r.id === 'purge-finished')!;
    const purged = purge.operations.flatMap((op) => targetKeys(op));
    assert.ok(purged.length > 0, 'finished procedures to purge');
    for (const id of purged) assert.ok((await procedureKeys(etcd, id)).keys.length > 0, `${id} is in etcd before the purge`);
    const purgeResult = await ws.applyRepair({ cluster: 'gw', findingId: backlog.id, repairId: 'purge-finished' });
    assert.equal(purgeResult.applied, purged.length, purgeResult.summary);
    for (const id of purged) assert.deepEqual((await procedureKeys(etcd, id)).keys, [], `${id}'s keys are gone from etcd`);

    // Cancel one table's duplicates from a plan made BEFORE a writer finished some of them.
    const dupId = 'ddl/duplicate:greptime.public.http_requests';
    const dup = ws.pinCurrent(cluster, dupId)!;
    assert.ok(dup, `${dupId} is found`);
    const cancel = dup.repairs.find((r) => r.id === 'cancel-duplicates')!;
    const targets = cancel.operations.flatMap((op) => targetKeys(op));
    assert.ok(targets.length >= 6, `duplicates to cancel: ${targets.length}`);
    const finished = [targets[0]!, targets[Math.floor(targets.length / 2)]!, targets[targets.length - 1]!];
    for (const id of finished) {
      const p = await procedureKeys(etcd, id);
      assert.ok(p.lastStep >= 0 && !p.commit && !p.rollback, `${id} is unfinished before the writer`);
      // What metasrv's runner writes when a procedure is done: `.commit` at its next step (common/procedure local/runner.rs).
      await etcd.client.put(stepKey(id, p.lastStep + 1, 'commit')).value('');
    }
    const before = new Map(await Promise.all(finished.map(async (id) => [id, await procedureKeys(etcd, id)] as const)));
    const result = await ws.applyRepair({ cluster: 'gw', findingId: dupId, repairId: 'cancel-duplicates' });
    assert.equal(result.refused, finished.length, result.summary);
    assert.equal(result.applied, targets.length - finished.length, result.summary);
    for (const id of finished) {
      assert.ok(
        result.details.some((d) => d.includes(id) && /refused/i.test(d)),
        `the result says ${id} was refused: ${result.details.join('\n')}`,
      );
      const after = await procedureKeys(etcd, id);
      assert.deepEqual(after, before.get(id), `${id} is as the writer left it: its .commit kept, no .rollback added`);
      assert.ok(after.commit && !after.rollback);
    }
    for (const id of targets.filter((t) => !finished.includes(t))) {
      const p = await procedureKeys(etcd, id);
      assert.ok(p.rollback && !p.commit, `${id} was cancelled: a .rollback key at its next step`);
      // What the runner writes when it gives up (`write_rollback_procedure_state`): the last step's message at the next step, with `error`.
      const last = JSON.parse(
        (await etcd.client.get(`${PROCEDURES}${id}/${String(p.lastStep).padStart(10, '0')}.step`).string())!,
      ) as Record<string, unknown>;
      const rb = JSON.parse((await etcd.client.get(stepKey(id, p.lastStep + 1, 'rollback')).string())!) as Record<string, unknown>;
      assert.deepEqual(Object.keys(rb), ['type_name', 'data', 'parent_id', 'step', 'error']);
      assert.deepEqual({ ...rb, error: undefined }, { ...last, step: p.lastStep + 1, error: undefined });
      assert.match(rb.error as string, /cancelled by operator/);
    }
    ws.dispose();
    workspace = undefined;

    // Then everything else through cluster-check: disableAutoCreate is refused with its reason, the rest clears.
    const run = await cli([gateway.url, '--token', TOKEN, '--repair', 'all', '--yes']);
    assert.match(run.stdout, /refused \d+: .*GreptimeDB keeps no auto-create switch in etcd/, run.stdout);
    assert.match(run.stdout, /All findings repaired\./, run.stdout);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(findingsOf(await cli([gateway.url, '--token', TOKEN, '--format', 'json'])), [], 'no finding left through the gateway');
  });

  it('milvus-wal-close-blocked: same findings as the simulator; both repairs are refused with the remedy (no etcd write reaches a stuck node) and etcd does not change', async () => {
    const { etcd, expected } = await incident('milvus-wal-close-blocked');
    gateway = await startGateway({ milvus: { etcd: { endpoints: [etcd.url] }, gracePeriodSeconds: 1 }, repairs: true }, { token: TOKEN });
    // The stop time is the gateway's own clock (etcd does not keep it): the finding shows once the grace period has passed.
    const seen = await checkUntil(gateway.url, (fs) => rules(fs).join() === rules(expected).join(), 'wal/close-blocked');
    assert.deepEqual(rules(seen), ['wal/close-blocked']);
    assert.deepEqual(seen.map((f) => f.id).sort(), expected.map((f) => f.id).sort());

    // The shape 2.6 leaves: the stuck node's channel ASSIGNING to another node, the stuck node only in its histories.
    const stuck = Number(seen[0]!.id.replace(/^.*node-/, ''));
    const metas = (await etcd.client.getAll().prefix('by-dev/meta/streamingcoord-meta/pchannel/').buffers()) as Record<string, Buffer>;
    const moving = Object.values(metas)
      .map((b) => decodePChannelMeta(b))
      .filter((m) => m.histories.some((h) => h.node?.serverId === stuck));
    assert.ok(moving.length > 0, 'a channel holds the stuck node in its histories');
    for (const m of moving) assert.deepEqual([m.state, m.node?.serverId !== stuck], ['PCHANNEL_META_STATE_ASSIGNING', true]);

    // What etcd cannot say is said so, not read as empty; the version is the sessions' own.
    const st = await status(gateway.url);
    const wal = st.subsystems!.wal!;
    assert.equal(wal.collections?.['milvus.appends']?.state, 'unavailable', JSON.stringify(wal.collections));
    assert.match(wal.collections!['milvus.appends']!.reason!, /streaming node's memory/);
    assert.equal(wal.version?.system, 'Milvus');
    assert.match(wal.version!.version, /^2\.6\.0-master-20250410$/);
    // No coordinator session in etcd: refused all the same (it redoes the move when it starts), with the remedy.
    assert.match(
      wal.refuses!['milvus.cancelAppendsAndClose']!,
      /no coordinator session is in etcd.*Remedy: end the stuck streaming node process/,
    );
    assert.match(wal.refuses!['milvus.forceRemoveNode']!, /Remedy: end the stuck streaming node process/);

    const ws = await connectWorkspace(gateway.url);
    const cluster = ws.require('gw');
    const [finding] = cluster.checker.findings();
    assert.ok(finding, 'the workspace sees the finding');
    const MILVUS_KEYS = ['by-dev/meta/session/streamingnode-', 'by-dev/meta/streamingcoord-meta/'];
    const before = await snapshotKeys(etcd.client, MILVUS_KEYS);
    const close = finding!.repairs.find((r) => r.operations.some((op) => op.command === 'milvus.cancelAppendsAndClose'))!;
    const result = await ws.applyRepair({ cluster: 'gw', findingId: finding!.id, repairId: close.id });
    assert.equal(result.applied, 0, result.summary);
    assert.match([result.summary, ...result.details].join('\n'), /refused by the gateway|no coordinator session/, result.summary);
    ws.dispose();
    workspace = undefined;

    // The streaming coordinator starts (its session on a lease, as MixCoord registers it): the reason says it runs.
    const lease = etcd.client.lease(60);
    await lease.put('by-dev/meta/session/mixcoord').value(
      JSON.stringify({
        ServerID: 9,
        ServerName: 'mixcoord',
        Address: '10.0.0.9:19530',
        Exclusive: true,
        Version: '2.6.0',
        IndexEngineVersion: {},
        ScalarIndexEngineVersion: {},
        HostName: 'milvus-mixcoord-0',
      }),
    );
    const deadline = Date.now() + 10_000;
    let refuses = '';
    while (!/the streaming coordinator runs \(session mixcoord server 9\)/.test(refuses)) {
      assert.ok(Date.now() < deadline, `the refusal does not name the running coordinator: ${refuses}`);
      await new Promise((r) => setTimeout(r, 100)); // poll interval between status reads
      refuses = (await status(gateway.url)).subsystems!.wal!.refuses!['milvus.cancelAppendsAndClose'] ?? '';
    }
    const run = await cli([gateway.url, '--token', TOKEN, '--repair', 'all', '--yes']);
    assert.doesNotMatch(run.stdout, /applied [1-9]/, run.stdout);
    assert.deepEqual(await snapshotKeys(etcd.client, MILVUS_KEYS), before, 'no key written or deleted');
    await lease.revoke();
  });

  it('read-only gateway: every repair is refused with the reason and etcd does not change', async () => {
    const { etcd, expected } = await incident('greptime-ddl-backlog');
    gateway = await startGateway({ greptime: { etcd: { endpoints: [etcd.url] } } }, { token: TOKEN });
    await checkUntil(gateway.url, (fs) => summary(fs).join() === summary(expected).join(), "the simulator's findings");
    assert.equal((await status(gateway.url)).readOnly, true);
    const before = await snapshotKeys(etcd.client, ALL_PREFIXES);
    assert.ok(before.size > 0);
    const run = await cli([gateway.url, '--token', TOKEN, '--repair', 'all', '--yes']);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    // The engine sees the cluster's read-only status and sends nothing (the gateway would refuse it too).
    assert.match(run.stdout, /read-only: it refuses every repair.*nothing was sent/, run.stdout);
    assert.doesNotMatch(run.stdout, /applied [1-9]/, run.stdout);
    assert.deepEqual(await snapshotKeys(etcd.client, ALL_PREFIXES), before, 'every key and mod_revision as before');
    assert.deepEqual(summary(findingsOf(await cli([gateway.url, '--token', TOKEN, '--format', 'json']))), summary(expected));
  });

  it('the etcd helper says clearly when etcd is not installed', async () => {
    await assert.rejects(startEtcd({ bin: '/nonexistent/etcd' }), /\/nonexistent\/etcd is missing: install etcd/);
  });

  it('an unreachable etcd makes its subsystem unavailable, with the reason; the gateway keeps serving', async () => {
    etcd = await startEtcd();
    const closed = await freePort();
    gateway = await startGateway(
      {
        greptime: { etcd: { endpoints: [`http://127.0.0.1:${closed}`] } },
        milvus: { etcd: { endpoints: [etcd.url] } },
      },
      { token: TOKEN },
    );
    const s = await status(gateway.url);
    assert.equal(s.subsystems?.ddl?.state, 'unavailable', JSON.stringify(s.subsystems));
    assert.match(s.subsystems!.ddl!.reason!, new RegExp(`etcd http://127\\.0\\.0\\.1:${closed}: .*retrying in`));
    assert.equal(s.subsystems?.wal?.state, 'ok', JSON.stringify(s.subsystems));
    const run = await cli([gateway.url, '--token', TOKEN, '--format', 'json']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    // Still serving after the follower's retries.
    const again = await status(gateway.url);
    assert.equal(again.subsystems?.ddl?.state, 'unavailable');
  });
});
