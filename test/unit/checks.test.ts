import * as assert from 'node:assert/strict';
import {
  Finding,
  MAX_FINDING_SAMPLES,
  MAX_REPAIR_TARGETS,
  RepairCommand,
  RULE_IDS,
  evidenceOf,
  type Expectation,
} from '../../src/protocol';
import { formatClusterTime } from '../../src/protocol/format';
import { previewRepair } from '../../src/analysis/preview';
import {
  checkCloseBlockedWals,
  checkDanglingShards,
  checkDdlBacklog,
  checkDuplicateProcedures,
  checkOnlineOutOfStorage,
  checkOrphanedShards,
  checkStalePreparedRegions,
  formatDuration,
  runChecks,
} from '../../src/analysis';
import * as F from './fixtures';

const targetsOf = (ops: RepairCommand[]): Expectation[] =>
  ops.flatMap((o) => ('targets' in o ? o.targets.filter((t) => 'version' in t) : []));
const repair = (f: Finding, id: string) => {
  const r = f.repairs.find((x) => x.id === id);
  assert.ok(r, `repair ${id} offered (got ${f.repairs.map((x) => x.id).join(', ')})`);
  return r;
};

/** Every finding must be valid against the protocol schema the server and CLI send it with. */
function valid(findings: Finding[]): Finding[] {
  for (const f of findings) Finding.parse(f);
  return findings;
}

describe('checks', () => {
  it('a healthy model has no findings', () => {
    const b = F.model();
    for (let i = 0; i < 5; i++) F.healthyShard(b, `s${i}`);
    b.add('quickwit.metastore.shards', F.metastoreShard('closed-1', { shardState: 'closed' }));
    b.add('milvus.nodes', F.streamingNode(1), F.streamingNode(2, { lifecycle: 'Stopped', stopRequestedAt: 10 }));
    b.add('milvus.wals', F.wal(1, 'ch-0', { inFlightAppends: 2 }));
    b.add(
      'greptime.procedures',
      F.procedure('p1'),
      F.procedure('p2', { table: 'greptime.public.cpu' }),
      F.procedure('p3', { status: 'Done' }),
    );
    b.add('greptime.etcd', F.etcdPrefix('/__procedure__/', 1000));
    b.add('tikv.writeBatches', F.writeBatch(1, { atCommitBoundary: false, currentRegion: 7 }));
    b.add('tikv.regions', F.region(1, 7, { isWritten: true }), F.region(1, 8));
    b.add('fluvio.partitions', F.partition('events', 0), F.partition('events', 1, { resolution: 'OutOfStorage' }));
    b.add('fluvio.spuReports', F.spuReport(5001, 'events', 0), F.spuReport(5001, 'events', 1, { storageFull: true }));
    assert.deepEqual(runChecks(b.build()), []);
  });

  describe('shards/dangling', () => {
    it('flags open metastore shards nobody else knows, one finding per source', () => {
      const b = F.model();
      F.healthyShard(b, 'live');
      b.add('quickwit.metastore.shards', F.metastoreShard('d1'), F.metastoreShard('d2', { shardState: 'unavailable' }));
      b.add('quickwit.metastore.shards', F.metastoreShard('d3', { sourceId: 'kafka' }));
      const findings = valid(checkDanglingShards(b.build()));
      assert.deepEqual(
        findings.map((f) => [f.id, f.count]),
        [
          [`shards/dangling:${F.INDEX}/${F.SOURCE}`, 2],
          [`shards/dangling:${F.INDEX}/kafka`, 1],
        ],
      );
      const [f] = findings;
      assert.match(f!.message, /2 shards of index otel-logs-v0_7:01HXYZ, source _ingest-source/);
      assert.deepEqual(
        f!.repairs.map((r) => r.title),
        [
          `Delete 2 uninitialised shards of ${F.INDEX}/${F.SOURCE} from the metastore`,
          `Restart the control plane so it reloads the shards of ${F.INDEX}/${F.SOURCE} from the metastore`,
        ],
      );
      // The source also has one live shard, which the control plane knows and an ingester holds.
      assert.deepEqual(
        f!.facts.map((x) => [x.component, x.subject.collection, x.subject.kind === 'group' ? x.subject.count : x.subject.kind, x.says]),
        [
          ['metastore', 'quickwit.metastore.shards', 3, `The metastore has 3 shards of ${F.INDEX}/${F.SOURCE} that are not closed.`],
          ['control plane', 'quickwit.controlPlane.shards', 1, 'The control plane (epoch 3) knows 1 of them.'],
          ['ingester', 'quickwit.ingester.shards', 1, 'Ingesters hold 1 of them.'],
          [
            'metastore',
            'quickwit.metastore.shards',
            2,
            'The other 2 (1 open, 1 unavailable) have no ingester: open_shards succeeded, init_shards did not (the oldest created at t=10 s).',
          ],
        ],
      );
      assert.equal(f!.facts[1]!.epoch, 3);
      const restart = repair(f!, 'restart-control-plane');
      assert.deepEqual(restart.operations, [{ command: 'quickwit.restartControlPlane', expectedEpoch: 3 }]);
      assert.equal(restart.safety, 'safe');
      assert.deepEqual(
        targetsOf(repair(f!, 'delete-uninitialised').operations)
          .map((t) => t.key)
          .sort(),
        [`${F.INDEX}/${F.SOURCE}/d1`, `${F.INDEX}/${F.SOURCE}/d2`],
      );
    });

    it('does not flag closed shards, or shards the control plane or an ingester knows', () => {
      const b = F.model();
      b.add('quickwit.metastore.shards', F.metastoreShard('c', { shardState: 'closed' }), F.metastoreShard('cp'), F.metastoreShard('ing'));
      b.add('quickwit.controlPlane.shards', F.controlPlaneShard('cp'));
      b.add('quickwit.ingester.shards', F.ingesterShard('ing', { ingesterId: 'ingester-2' }));
      assert.deepEqual(checkDanglingShards(b.build()), []);
    });

    it('groups 10,000 dangling shards of one source into one finding with bounded samples and batched deletes', () => {
      const b = F.model();
      for (let i = 0; i < 10_000; i++) b.add('quickwit.metastore.shards', F.metastoreShard(`s${i}`, { version: i % 7 }));
      const findings = valid(runChecks(b.build()));
      assert.equal(findings.length, 1);
      const f = findings[0]!;
      assert.equal(f.count, 10_000);
      assert.ok(f.samples.length <= MAX_FINDING_SAMPLES && f.samples.length > 0);
      const del = repair(f, 'delete-uninitialised');
      assert.equal(del.targetCount, 10_000);
      assert.equal(del.operations.length, Math.ceil(10_000 / MAX_REPAIR_TARGETS));
      for (const op of del.operations) assert.ok('targets' in op && op.targets.length <= MAX_REPAIR_TARGETS);
      const targets = targetsOf(del.operations);
      assert.equal(new Set(targets.map((t) => t.key)).size, 10_000);
      // Every target carries the version it was planned from.
      assert.deepEqual(targets[9], { key: `${F.INDEX}/${F.SOURCE}/s9`, version: 9 % 7 });
    });

    it('never plans deleting a shard that was published from', () => {
      const b = F.model();
      b.add(
        'quickwit.metastore.shards',
        F.metastoreShard('fresh'),
        F.metastoreShard('published', { publishPositionInclusive: '~00000000000000000042' }),
      );
      const [f] = checkDanglingShards(b.build());
      assert.equal(f!.count, 2);
      assert.deepEqual(
        targetsOf(repair(f!, 'delete-uninitialised').operations).map((t) => t.key),
        [`${F.INDEX}/${F.SOURCE}/fresh`],
      );
      assert.ok(f!.facts.some((x) => /^1 shard of those has a publish position/.test(x.says)));
    });

    it('an initialised or unpublished shard is in no delete plan of any finding', () => {
      const b = F.model();
      // Initialised on an ingester with records not yet published, and unknown to the control plane.
      b.add('quickwit.metastore.shards', F.metastoreShard('live', { publishPositionInclusive: '~00000000000000000001' }));
      b.add('quickwit.ingester.shards', F.ingesterShard('live', { replicationPositionInclusive: '~00000000000000000009' }));
      b.add('quickwit.metastore.shards', F.metastoreShard('dangling'));
      const all = runChecks(b.build());
      const deleted = all
        .flatMap((f) => f.repairs.flatMap((r) => r.operations.filter((o) => o.command === 'quickwit.deleteShards')))
        .flatMap((o) => targetsOf([o]));
      assert.deepEqual(
        deleted.map((t) => t.key),
        [`${F.INDEX}/${F.SOURCE}/dangling`],
      );
    });
  });

  describe('shards/orphaned', () => {
    it('flags control-plane and ingester shards missing from the metastore', () => {
      const b = F.model();
      b.add('quickwit.controlPlane.shards', F.controlPlaneShard('ghost'));
      b.add(
        'quickwit.ingester.shards',
        F.ingesterShard('empty'),
        F.ingesterShard('full', { replicationPositionInclusive: '~00000000000000000005' }),
      );
      const [f, ...rest] = valid(checkOrphanedShards(b.build()));
      assert.equal(rest.length, 0);
      assert.equal(f!.id, `shards/orphaned:${F.INDEX}/${F.SOURCE}`);
      assert.equal(f!.count, 3);
      assert.equal(repair(f!, 'restart-control-plane').safety, 'safe');
      const safeReset = repair(f!, 'advise-reset-safe-shards');
      assert.equal(safeReset.safety, 'safe');
      assert.deepEqual(
        targetsOf(safeReset.operations).map((t) => t.key),
        ['ingester-1/' + `${F.INDEX}/${F.SOURCE}/empty`],
      );
      const reset = repair(f!, 'advise-reset-shards');
      assert.equal(reset.safety, 'may-lose-data');
      assert.equal(reset.targetCount, 2);
    });

    it('a reset of empty or eof ingester shards is safe', () => {
      const b = F.model();
      b.add('quickwit.ingester.shards', F.ingesterShard('a'), F.ingesterShard('b', { replicationPositionInclusive: '~eof' }));
      const [f] = checkOrphanedShards(b.build());
      assert.equal(repair(f!, 'advise-reset-shards').safety, 'safe');
      assert.ok(!f!.repairs.some((r) => r.id === 'restart-control-plane'));
    });

    it('a reset of closed ingester shards with records is safe: the metastore deleted them only once published to their end', () => {
      // What an ingester reloads from its WAL after a rolling restart (quickwit #6531).
      const b = F.model();
      b.add(
        'quickwit.ingester.shards',
        F.ingesterShard('r1', { shardState: 'closed', replicationPositionInclusive: '~00000000000000000042' }),
        F.ingesterShard('r2', { shardState: 'closed', replicationPositionInclusive: '~00000000000000000007' }),
      );
      const [f, ...rest] = valid(checkOrphanedShards(b.build()));
      assert.equal(rest.length, 0);
      assert.deepEqual(
        f!.repairs.map((r) => [r.id, r.safety, r.targetCount]),
        [['advise-reset-shards', 'safe', 2]],
      );
      assert.equal(f!.repairs[0]!.title, `Reset 2 ingester shards with no unpublished records of ${F.INDEX}/${F.SOURCE}`);
      assert.ok(
        f!.facts.some((x) => /^2 shards with records are closed: the metastore deletes a shard only once/.test(x.says)),
        evidenceOf(f!).join('\n'),
      );
    });

    it('an open ingester shard with records stays out of every safe reset, next to closed and empty ones', () => {
      const b = F.model();
      b.add(
        'quickwit.ingester.shards',
        F.ingesterShard('open-full', { replicationPositionInclusive: '~00000000000000000005' }),
        F.ingesterShard('unavailable-full', { shardState: 'unavailable', replicationPositionInclusive: '~00000000000000000003' }),
        F.ingesterShard('closed-full', { shardState: 'closed', replicationPositionInclusive: '~00000000000000000009' }),
        F.ingesterShard('open-empty'),
      );
      const [f] = valid(checkOrphanedShards(b.build()));
      const safeReset = repair(f!, 'advise-reset-safe-shards');
      assert.equal(safeReset.safety, 'safe');
      assert.deepEqual(
        targetsOf(safeReset.operations)
          .map((t) => t.key.split('/').at(-1))
          .sort(),
        ['closed-full', 'open-empty'],
      );
      const all = repair(f!, 'advise-reset-shards');
      assert.equal(all.safety, 'may-lose-data');
      assert.equal(all.targetCount, 4);
      assert.equal(all.title, `Reset 4 ingester shards of ${F.INDEX}/${F.SOURCE}, 2 not closed and holding records`);
      // Facts: the metastore has none; the ingester holds 4 (3 with records); 1 closed with records; 2 at risk.
      assert.deepEqual(
        f!.facts.map((x) => [x.component, x.subject.collection, x.subject.kind === 'group' ? x.subject.count : 1]),
        [
          ['metastore', 'quickwit.metastore.shards', 0],
          ['ingester', 'quickwit.ingester.shards', 4],
          ['ingester', 'quickwit.ingester.shards', 1],
          ['ingester', 'quickwit.ingester.shards', 2],
        ],
      );
      assert.match(f!.facts[1]!.says, /^Ingester ingester-\S+ holds 4 of them, 3 with records not yet at eof\.$/);
      assert.match(f!.facts[3]!.says, /^2 shards with records are not closed: records past the last publish may be the only copy\.$/);
      const inSafePlans = f!.repairs
        .filter((r) => r.safety === 'safe')
        .flatMap((r) => targetsOf(r.operations).map((t) => t.key.split('/').at(-1)));
      assert.ok(!inSafePlans.includes('open-full') && !inSafePlans.includes('unavailable-full'), inSafePlans.join(', '));
    });

    it('does not flag shards the metastore has', () => {
      const b = F.model();
      F.healthyShard(b, 'x');
      assert.deepEqual(checkOrphanedShards(b.build()), []);
    });
  });

  describe('wal/close-blocked', () => {
    const blocked = (time: number) =>
      F.model({ time })
        .add('milvus.nodes', F.streamingNode(7, { lifecycle: 'Terminating', stopRequestedAt: 100 }))
        .add('milvus.wals', F.wal(7, 'dml_0', { recovering: true, closing: true, inFlightAppends: 2 }))
        .add('milvus.appends', F.append(7, 'dml_0', 'a1'), F.append(7, 'dml_0', 'a2', { phase: 'writing' }));

    it('flags a node Terminating past its grace period whose recovering WAL has appends in flight', () => {
      const time = 100 + 4 * 86400 + 21 * 3600;
      const [f, ...rest] = valid(checkCloseBlockedWals(blocked(time).build()));
      assert.equal(rest.length, 0);
      assert.equal(f!.id, 'wal/close-blocked:node-7');
      assert.equal(f!.anchor.key, 'node-7');
      assert.equal(
        f!.facts[0]!.says,
        'Kubernetes asked StreamingNode 7 to stop at t=100 s: it has been Terminating for 4d21h, past its grace period of 30s.',
      );
      assert.equal(f!.facts[0]!.since, 100);
      assert.ok(f!.facts.some((x) => /1 waiting for recovery, 1 writing/.test(x.says)));
      const cancel = repair(f!, 'cancel-appends-and-close');
      assert.equal(cancel.safety, 'safe');
      assert.equal(cancel.title, 'Cancel the 2 blocked appends on StreamingNode 7 and finish closing');
      // Conditional on the node's version, and on its WAL still being as the finding saw it.
      assert.deepEqual(cancel.operations, [
        {
          command: 'milvus.cancelAppendsAndClose',
          targets: [{ key: 'node-7', version: 1 }],
          preconditions: [{ collection: 'milvus.wals', key: 'node-7/dml_0', version: 1 }],
        },
      ]);
      assert.equal(repair(f!, 'force-remove-node').safety, 'may-lose-data');
      assert.equal(f!.repairs[0]!.id, 'cancel-appends-and-close', 'the safe repair comes first');
    });

    it('force-removing says the same count of in-flight appends as its preview deletes (one sentence, one source)', () => {
      const model = blocked(100 + 4 * 86400).build();
      const [f] = valid(checkCloseBlockedWals(model));
      const remove = repair(f!, 'force-remove-node');
      assert.match(
        remove.description,
        /Its 2 in-flight appends fail \(clients retry\); 1 of them is in phase 'writing' and may be lost\.$/,
      );
      const preview = previewRepair(model, { title: remove.title, safety: remove.safety, operations: remove.operations });
      assert.match(preview.summary, /deletes [^;]*\b2 in-flight appends\b/);
    });

    it('does not flag a node still within its grace period, or one whose WAL is not recovering', () => {
      assert.deepEqual(checkCloseBlockedWals(blocked(120).build()), []);
      const b = blocked(10_000);
      b.add('milvus.wals', F.wal(7, 'dml_0', { recovering: false, inFlightAppends: 2 }));
      assert.deepEqual(checkCloseBlockedWals(b.build()), []);
    });

    it('seen from a store (recovery and appends unknown): flags a WAL whose close is not confirmed, never reads unknown as 0', () => {
      const store = (closing: boolean, time: number) =>
        F.model({ time })
          .add('milvus.nodes', F.streamingNode(7, { lifecycle: 'Terminating', stopRequestedAt: 100 }))
          // The 2.6 shape: the channel moved on (term 3 on node 8), node 7 still in its histories at term 2.
          .add('milvus.wals', F.wal(7, 'dml_0', { term: 2, available: false, recovering: null, inFlightAppends: null, closing }))
          .add('milvus.wals', F.wal(8, 'dml_0', { term: 3, available: false, recovering: null, inFlightAppends: null }))
          .build();
      const [f, ...rest] = valid(checkCloseBlockedWals(store(true, 10_000)));
      assert.equal(rest.length, 0);
      assert.equal(f!.id, 'wal/close-blocked:node-7');
      assert.match(f!.message, /the close of 1 WAL is not confirmed/);
      assert.match(f!.message, /not observable here/);
      assert.ok(!f!.facts.some((x) => x.subject.collection === 'milvus.appends'), 'no claim about appends it could not read');
      assert.match(f!.facts[1]!.says, /WAL dml_0 \(term 2\): its close was asked and is not confirmed/);
      assert.deepEqual(checkCloseBlockedWals(store(true, 120)), [], 'within the grace period');
      assert.deepEqual(checkCloseBlockedWals(store(false, 10_000)), [], 'no close asked');
    });

    it('formats durations like kubectl', () => {
      assert.equal(formatDuration(4 * 86400 + 21 * 3600 + 5), '4d21h');
      assert.equal(formatDuration(30), '30s');
      assert.equal(formatDuration(3600 + 5), '1h0m');
    });

    it('formats a cluster time on its clock: logical t=N s on the simulator, UTC on a gateway', () => {
      assert.equal(formatClusterTime(610, { scenario: 'incident-all' }), 't=610 s');
      assert.equal(formatClusterTime(1700000610, { scenario: 'gateway' }), '2023-11-14 22:23:30 UTC');
      // The same fact, seen on each clock.
      const at = (scenario: string, time: number, stop: number) =>
        valid(
          checkCloseBlockedWals(
            F.model({ scenario, time })
              .add('milvus.nodes', F.streamingNode(7, { lifecycle: 'Terminating', stopRequestedAt: stop }))
              .add('milvus.wals', F.wal(7, 'dml_0', { recovering: true, closing: true, inFlightAppends: 1 }))
              .build(),
          ),
        )[0]!.facts[0]!.says;
      assert.equal(
        at('incident-all', 732, 100),
        'Kubernetes asked StreamingNode 7 to stop at t=100 s: it has been Terminating for 10m32s, past its grace period of 30s.',
      );
      assert.equal(
        at('gateway', 1700000610 + 632, 1700000610),
        'Kubernetes asked StreamingNode 7 to stop at 2023-11-14 22:23:30 UTC: it has been Terminating for 10m32s, past its grace period of 30s.',
      );
    });
  });

  describe('ddl', () => {
    const piling = (n: number) => {
      const b = F.model({ config: { maxRunningProcedures: 4, maxRetryTimes: 3, etcdQuotaBytes: 1_000_000 } });
      for (let i = 0; i < n; i++)
        b.add(
          'greptime.procedures',
          F.procedure(`p${String(i).padStart(3, '0')}`, { startTime: 200 - i, status: i % 2 ? 'Retrying' : 'Running' }),
        );
      b.add('greptime.procedures', F.procedure('other', { table: 'greptime.public.cpu' }));
      b.add(
        'greptime.procedures',
        F.procedure('done1', { status: 'Done', endTime: 50 }),
        F.procedure('failed1', { status: 'Failed', endTime: 60 }),
      );
      return b;
    };

    it('ddl/backlog: flags unfinished procedures above max_running_procedures', () => {
      const [f, ...rest] = valid(checkDdlBacklog(piling(6).build()));
      assert.equal(rest.length, 0);
      assert.equal(f!.id, 'ddl/backlog:metasrv');
      assert.equal(f!.count, 7);
      assert.match(f!.message, /7 unfinished procedures \(max_running_procedures = 4\)/);
      assert.deepEqual(repair(f!, 'disable-auto-create').operations, [
        { command: 'greptime.disableAutoCreate', table: 'greptime.public.metrics' },
      ]);
      // The oldest of the six (p005, startTime 195) is kept.
      const cancelled = targetsOf(repair(f!, 'cancel-duplicates').operations)
        .map((t) => t.key)
        .sort();
      assert.deepEqual(cancelled, ['p000', 'p001', 'p002', 'p003', 'p004']);
      assert.deepEqual(
        targetsOf(repair(f!, 'purge-finished').operations)
          .map((t) => t.key)
          .sort(),
        ['done1', 'failed1'],
      );
      assert.ok(f!.repairs.every((r) => r.safety === 'safe'));
    });

    it('ddl/backlog: flags etcd at 80% of its quota', () => {
      const b = F.model().add('greptime.etcd', F.etcdPrefix('/__procedure__/', 700_000), F.etcdPrefix('/__table__/', 100_000));
      const [f] = valid(checkDdlBacklog(b.build()));
      assert.ok(f);
      assert.equal(f.anchor.collection, 'greptime.etcd');
      assert.match(f.message, /etcd holds .*\(80%\)/);
      assert.deepEqual(checkDdlBacklog(F.model().add('greptime.etcd', F.etcdPrefix('/x', 799_999)).build()), []);
    });

    it('ddl/backlog: not flagged at the limit', () => {
      const b = F.model({ config: { maxRunningProcedures: 4, maxRetryTimes: 3, etcdQuotaBytes: 1_000_000 } });
      for (let i = 0; i < 4; i++) b.add('greptime.procedures', F.procedure(`p${i}`, { table: `t${i}` }));
      assert.deepEqual(checkDdlBacklog(b.build()), []);
    });

    it('unfinished procedures are only ever cancelled, never purged', () => {
      for (const f of runChecks(piling(10).build())) {
        for (const r of f.repairs) {
          for (const op of r.operations) {
            if (op.command !== 'greptime.purgeProcedures') continue;
            assert.deepEqual(op.targets.map((t) => t.key).sort(), ['done1', 'failed1']);
          }
        }
      }
    });

    it('ddl/duplicate: one finding per table, cancelling all but the oldest', () => {
      const b = F.model();
      b.add(
        'greptime.procedures',
        F.procedure('b', { startTime: 10 }),
        F.procedure('a', { startTime: 10 }),
        F.procedure('c', { startTime: 5, status: 'Done' }),
      );
      b.add('greptime.procedures', F.procedure('x', { table: 'greptime.public.cpu' }));
      const [f, ...rest] = valid(checkDuplicateProcedures(b.build()));
      assert.equal(rest.length, 0);
      assert.equal(f!.id, 'ddl/duplicate:greptime.public.metrics');
      assert.equal(f!.count, 2);
      // Same start time: the lower id is the oldest and is kept.
      // Cancelling b rests on a, the one kept, still being as seen.
      assert.deepEqual(repair(f!, 'cancel-duplicates').operations, [
        {
          command: 'greptime.cancelProcedures',
          targets: [{ key: 'b', version: 1 }],
          preconditions: [{ collection: 'greptime.procedures', key: 'a', version: 1 }],
        },
      ]);
    });

    it('every fix title names its target: two tables with as many duplicates offer distinct fixes, and the backlog names both', () => {
      const b = F.model({ config: { maxRunningProcedures: 4, maxRetryTimes: 3, etcdQuotaBytes: 1_000_000 } });
      for (const table of ['greptime.public.cpu', 'greptime.public.mem'])
        for (let i = 0; i < 3; i++) b.add('greptime.procedures', F.procedure(`${table}-${i}`, { table, startTime: 10 + i }));
      b.add('greptime.procedures', F.procedure('done1', { status: 'Done', endTime: 50 }));
      const model = b.build();
      const dup = valid(checkDuplicateProcedures(model)).map((f) => repair(f, 'cancel-duplicates').title);
      assert.deepEqual(dup, [
        'Cancel 2 duplicate procedures of table greptime.public.cpu, keeping the oldest per table',
        'Cancel 2 duplicate procedures of table greptime.public.mem, keeping the oldest per table',
      ]);
      const [backlog] = valid(checkDdlBacklog(model));
      assert.deepEqual(
        backlog!.repairs.map((r) => r.title),
        [
          'Stop auto-creating 2 tables on write (greptime.public.cpu, greptime.public.mem)',
          'Cancel 4 duplicate procedures of 2 tables (greptime.public.cpu, greptime.public.mem), keeping the oldest per table',
          "Purge 1 finished procedure from metasrv's etcd",
        ],
      );
    });

    it('ddl/duplicate: different kinds for the same table are not duplicates', () => {
      const b = F.model().add('greptime.procedures', F.procedure('a'), F.procedure('b', { typeName: 'metasrv-procedure::AlterTable' }));
      assert.deepEqual(checkDuplicateProcedures(b.build()), []);
    });
  });

  describe('regions/stale-prepared', () => {
    it('flags a written region that is not the current one, and any at a commit boundary, per store', () => {
      const b = F.model();
      b.add(
        'tikv.writeBatches',
        F.writeBatch(1, { atCommitBoundary: false, currentRegion: 26971 }),
        F.writeBatch(2, { atCommitBoundary: true }),
      );
      b.add(
        'tikv.regions',
        F.region(1, 26971, { isWritten: true }),
        F.region(1, 26972, { isWritten: true }),
        F.region(2, 5, { isWritten: true }),
      );
      const findings = valid(checkStalePreparedRegions(b.build()));
      assert.deepEqual(
        findings.map((f) => [f.id, f.count]),
        [
          ['regions/stale-prepared:store-1', 1],
          ['regions/stale-prepared:store-2', 1],
        ],
      );
      assert.equal(findings[0]!.anchor.key, 'store-1/region-26972');
      assert.match(findings[0]!.message, /current region is 26971/);
      assert.match(findings[1]!.message, /commit boundary/);
      assert.equal(findings[0]!.repairs[0]!.id, 'clear-prepared-mark');
      assert.deepEqual(
        findings.map((f) => f.repairs.map((r) => r.title)),
        [
          ['Clear the stale prepared mark of 1 region on store 1', "Evict 1 region from store 1's in-memory engine"],
          ['Clear the stale prepared mark of 1 region on store 2', "Evict 1 region from store 2's in-memory engine"],
        ],
      );
      assert.ok(findings[0]!.repairs.every((r) => r.safety === 'safe'));
      assert.deepEqual(
        findings[0]!.repairs.map((r) => r.id),
        ['clear-prepared-mark', 'evict-region'],
      );
    });

    it('does not flag any region the batch in progress prepared (every one stays marked until the batch is written)', () => {
      const b = F.model();
      // A batch that prepared 3, then 7 (current): record_last_written_region moved 3 into written_regions.
      b.add('tikv.writeBatches', F.writeBatch(1, { atCommitBoundary: false, currentRegion: 7, writtenRegions: [3] }));
      b.add('tikv.regions', F.region(1, 3, { isWritten: true }), F.region(1, 7, { isWritten: true }), F.region(1, 5));
      assert.deepEqual(checkStalePreparedRegions(b.build()), []);
    });

    it('does not flag the current region mid-batch, or unmarked regions', () => {
      const b = F.model();
      b.add('tikv.writeBatches', F.writeBatch(1, { atCommitBoundary: false, currentRegion: 3 }));
      b.add('tikv.regions', F.region(1, 3, { isWritten: true }), F.region(1, 4));
      assert.deepEqual(checkStalePreparedRegions(b.build()), []);
    });
  });

  describe('partitions/online-out-of-space', () => {
    it('flags Online partitions whose leader SPU reports storage full, per topic', () => {
      const b = F.model();
      b.add(
        'fluvio.partitions',
        F.partition('events', 0),
        F.partition('events', 1),
        F.partition('logs', 0, { leader: { spu: 5002, hw: 1, leo: 1 } }),
      );
      b.add(
        'fluvio.spuReports',
        F.spuReport(5001, 'events', 0, { storageFull: true, freeBytes: 0 }),
        F.spuReport(5001, 'events', 1, { storageFull: true }),
      );
      // A full report from a follower does not count: only the leader's.
      b.add('fluvio.spuReports', F.spuReport(5001, 'logs', 0, { storageFull: true }));
      const [f, ...rest] = valid(checkOnlineOutOfStorage(b.build()));
      assert.equal(rest.length, 0);
      assert.equal(f!.id, 'partitions/online-out-of-space:events');
      assert.equal(f!.count, 2);
      const r = repair(f!, 'restore-from-spu-report');
      assert.equal(r.safety, 'safe');
      assert.equal(r.title, 'Restore OutOfStorage on 2 partitions of topic events from the SPU report');
      assert.deepEqual(
        targetsOf(r.operations).map((t) => t.key),
        ['events-0', 'events-1'],
      );
    });

    it('does not flag a partition already OutOfStorage, or one whose SPU has room', () => {
      const b = F.model();
      b.add('fluvio.partitions', F.partition('events', 0, { resolution: 'OutOfStorage' }), F.partition('events', 1));
      b.add('fluvio.spuReports', F.spuReport(5001, 'events', 0, { storageFull: true }), F.spuReport(5001, 'events', 1));
      assert.deepEqual(checkOnlineOutOfStorage(b.build()), []);
    });
  });

  describe('runChecks', () => {
    const everything = () => {
      const b = F.model({
        config: { maxRunningProcedures: 1, maxRetryTimes: 3, etcdQuotaBytes: 1_000_000 },
        subsystems: {
          ddl: {
            state: 'ok',
            unreadable: [{ collection: 'greptime.procedures', key: '/__procedure__/procedure/x', reason: 'bad JSON' }],
            unreadableCount: 1,
          },
        },
      });
      b.add('quickwit.metastore.shards', F.metastoreShard('d'));
      b.add('quickwit.controlPlane.shards', F.controlPlaneShard('o'));
      b.add('milvus.nodes', F.streamingNode(1, { lifecycle: 'Terminating', stopRequestedAt: 0 }));
      b.add('milvus.wals', F.wal(1, 'c', { recovering: true, inFlightAppends: 1 }));
      b.add('greptime.procedures', F.procedure('p1'), F.procedure('p2'));
      b.add('tikv.writeBatches', F.writeBatch(1));
      b.add('tikv.regions', F.region(1, 1, { isWritten: true }));
      b.add('fluvio.partitions', F.partition('t', 0));
      b.add('fluvio.spuReports', F.spuReport(5001, 't', 0, { storageFull: true }));
      return b.build();
    };

    it('covers every rule, sorted by id, with stable ids', () => {
      // A finished procedure that runs again: the timeline rule's finding.
      const timeline = [{ seq: 1, time: 1, collection: 'greptime.procedures' as const, key: 'p1', from: 'Done', to: 'Running' }];
      const findings = valid(runChecks(everything(), { timeline }));
      assert.deepEqual([...new Set(findings.map((f) => f.rule))].sort(), [...RULE_IDS].sort());
      const ids = findings.map((f) => f.id);
      assert.deepEqual(ids, [...ids].sort());
      assert.deepEqual(
        runChecks(everything(), { timeline }).map((f) => f.id),
        ids,
      );
      for (const f of findings) assert.equal(f.id, `${f.rule}:${f.group}`);
    });

    it('applies severity overrides and turns rules off', () => {
      const findings = runChecks(everything(), { severities: { 'shards/dangling': 'info', 'ddl/duplicate': 'off' } });
      assert.equal(findings.find((f) => f.rule === 'shards/dangling')!.severity, 'info');
      assert.equal(findings.find((f) => f.rule === 'wal/close-blocked')!.severity, 'error');
      assert.ok(!findings.some((f) => f.rule === 'ddl/duplicate'));
    });

    it('runs one subsystem', () => {
      assert.deepEqual([...new Set(runChecks(everything(), { subsystem: 'ddl' }).map((f) => f.rule))].sort(), [
        'ddl/backlog',
        'ddl/duplicate',
        'gateway/unreadable-record',
      ]);
      assert.deepEqual([...new Set(runChecks(everything(), { subsystem: 'wal' }).map((f) => f.rule))], ['wal/close-blocked']);
    });
  });
});
