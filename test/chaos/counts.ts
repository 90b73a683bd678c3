/**
 * How hard the chaos scenarios push: one counts object per profile. `npm run
 * test:chaos` (in `npm test` and CI) uses `chaos`, bounded to stay well under
 * three minutes on two cores; `npm run soak` sets `CHAOS_PROFILE=soak`, 10 to
 * 50 times larger. Any count can be overridden by an environment variable
 * named after it (`CHAOS_KILLS=200`), so a partial soak says exactly what it ran.
 */
import { appendFileSync } from 'node:fs';

export interface Counts {
  /** Protocol fuzz: hostile messages, and the connections they are spread over. */
  messages: number;
  connections: number;
  /** Snapshot-parser fuzz: mutated documents. */
  mutants: number;
  /** kill -9s of the simulator with the language server connected (half during sync, half during a repair). */
  kills: number;
  /** Control-plane restart race: dangling shards (`incident` = the full 763,471-shard incident) and rounds. */
  raceShards: number | 'incident';
  raceRounds: number;
  /** Writer race: dangling shards, rounds, and shards the writer makes live per round. */
  writerShards: number | 'incident';
  writerRounds: number;
  writerLive: number;
}

export const PROFILES: Record<'chaos' | 'soak', Counts> = {
  chaos: {
    messages: 20_000,
    connections: 6,
    mutants: 5_000,
    kills: 50,
    raceShards: 50_000,
    raceRounds: 2,
    writerShards: 50_000,
    writerRounds: 2,
    writerLive: 400,
  },
  soak: {
    messages: 100_000,
    connections: 12,
    mutants: 50_000,
    kills: 1_000,
    raceShards: 'incident',
    raceRounds: 4,
    writerShards: 'incident',
    writerRounds: 4,
    writerLive: 4_000,
  },
};

export const PROFILE: 'chaos' | 'soak' = process.env.CHAOS_PROFILE === 'soak' ? 'soak' : 'chaos';

function envName(k: string): string {
  return `CHAOS_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

function withOverrides(base: Counts): Counts {
  const out = { ...base } as Record<string, number | string>;
  for (const k of Object.keys(base)) {
    const v = process.env[envName(k)];
    if (v === undefined || v === '') continue;
    if (v === 'incident') out[k] = v;
    else if (/^\d+$/.test(v)) out[k] = Number(v);
    else throw new Error(`${envName(k)} must be a whole number${k.endsWith('Shards') ? ' or "incident"' : ''}, got ${v}`);
  }
  return out as unknown as Counts;
}

export const COUNTS: Counts = withOverrides(PROFILES[PROFILE]);

/** Seed of every PRNG in the suite; `CHAOS_SEED` replays another run. */
export const SEED = Number(process.env.CHAOS_SEED ?? 20250612);

/** The figures every scenario reports. */
export interface Figures {
  tries: number;
  crashes: number;
  hangs: number;
  stateChanges: number;
  entitiesLost: number;
  refusedAsExpected: number;
  /** Anything else worth printing (seconds, per-kind counts). */
  notes?: Record<string, number | string>;
}

/**
 * Prints one scenario's figures (always), and appends them as a JSON line to
 * `CHAOS_REPORT` when set (the soak script collects them there).
 */
export function report(scenario: string, f: Figures): void {
  const notes = f.notes
    ? ` | ${Object.entries(f.notes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`
    : '';
  const line =
    `      [${PROFILE}] ${scenario}: tries ${f.tries}, crashes ${f.crashes}, hangs ${f.hangs}, state changes ${f.stateChanges}, ` +
    `entities lost ${f.entitiesLost}, refused as expected ${f.refusedAsExpected}${notes}`;
  console.log(line);
  if (process.env.CHAOS_REPORT) appendFileSync(process.env.CHAOS_REPORT, `${JSON.stringify({ profile: PROFILE, scenario, ...f })}\n`);
}

/** A small seeded PRNG (mulberry32) for the fuzzers: the same seed gives the same hostile input. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** `n` distinct elements of `a` (all of them if it has fewer). */
  sample<T>(a: readonly T[], n: number): T[] {
    const copy = [...a];
    const m = Math.min(n, copy.length);
    for (let i = 0; i < m; i++) {
      const j = i + this.int(copy.length - i);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, m);
  }
}

/** Resolves with `p`, or rejects with `what` after `ms`. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
