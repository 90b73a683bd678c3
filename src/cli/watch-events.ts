/**
 * `cluster-check --watch`, the pure part: what changed between two checks of a cluster (findings
 * diffed by `Finding.id`), and how each change is printed (one JSON object, or one readable line).
 * The watching itself (the connection, its retries, signals) is `watch.ts`.
 */
import { formatCount, type Finding, type RuleId, type Severity, type Subsystem } from '../protocol';
import { findingFields } from './report';

export type WatchEventKind = 'appeared' | 'resolved' | 'changed';

/** A fact as the watch prints it: its sentence, and the entity's own time (cluster seconds) when it has one. */
export interface WatchFact {
  says: string;
  since?: number;
}

/** One line of `--format jsonl`: a finding that appeared, was resolved, or whose count or severity changed. */
export interface WatchEvent {
  event: WatchEventKind;
  /** When the watch saw it (wall clock, ISO 8601). */
  at: string;
  cluster: string;
  /** `Finding.id` (`rule:group`): the same id on every line about the same problem. */
  id: string;
  rule: RuleId;
  severity: Severity;
  subsystem: Subsystem;
  group: string;
  count: number;
  message: string;
  /** For `resolved`: the facts the finding last rested on. */
  facts: WatchFact[];
  /** For `changed`: the count and severity before. */
  was?: { count: number; severity: Severity };
}

/** The line after the findings the watch found on connecting (each printed as `appeared`): changes only from here on. */
export interface WatchSynced {
  event: 'synced';
  at: string;
  cluster: string;
  findings: number;
}

export type WatchLine = WatchEvent | WatchSynced;

/** What the watch remembers of a finding between checks. */
export type Known = ReadonlyMap<string, Finding>;

/**
 * The events between the findings known and the findings now, and what to remember next.
 * A finding is `appeared` when its id is new, `resolved` when its id is gone, and `changed`
 * when its count or its severity differ. Its message and facts alone do not make an event:
 * they carry times ("Terminating for 10m32s") that move on every check, and a line per
 * tick is noise in a chat channel. Provisional findings (from the counts, before the first
 * full sync ends) are left out: the full check's finding of the same id follows.
 * A known finding that is gone because its rule cannot be checked now (`notChecked`: its store is
 * unavailable, say) is not resolved: it is kept, with no event, until its rule is checked again.
 * Order: appeared and changed in the order of `now`, then resolved in the order known.
 */
export function diffFindings(
  known: Known,
  now: readonly Finding[],
  context: { cluster: string; at: string },
  notChecked: (f: Finding) => boolean = () => false,
): { events: WatchEvent[]; known: Map<string, Finding> } {
  const next = new Map<string, Finding>();
  const events: WatchEvent[] = [];
  for (const f of now) {
    if (f.provisional || next.has(f.id)) continue;
    next.set(f.id, f);
    const before = known.get(f.id);
    if (!before) events.push(watchEvent('appeared', f, context));
    else if (before.count !== f.count || before.severity !== f.severity)
      events.push({ ...watchEvent('changed', f, context), was: { count: before.count, severity: before.severity } });
  }
  for (const [id, f] of known) {
    if (next.has(id)) continue;
    if (notChecked(f)) next.set(id, f);
    else events.push(watchEvent('resolved', f, context));
  }
  return { events, known: next };
}

export function watchEvent(event: WatchEventKind, f: Finding, context: { cluster: string; at: string }): WatchEvent {
  return {
    event,
    at: context.at,
    cluster: context.cluster,
    ...findingFields(f),
    facts: f.facts.map((x) => (x.since === undefined ? { says: x.says } : { says: x.says, since: x.since })),
  };
}

/** `--format jsonl`: one JSON object, no newline inside. */
export function renderWatchJson(line: WatchLine): string {
  return JSON.stringify(line);
}

const COLOURS: Record<string, string> = { error: '31', warning: '33', info: '36', resolved: '32', changed: '35' };
const paint = (on: boolean, key: string, text: string) => (on && COLOURS[key] ? `\x1b[${COLOURS[key]}m${text}\x1b[0m` : text);

/**
 * `--format text`: one line per event, e.g.
 * `2026-12-06T06:30:00.000Z appeared error shards/dangling ×300 app-logs:…/_ingest-source: 300 shards … | because: …; …`.
 * `colour` only on a terminal (never into a pipe).
 */
export function renderWatchText(line: WatchLine, colour = false): string {
  if (line.event === 'synced')
    return `${line.at} synced ${line.cluster}: ${formatCount(line.findings)} finding${line.findings === 1 ? '' : 's'}; watching for changes`;
  const kind = paint(colour, line.event === 'appeared' ? line.severity : line.event, line.event);
  const was =
    line.was && (line.was.count !== line.count || line.was.severity !== line.severity)
      ? ` (was ${line.was.severity !== line.severity ? `${line.was.severity} ` : ''}×${formatCount(line.was.count)})`
      : '';
  const because = line.facts.length ? ` | because: ${line.facts.map((f) => f.says).join('; ')}` : '';
  // One line, whatever the message holds.
  const text = `${line.at} ${kind} ${line.severity} ${line.rule} ×${formatCount(line.count)}${was} ${line.cluster}/${line.group}: ${line.message}${because}`;
  return text.replace(/[\r\n]+/g, ' ');
}
