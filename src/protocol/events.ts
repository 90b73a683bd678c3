/**
 * The `deletes-v1` encoding of `cluster.events` (negotiated in `initialize`, see
 * `EVENT_ENCODINGS`): both ways, so the cluster's endpoint and the client cannot disagree.
 *
 * A bulk repair deletes thousands of entities of one collection in a row. As objects, each
 * delete event repeats `seq`, `op` and the collection's name around its key; as a run, the
 * keys and versions go as two arrays and the seqs follow from `fromSeq`.
 */
import type { ChangeEvent, EventsNotification } from './methods';

/** Shorter runs of deletions stay objects: a notification per run costs more than it saves. */
export const MIN_DELETE_RUN = 16;

/**
 * A notification as a `deletes-v1` client gets it: every run of at least `MIN_DELETE_RUN`
 * deletions from one collection as a `deleted` notification, the events between them as they
 * are, in order and with consecutive seqs. A notification with no such run is returned as is.
 */
export function encodeDeletes(n: EventsNotification): EventsNotification[] {
  const { events } = n;
  if (n.reset || events.length < MIN_DELETE_RUN) return [n];
  const out: EventsNotification[] = [];
  let pending = 0; // start of the events not sent yet
  let i = 0;
  while (i < events.length) {
    const first = events[i];
    let end = i + 1;
    if (first.op === 'delete') {
      while (end < events.length && events[end].op === 'delete' && events[end].collection === first.collection) end++;
    }
    if (first.op !== 'delete' || end - i < MIN_DELETE_RUN) {
      i = end;
      continue;
    }
    if (pending < i) out.push({ fromSeq: n.fromSeq + pending, events: events.slice(pending, i), time: n.time });
    const keys = new Array<string>(end - i);
    const versions = new Array<number>(end - i);
    for (let j = i; j < end; j++) {
      const e = events[j] as Extract<ChangeEvent, { op: 'delete' }>;
      keys[j - i] = e.key;
      versions[j - i] = e.version;
    }
    out.push({ fromSeq: n.fromSeq + i, events: [], time: n.time, deleted: { collection: first.collection, keys, versions } });
    pending = i = end;
  }
  if (out.length === 0) return [n];
  if (pending < events.length) out.push({ fromSeq: n.fromSeq + pending, events: events.slice(pending), time: n.time });
  return out;
}

/** The events a (validated) notification carries: its `events`, or its run of deletions as delete events. */
export function eventsOf(n: EventsNotification): ChangeEvent[] {
  if (!n.deleted) return n.events;
  const { collection, keys, versions } = n.deleted;
  const events = new Array<ChangeEvent>(keys.length);
  for (let i = 0; i < keys.length; i++) events[i] = { seq: n.fromSeq + i, op: 'delete', collection, key: keys[i], version: versions[i] };
  return events;
}
