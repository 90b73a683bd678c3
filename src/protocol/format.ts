/**
 * Number, duration, size and error formatting for operator-facing messages:
 * one definition, used by every layer (the extension included).
 * Hand-written rather than `toLocaleString` so output never depends on the
 * host's ICU data or locale (messages are compared in tests and CLI output).
 */

/** 763471 → "763,471". */
export function formatCount(n: number): string {
  const s = String(Math.trunc(Math.abs(n)));
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ',';
    out += s[i];
  }
  return n < 0 ? `-${out}` : out;
}

/** How much of a sync is done, as a whole percentage (0 to 100, rounded down). */
export function percentDone(p: { done: number; total: number }): number {
  return p.total > 0 ? Math.min(100, Math.floor((100 * p.done) / p.total)) : 0;
}

/** `n` with a singular or plural noun: "1 shard", "760,000 shards", "2 entities", "0 errors". */
export function plural(n: number, singular: string, pluralForm = pluralOf(singular)): string {
  return `${formatCount(n)} ${n === 1 ? singular : pluralForm}`;
}

/** The regular English plural: "shard" → "shards", "entity" → "entities", "batch" → "batches". */
export function pluralOf(noun: string): string {
  if (/[^aeiou]y$/i.test(noun)) return `${noun.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(noun)) return `${noun}es`;
  return `${noun}s`;
}

/** An error (or anything thrown) as one message for a user: the `message` of an Error, else its text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The same for a log: with the stack, where there is one. */
export function errorDetail(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/** Seconds → "4d21h", "3h5m", "2m30s", "30s": the two largest units from the first non-zero one, like kubectl's AGE. */
export function formatDuration(seconds: number): string {
  let rest = Math.max(0, Math.floor(seconds));
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  for (const [name, size] of units) {
    const v = Math.floor(rest / size);
    rest -= v * size;
    // Once the first unit is written, the next one is written even if zero ("4d0h", not "4d5s").
    if (v > 0 || parts.length > 0) parts.push(`${v}${name}`);
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join('') : '0s';
}

/** Bytes → "1.5 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, '')} ${units[i]}`;
}

/**
 * How a cluster counts time: `ClusterStatus.scenario` says. A cluster-gateway reads a real system and
 * its times are wall-clock, in seconds since the Unix epoch; the simulator's are logical seconds on its
 * own clock (they start at 0 and move when it is told to).
 */
export interface ClusterClock {
  scenario: string;
}

/** The scenario a cluster-gateway reports (`ClusterStatus.scenario`): its times are wall-clock. */
export const GATEWAY_SCENARIO = 'gateway';

/** Whether a cluster's times are wall-clock Unix seconds (a gateway), rather than the simulator's logical seconds. */
export function isWallClock(clock: ClusterClock): boolean {
  return clock.scenario === GATEWAY_SCENARIO;
}

/** Now, in whole seconds since the Unix epoch: the clock a gateway's times are on. */
export function unixSeconds(ms: number = Date.now()): number {
  return Math.floor(ms / 1000);
}

/**
 * A cluster time as a user reads it, the one definition every layer uses: on a wall clock the UTC
 * date and time ("2023-11-14 22:23:30 UTC"), on the simulator's logical clock "t=610 s".
 */
export function formatClusterTime(t: number, clock: ClusterClock): string {
  if (!isWallClock(clock)) return `t=${t} s`;
  const d = new Date(t * 1000);
  if (Number.isNaN(d.getTime())) return `t=${t} s`;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
