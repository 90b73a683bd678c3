/**
 * Findings → diagnostics, as the language server publishes them: each fact
 * linked to its entity's line, in its own subsystem's document, so a finding
 * whose facts span two subsystems links into both.
 */
import * as assert from 'node:assert/strict';
import { clusterDocUri, type Finding, type Subsystem } from '../../src/protocol';
import { checkOnlineOutOfStorage, renderSubsystem, type DocumentsOf } from '../../src/analysis';
import { findingDiagnostics, findingsHover } from '../../src/server/diagnostics';
import * as F from './fixtures';

describe('diagnostics: facts as relatedInformation and hover', () => {
  const b = F.model({ time: 300 })
    .add('fluvio.partitions', F.partition('events', 0), F.partition('events', 1))
    .add('fluvio.spuReports', F.spuReport(5001, 'events', 0, { storageFull: true, reportedAt: 120, freeBytes: 0 }), F.spuReport(5001, 'events', 1))
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
      facts: [...found.facts, { component: 'write batch', subject: { kind: 'entity', collection: 'tikv.writeBatches', key: batch.key, version: batch.version }, readAt: 300, says: 'Store 4 writes on.' }],
    };
    const [d] = findingDiagnostics([finding], documents, 'sim', false);
    const related = d!.relatedInformation!;
    assert.deepEqual(related.map((r) => [r.location.uri, r.message]), [
      [clusterDocUri('sim', 'partitions'), 'SC says events-0 is Online (leader SPU 5001, hw 90, leo 90).'],
      [clusterDocUri('sim', 'partitions'), "SPU 5001's last report (t=120 s) says its storage is full, 0 B free."],
      [clusterDocUri('sim', 'regions'), 'Store 4 writes on.'],
    ]);
    const partitions = text('partitions');
    assert.match(partitions[related[0]!.location.range.start.line]!, /^partition events-0 /);
    assert.match(partitions[related[1]!.location.range.start.line]!, /^report spu-5001\/events-0 /);
    assert.match(text('regions')[related[2]!.location.range.start.line]!, /^batch store-4 /);
    // The diagnostic itself sits on its anchor's line, the partition.
    assert.equal(d!.range.start.line, related[0]!.location.range.start.line);
  });

  it('the hover is a "because" list of the facts, with whose view, which version and when, in escaped markdown', () => {
    const [found] = checkOnlineOutOfStorage(model);
    const md = findingsHover([found!]);
    assert.equal(
      md,
      [
        '**partitions/online-out-of-space**, because:',
        '',
        '- SC says events-0 is Online (leader SPU 5001, hw 90, leo 90).  ',
        `  _SC, events-0 v${model.collections['fluvio.partitions'].get('events-0')!.version}, read at t=300 s_`,
        "- SPU 5001's last report (t=120 s) says its storage is full, 0 B free.  ",
        `  _SPU 5001, spu-5001/events-0 v${model.collections['fluvio.spuReports'].get('spu-5001/events-0')!.version}, read at t=300 s_`,
      ].join('\n'),
    );
  });
});
