/**
 * A tiny seeded PRNG (sfc32, seeded through splitmix32) so that the
 * simulator is deterministic from its seed. `Math.random` is never used in
 * the model: a scenario replayed from the same seed gives the same trace.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads any integer seed (including 0 and negatives) over the state.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)];
  }

  /** The internal state, folded into the trace so that it reflects every draw. */
  state(): string {
    return [this.a, this.b, this.c, this.d].map((x) => x.toString(16).padStart(8, '0')).join('');
  }
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * ULIDs as Quickwit uses for shard ids: 10 characters of time, 16 of
 * randomness. `ms` must increase strictly between calls so that ids sort in
 * creation order (the store's key index relies on that to stay cheap).
 */
export function ulid(ms: number, rng: Prng): string {
  // Char codes, then one string: concatenating 26 one-character strings made
  // a 763k-shard build allocation-bound.
  const codes = ULID_CODES;
  let t = ms;
  for (let i = 9; i >= 0; i--) {
    codes[i] = CROCKFORD_CODES[t % 32];
    t = Math.floor(t / 32);
  }
  // 80 random bits, 5 per character; one draw feeds six characters.
  let bits = 0;
  for (let i = 0; i < 16; i++) {
    if (i % 6 === 0) bits = rng.u32();
    codes[10 + i] = CROCKFORD_CODES[bits & 31];
    bits >>>= 5;
  }
  return String.fromCharCode(...codes);
}

const CROCKFORD_CODES = [...CROCKFORD].map((c) => c.charCodeAt(0));
const ULID_CODES: number[] = new Array(26).fill(0);
