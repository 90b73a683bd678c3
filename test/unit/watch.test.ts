/** `cluster-check --watch`'s diff of two checks (src/cli/watch-events.ts): pure, on hand-built findings. */
import * as assert from 'node:assert/strict';
import { Finding, type Severity } from '../../src/protocol';
import { diffFindings, renderWatchJson, renderWatchText, type WatchLine } from '../../src/cli/watch-events';

function finding(group: string, count: number, severity: Severity = 'error', extra: Partial<Finding> = {}): Finding {
  const key = `${group}-shard`;
  return Finding.parse({
    id: `shards/dangling:${group}`,
    rule: 'shards/dangling',
    severity,
    subsystem: 'shards',
    group,
    message: `${count} shards of ${group} are dangling.`,
    count,
    samples: [],
    anchor: { collection: 'quickwit.metastore.shards', key, version: 1 },
    facts: [
      {
        component: 'metastore',
        subject: { kind: 'entity', collection: 'quickwit.metastore.shards', key, version: 1 },
        readAt: 100,
        since: 40,
        says: `The metastore has ${count} shards of ${group}.`,
      },
      {
        component: 'control plane',
        subject: { kind: 'group', collection: 'quickwit.metastore.shards', group, count: 0 },
        readAt: 100,
        says: 'The control plane knows none of them.',
      },
    ],
    repairs: [],
    ...extra,
  });
}

const known = (...fs: Finding[]) => new Map(fs.map((f) => [f.id, f]));
const ctx = { cluster: 'prod', at: '2026-12-06T06:30:00.000Z' };
const kinds = (events: { event: string; id: string }[]) => events.map((e) => `${e.event} ${e.id}`);

describe('cluster-check --watch: diffFindings', () => {
  it('a new id appeared, a gone id is resolved, the same id with the same count and severity says nothing', () => {
    const a = finding('a', 3);
    const b = finding('b', 5);
    const c = finding('c', 7);
    const { events, known: next } = diffFindings(known(a, b), [b, c], ctx);
    assert.deepEqual(kinds(events), ['appeared shards/dangling:c', 'resolved shards/dangling:a']);
    assert.deepEqual([...next.keys()], [b.id, c.id]);
    // The resolved line says what was resolved: the finding as last seen, with its facts.
    const resolved = events[1];
    assert.equal(resolved.count, 3);
    assert.deepEqual(resolved.facts, [
      { says: 'The metastore has 3 shards of a.', since: 40 },
      { says: 'The control plane knows none of them.' },
    ]);
    assert.equal(resolved.at, ctx.at);
    assert.equal(resolved.cluster, 'prod');
  });

  it('a count or severity change is `changed`, with what it was; a message or fact change alone is not an event', () => {
    const before = finding('a', 3);
    const more = finding('a', 4);
    assert.deepEqual(diffFindings(known(before), [more], ctx).events, [
      { ...diffFindings(new Map(), [more], ctx).events[0], event: 'changed', was: { count: 3, severity: 'error' } },
    ]);
    const milder = finding('a', 3, 'warning');
    assert.deepEqual(diffFindings(known(before), [milder], ctx).events[0].was, { count: 3, severity: 'error' });
    assert.equal(diffFindings(known(before), [milder], ctx).events[0].severity, 'warning');
    const reworded = finding('a', 3, 'error', { message: 'Terminating for 11m.' });
    assert.deepEqual(diffFindings(known(before), [reworded], ctx).events, []);
    // What is remembered is the newest finding, so the next resolved line carries its words.
    const { known: next } = diffFindings(known(before), [reworded], ctx);
    assert.equal(diffFindings(next, [], ctx).events[0].message, 'Terminating for 11m.');
  });

  it('provisional findings (from the counts) are left out until the full check confirms them', () => {
    const early = finding('a', 2, 'error', { provisional: true });
    assert.deepEqual(diffFindings(new Map(), [early], ctx).events, []);
    // A provisional finding does not resolve a known one by standing in for it either: the id is gone until confirmed.
    assert.deepEqual(kinds(diffFindings(known(finding('a', 2)), [early], ctx).events), ['resolved shards/dangling:a']);
  });

  it('a finding gone because its rule cannot be checked now (a store unavailable) is held, not resolved', () => {
    const a = finding('a', 3);
    const b = finding('b', 5);
    const held = diffFindings(known(a, b), [], ctx, (f) => f.id === a.id);
    assert.deepEqual(kinds(held.events), ['resolved shards/dangling:b']);
    assert.deepEqual([...held.known.keys()], [a.id]);
    // Checked again and still there: no event; checked again and gone: resolved then.
    assert.deepEqual(diffFindings(held.known, [a], ctx).events, []);
    assert.deepEqual(kinds(diffFindings(held.known, [], ctx).events), ['resolved shards/dangling:a']);
  });

  it('nothing before and nothing now: no event', () => {
    assert.deepEqual(diffFindings(new Map(), [], ctx), { events: [], known: new Map() });
  });

  it('renders one JSON object per line, and one readable line, coloured only when asked', () => {
    const [event] = diffFindings(new Map(), [finding('a', 1200, 'error', { message: 'two\nlines' })], ctx).events;
    const json = renderWatchJson(event);
    assert.ok(!json.includes('\n'));
    const back = JSON.parse(json) as WatchLine;
    assert.equal(back.event, 'appeared');
    const text = renderWatchText(event);
    assert.ok(!text.includes('\n') && !text.includes('\x1b'));
    assert.match(text, /^2026-12-06T06:30:00\.000Z appeared error shards\/dangling ×1,200 prod\/a: two lines \| because: The metastore/);
    assert.ok(renderWatchText(event, true).includes('\x1b[31mappeared\x1b[0m'));
    const [changed] = diffFindings(known(finding('a', 1200)), [finding('a', 5, 'warning')], ctx).events;
    assert.match(renderWatchText(changed), /changed warning shards\/dangling ×5 \(was error ×1,200\)/);
    assert.equal(
      renderWatchText({ event: 'synced', at: ctx.at, cluster: 'prod', findings: 1 }),
      '2026-12-06T06:30:00.000Z synced prod: 1 finding; watching for changes',
    );
  });
});
