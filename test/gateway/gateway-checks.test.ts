// `gateway/unreadable-record`: records a gateway could not decode become findings of their own subsystem.
import * as assert from 'node:assert/strict';
import { Finding, RULES, type SubsystemHealth, type UnreadableRecord } from '../../src/protocol';
import { checkUnreadableRecords, runChecks } from '../../src/analysis';
import * as F from '../unit/fixtures';

const rec = (collection: UnreadableRecord['collection'], key: string, reason = 'not JSON'): UnreadableRecord => ({
  collection,
  key,
  reason,
});

describe('gateway/unreadable-record', () => {
  it('is a rule of no single subsystem: each finding names its own', () => {
    assert.equal(RULES['gateway/unreadable-record'].subsystem, null);
  });

  it('finds nothing when every record decoded (or the cluster says nothing about records)', () => {
    assert.deepEqual(checkUnreadableRecords(F.model().build()), []);
    assert.deepEqual(
      checkUnreadableRecords(F.model({ subsystems: { ddl: { state: 'ok' }, shards: { state: 'not-configured' } } }).build()),
      [],
    );
  });

  it('makes one finding per subsystem and collection, with the count, the first keys as evidence, anchored on the section', () => {
    const ddl: SubsystemHealth = {
      state: 'ok',
      unreadable: [
        rec('greptime.procedures', '/__procedure__/procedure/a/0000000001.step', 'missing type_name'),
        rec('greptime.procedures', '/__procedure__/procedure/b/0000000001.step'),
      ],
      unreadableCount: 7,
    };
    const partitions: SubsystemHealth = {
      state: 'ok',
      unreadable: [rec('fluvio.partitions', 'Partition/events-0.yaml'), rec('fluvio.spus', 'SPU/5001.yaml')],
      unreadableCount: 2,
    };
    const findings = checkUnreadableRecords(F.model({ subsystems: { ddl, partitions } }).build());
    for (const f of findings) Finding.parse(f);
    assert.deepEqual(
      findings.map((f) => [f.id, f.subsystem, f.count, f.anchor.collection]),
      [
        ['gateway/unreadable-record:ddl/greptime.procedures', 'ddl', 7, 'greptime.procedures'],
        ['gateway/unreadable-record:partitions/fluvio.partitions', 'partitions', 1, 'fluvio.partitions'],
        ['gateway/unreadable-record:partitions/fluvio.spus', 'partitions', 1, 'fluvio.spus'],
      ],
    );
    const [first] = findings;
    assert.equal(first.severity, 'warning');
    assert.equal(first.anchor.key, '/__procedure__/procedure/a/0000000001.step');
    assert.deepEqual(
      first.facts.map((x) => [x.component, x.subject.kind, x.says]),
      [
        ['gateway', 'group', 'The gateway could not decode 7 records of greptime.procedures.'],
        ['gateway', 'record', '/__procedure__/procedure/a/0000000001.step: missing type_name'],
        ['gateway', 'record', '/__procedure__/procedure/b/0000000001.step: not JSON'],
      ],
    );
    assert.match(first.message, /7 records of greptime\.procedures could not be decoded/);
    assert.deepEqual(first.repairs, []);
  });

  it('runs under every subsystem, keeping only that subsystem’s findings, and obeys its severity setting', () => {
    const model = F.model({
      subsystems: {
        shards: { state: 'ok', unreadable: [rec('quickwit.metastore.shards', 'shards/(idx:01,src,01J)')], unreadableCount: 1 },
        regions: { state: 'ok', unreadable: [rec('tikv.regions', 'http://tikv:20180/debug/ime/cached_regions#3')], unreadableCount: 1 },
      },
    }).build();
    assert.deepEqual(
      runChecks(model, { subsystem: 'shards' }).map((f) => f.id),
      ['gateway/unreadable-record:shards/quickwit.metastore.shards'],
    );
    assert.deepEqual(
      runChecks(model, { subsystem: 'regions' }).map((f) => f.id),
      ['gateway/unreadable-record:regions/tikv.regions'],
    );
    assert.deepEqual(runChecks(model, { subsystem: 'wal' }), []);
    assert.equal(runChecks(model).length, 2);
    assert.ok(runChecks(model, { severities: { 'gateway/unreadable-record': 'error' } }).every((f) => f.severity === 'error'));
    assert.deepEqual(runChecks(model, { severities: { 'gateway/unreadable-record': 'off' } }), []);
  });

  it('counted but not listed: one finding on the subsystem’s first collection', () => {
    const findings = checkUnreadableRecords(F.model({ subsystems: { wal: { state: 'ok', unreadableCount: 3 } } }).build());
    assert.deepEqual(
      findings.map((f) => [f.subsystem, f.count, f.anchor.collection]),
      [['wal', 3, 'milvus.nodes']],
    );
  });
});
