/**
 * Who a WebSocket upgrade is: its bearer token checked against one shared token (the simulator, a
 * gateway started with `--token`) or against per-user salted hashes (a team gateway's `users`).
 *
 * A stored hash is `scrypt$N$r$p$SALT$HASH`: node:crypto's scrypt with cost N, block size r and
 * parallelism p, over the token's UTF-8 bytes, with a random per-user SALT (16 bytes); SALT and HASH
 * (32 bytes) in base64url. `hashToken` makes one (`cluster-gateway hash-token`). A token is never
 * stored, logged or echoed: only its hash is kept, and only the user's name is said.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Caller, Role } from '../protocol';

export type { Caller, Role };

/** A user of a team gateway: a name, a role and the hash of their token. */
export interface UserToken {
  name: string;
  role: Role;
  tokenHash: string;
}

/** The caller of a connection made with the one shared token (no users configured). */
export const SHARED_TOKEN_CALLER: Caller = Object.freeze({ user: 'token', role: 'operator' });

const HASH_BYTES = 32;
const SALT_BYTES = 16;
/** scrypt's defaults as node:crypto has them: about 50 ms and 16 MiB per hash. */
export const DEFAULT_SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const HASH_FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Why a stored hash is not one this module reads, or undefined when it is. */
export function tokenHashProblem(stored: string): string | undefined {
  const parsed = parseHash(stored);
  return typeof parsed === 'string' ? parsed : undefined;
}

function parseHash(stored: string): ParsedHash | string {
  const m = HASH_FORMAT.exec(stored);
  if (!m) return 'not a token hash of the form scrypt$N$r$p$SALT$HASH (make one with `cluster-gateway hash-token`)';
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 || (N & (N - 1)) !== 0 || N > 2 ** 20) return `scrypt N must be a power of two from 2 to 2^20, not ${N}`;
  if (r < 1 || r > 32 || p < 1 || p > 16) return `scrypt r must be 1–32 and p 1–16 (r ${r}, p ${p})`;
  const salt = Buffer.from(m[4]!, 'base64url');
  const hash = Buffer.from(m[5]!, 'base64url');
  if (salt.length < 8) return 'the salt is shorter than 8 bytes';
  if (hash.length < 16) return 'the hash is shorter than 16 bytes';
  return { N, r, p, salt, hash };
}

function scryptAsync(token: string, salt: Buffer, length: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(token, salt, length, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

function scryptOptions(h: { N: number; r: number; p: number }): ScryptOptions {
  // maxmem must cover 128·N·r (plus slack), or node refuses the larger costs.
  return { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r + 1024 * 1024 };
}

/** A new salted hash of `token`, in the stored format. */
export async function hashToken(token: string, cost: { N: number; r: number; p: number } = DEFAULT_SCRYPT): Promise<string> {
  if (token.length === 0) throw new Error('the token is empty');
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(token, salt, HASH_BYTES, scryptOptions(cost));
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Whether `token` is the one `stored` was made from (scrypt again, compared in constant time). */
export async function verifyToken(token: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (typeof h === 'string') return false;
  const computed = await scryptAsync(token, h.salt, h.hash.length, scryptOptions(h));
  return timingSafeEqual(computed, h.hash);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. The scheme name is case-insensitive (RFC 9110 §11.1). */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer +(.+)$/i.exec(header ?? '');
  return m ? m[1] : undefined;
}

/** Decides who an upgrade's `Authorization` header is; undefined: nobody (refused with 401). */
export type Authenticate = (authorization: string | undefined) => Promise<Caller | undefined>;

/** One shared token: both sides hashed to the same length, then compared in constant time. */
export function sharedTokenAuth(token: string): Authenticate {
  const expected = digest(token);
  return async (header) => {
    const given = bearerToken(header);
    return timingSafeEqual(digest(given ?? ''), expected) && given !== undefined ? SHARED_TOKEN_CALLER : undefined;
  };
}

/** Successful verifications remembered (a token's SHA-256 → its user), so a reconnecting client costs no scrypt. */
const VERIFIED_CACHE = 256;

/**
 * Per-user tokens: the token is checked against every user's hash (a token names no user, so none is
 * singled out by a faster answer). A token that verified once is remembered by its SHA-256 digest.
 */
export function usersAuth(users: readonly UserToken[]): Authenticate {
  for (const u of users) {
    const problem = tokenHashProblem(u.tokenHash);
    if (problem) throw new Error(`user ${u.name}: ${problem}`);
  }
  const verified = new Map<string, Caller>();
  return async (header) => {
    const token = bearerToken(header);
    if (token === undefined) return undefined;
    const key = digest(token).toString('hex');
    const known = verified.get(key);
    if (known) return known;
    let found: Caller | undefined;
    for (const u of users) {
      // Every hash is tried even after a match: the time taken does not say which user it was.
      if ((await verifyToken(token, u.tokenHash)) && !found) found = { user: u.name, role: u.role };
    }
    if (found) {
      if (verified.size >= VERIFIED_CACHE) verified.delete(verified.keys().next().value!);
      verified.set(key, found);
    }
    return found;
  };
}
