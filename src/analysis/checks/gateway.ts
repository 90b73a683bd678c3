/**
 * A gateway's own finding: records of a real system's store that its codec
 * could not decode. They are missing from every view and every check, so they
 * are reported, never skipped in silence. Read from `status.subsystems`
 * (`unreadable`: the first records, `unreadableCount`: all of them).
 */
import { collectionsOf, SUBSYSTEMS, type CollectionName, type Finding, type UnreadableRecord } from '../../protocol';
import { formatCount, plural } from '../../protocol/format';
import type { ClusterModel } from '../model';
import { facts, makeFinding } from './common';

/** Keys named in a finding's evidence. */
const MAX_EVIDENCE_KEYS = 10;

/** Whose view an unreadable record's fact is: the gateway's (the system's own component never decoded it either). */
const GATEWAY = { component: 'gateway' };

/** `gateway/unreadable-record`: one finding per subsystem and collection with records that did not decode. */
export function checkUnreadableRecords(model: ClusterModel): Finding[] {
  const fact = facts(model.status);
  const findings: Finding[] = [];
  for (const subsystem of SUBSYSTEMS) {
    const health = model.status.subsystems?.[subsystem];
    const listed = health?.unreadable ?? [];
    const total = Math.max(health?.unreadableCount ?? 0, listed.length);
    if (total === 0) continue;
    const byCollection = new Map<CollectionName, UnreadableRecord[]>();
    for (const r of listed) {
      const list = byCollection.get(r.collection);
      if (list) list.push(r);
      else byCollection.set(r.collection, [r]);
    }
    const collections = [...byCollection.keys()].sort();
    // Counted but none listed (a cluster that reports only the count): one finding on the subsystem's first collection.
    if (collections.length === 0) {
      const first = collectionsOf(subsystem)[0];
      byCollection.set(first, []);
      collections.push(first);
    }
    const unlisted = total - listed.length;
    for (const collection of collections) {
      const records = byCollection.get(collection)!;
      // All of the subsystem's unreadable records are in this collection when it is the only one listed.
      const count = collections.length === 1 ? total : records.length;
      const more =
        collections.length > 1 && unlisted > 0 ? ` (and ${formatCount(unlisted)} more in ${subsystem} not listed by the gateway)` : '';
      const anchorKey = records[0]?.key ?? collection;
      findings.push(
        makeFinding(
          'gateway/unreadable-record',
          {
            group: `${subsystem}/${collection}`,
            message:
              `${plural(count, 'record')} of ${collection} could not be decoded${more}: ` +
              `${count === 1 ? 'it is' : 'they are'} missing from this view and from every check. First: ${anchorKey}.`,
            count,
            samples: [],
            // Not an entity (it did not decode): the diagnostic sits on the collection's section.
            anchor: { collection: collection, key: anchorKey, version: 0 },
            facts: [
              fact.group(
                collection,
                collection,
                count,
                undefined,
                `The gateway could not decode ${plural(count, 'record')} of ${collection}${more}.`,
                GATEWAY,
              ),
              ...records.slice(0, MAX_EVIDENCE_KEYS).map((r) => fact.record(collection, r.key, `${r.key}: ${r.reason}`, GATEWAY)),
            ],
            repairs: [],
          },
          subsystem,
        ),
      );
    }
  }
  return findings;
}
