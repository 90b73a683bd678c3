/**
 * Findings → diagnostics, as the language server publishes them: each fact
 * linked to its entity's line, in its own subsystem's document, so a finding
 * whose facts span two subsystems links into both.
 */
import * as assert from 'node:assert/strict';
import { clusterDocUri, factProvenance, type Finding, type Subsystem } from '../../src/protocol';
import { checkOnlineOutOfStorage, renderSubsystem, type DocumentsOf } from '../../src/analysis';
import { findingDiagnostics, findingsHover } from '../../src/server/diagnostics';
import * as F from './fixtures';

describe('diagnostics: facts as relatedInformation and hover', () => {
  const b = F.model({ time: 300 })
    .add('fluvio.partitions', F.partition('events', 0), F.partition('events', 1))
    .add(
      'fluvio.spuReports',
      F.spuReport(5001, 'events', 0, { storageFull: true, reportedAt: 120, freeBytes: 0 }),
      F.spuReport(5001, 'events', 1),
    )
    .add('tikv.writeBatches', F.writeBatch(4, { currentRegion: 9 }));
  const model = b.build();
  const documents: DocumentsOf = (s: Subsystem) => ({ uri: clusterDocUri('sim', s), index: renderSubsystem(model, s, 'sim') });
  const text = (s: Subsystem) => renderSubsystem(model, s, 'sim').text.split('\n');

  it('links each fact to its entity line in its own document, and a fact of another subsystem to that document', () => {
    const [found] = checkOnlineOutOfStorage(model);
    assert.ok(found);
    // The same finding, resting also on a fact of another subsystem (a TiKV write batch).
    const batch = model.collections['tikv.writeBatches'].get('store-4')!;
    const finding: Finding = {
      ...found,
      facts: [
        ...found.facts,
        {
          component: 'write batch',
          subject: { kind: 'entity', collection: 'tikv.writeBatches', key: batch.key, version: batch.version },
          readAt: 300,
          says: 'Store 4 writes on.',
        },
      ],
    };
    const [d] = findingDiagnostics([finding], documents, 'sim', false);
    const related = d!.relatedInformation!;
    assert.deepEqual(
      related.map((r) => [r.location.uri, r.message]),
      [
        [clusterDocUri('sim', 'partitions'), 'SC says events-0 is Online (leader SPU 5001, hw 90, leo 90).'],
        [clusterDocUri('sim', 'partitions'), "SPU 5001's last report (t=120 s) says its storage is full, 0 B free."],
        [clusterDocUri('sim', 'regions'), 'Store 4 writes on.'],
      ],
    );
    const partitions = text('partitions');
    assert.match(partitions[related[0]!.location.range.start.line]!, /^partition events-0 /);
    assert.match(partitions[related[1]!.location.range.start.line]!, /^report spu-5001\/events-0 /);
    assert.match(text('regions')[related[2]!.location.range.start.line]!, /^batch store-4 /);
    // The diagnostic itself sits on its anchor's line, the partition.
    assert.equal(d!.range.start.line, related[0]!.location.range.start.line);
  });

  it('the hover says each fact once: the linked ones are above it (relatedInformation), so it names their views and when', () => {
    const [found] = checkOnlineOutOfStorage(model);
    assert.equal(
      findingsHover([found!], documents, model.status),
      '**partitions/online-out-of-space**, because of the 2 facts above, each linked to its line: the views of SC, SPU 5001, read at t=300 s.',
    );
  });

  it('a fact that links to no line is listed in the hover, with whose view, which version and when, in escaped markdown', () => {
    const [found] = checkOnlineOutOfStorage(model);
    // Only the partitions document is open to links: the SPU report's fact is linked, a TiKV fact is not.
    const batch = model.collections['tikv.writeBatches'].get('store-4')!;
    const finding: Finding = {
      ...found!,
      facts: [
        found!.facts[0]!,
        {
          component: 'write batch',
          subject: { kind: 'entity', collection: 'tikv.writeBatches', key: batch.key, version: batch.version },
          readAt: 300,
          says: 'Store 4 writes_on.',
        },
      ],
    };
    const onlyPartitions: DocumentsOf = (s) => (s === 'partitions' ? documents(s) : undefined);
    assert.deepEqual(
      findingDiagnostics([finding], onlyPartitions, 'sim', false)[0]!.relatedInformation!.map((r) => r.message),
      [found!.facts[0]!.says],
    );
    assert.equal(
      findingsHover([finding], onlyPartitions, model.status),
      [
        '**partitions/online-out-of-space**, because of the 1 fact above, each linked to its line: the views of SC, read at t=300 s.',
        '',
        'And:',
        '',
        '- Store 4 writes\\_on.  ',
        `  _write batch, store-4 v${batch.version}, read at t=300 s_`,
      ].join('\n'),
    );
  });

  it('on a gateway, the hover and the facts give wall-clock times (UTC), not raw Unix seconds', () => {
    // A gateway's clock: seconds since the Unix epoch (2023-11-14 22:23:30 UTC is 1700000610).
    const gw = F.model({ scenario: 'gateway', time: 1700000610 + 300 })
      .add('fluvio.partitions', F.partition('events', 0))
      .add('fluvio.spuReports', F.spuReport(5001, 'events', 0, { storageFull: true, reportedAt: 1700000610, freeBytes: 0 }))
      .build();
    const gwDocuments: DocumentsOf = (s: Subsystem) => ({ uri: clusterDocUri('prod', s), index: renderSubsystem(gw, s, 'prod') });
    const [found] = checkOnlineOutOfStorage(gw);
    assert.equal(found!.facts[1]!.says, "SPU 5001's last report (2023-11-14 22:23:30 UTC) says its storage is full, 0 B free.");
    assert.equal(
      findingsHover([found!], gwDocuments, gw.status),
      '**partitions/online-out-of-space**, because of the 2 facts above, each linked to its line: the views of SC, SPU 5001, read at 2023-11-14 22:28:30 UTC.',
    );
    assert.equal(
      factProvenance(found!.facts[1]!, gw.status),
      `SPU 5001, spu-5001/events-0 v${gw.collections['fluvio.spuReports'].get('spu-5001/events-0')!.version}, read at 2023-11-14 22:28:30 UTC`,
    );
    // The simulator's facts keep its logical clock.
    assert.equal(factProvenance(found!.facts[1]!, { scenario: 'incident-all' }).replace(/.* read at /, ''), 't=1700000910 s');
  });
});
