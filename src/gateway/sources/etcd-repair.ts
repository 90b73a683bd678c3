/**
 * Running one repair command as conditional etcd transactions: each target's
 * compares (its keys still at the planned revision, the keys it creates still
 * absent) and its writes go into the same transaction, with the command's own
 * preconditions. Targets are packed into as few transactions as etcd's
 * `--max-txn-ops` and its request size allow; when one fails, each of its targets is tried alone
 * so that only the ones that changed are refused.
 */
import type { Etcd3 } from 'etcd3';
import type { RepairItemResult } from '../../protocol';
import { conditionalWrite, describeEtcdError, type Compare, type TxnOp } from './etcd';

export interface PlannedWrite {
  key: string;
  compares: Compare[];
  ops: TxnOp[];
  /** What was done, when the write went through. */
  applied: string;
}

/**
 * Bytes of writes one transaction carries at most: etcd takes requests up to `--max-request-bytes`
 * (1.5 MiB by default), and the compares and framing need room too.
 */
const MAX_TXN_BYTES = 1024 * 1024;

/** Each compare once (targets that rest on the same fact carry the same compare). */
export function distinct(compares: readonly Compare[]): Compare[] {
  const seen = new Set<string>();
  return compares.filter((c) => {
    const k = `${c.key}\u0000${c.target}${c.op}${c.value}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

export async function runConditional(
  client: Etcd3,
  endpoints: readonly string[],
  writes: readonly PlannedWrite[],
  preconditions: readonly Compare[],
  maxTxnOps: number,
  refusedMessage: (key: string) => string,
): Promise<{ results: Map<string, RepairItemResult>; revision: number }> {
  const results = new Map<string, RepairItemResult>();
  let revision = 0;
  const chunks: PlannedWrite[][] = [];
  let chunk: PlannedWrite[] = [];
  let size = preconditions.length;
  let bytes = 0;
  for (const w of writes) {
    const n = w.compares.length + w.ops.length;
    const b = w.ops.reduce((sum, o) => sum + ('put' in o ? Buffer.byteLength(o.put) + o.value.length : Buffer.byteLength(o.del)), 0);
    if (chunk.length && (size + n > maxTxnOps || bytes + b > MAX_TXN_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      size = preconditions.length;
      bytes = 0;
    }
    chunk.push(w);
    size += n;
    bytes += b;
  }
  if (chunk.length) chunks.push(chunk);
  const attempt = async (ws: PlannedWrite[]): Promise<boolean> => {
    const rev = await conditionalWrite(
      client,
      distinct([...preconditions, ...ws.flatMap((w) => w.compares)]),
      ws.flatMap((w) => w.ops),
    );
    if (rev === false) return false;
    revision = Math.max(revision, rev);
    return true;
  };
  for (const c of chunks) {
    try {
      if (await attempt(c)) {
        for (const w of c) results.set(w.key, { key: w.key, status: 'applied', message: w.applied });
        continue;
      }
      for (const w of c) {
        const ok = c.length > 1 && (await attempt([w]));
        results.set(
          w.key,
          ok ? { key: w.key, status: 'applied', message: w.applied } : { key: w.key, status: 'refused', message: refusedMessage(w.key) },
        );
      }
    } catch (err) {
      const reason = describeEtcdError(err, endpoints);
      for (const w of c) if (!results.has(w.key)) results.set(w.key, { key: w.key, status: 'refused', message: `not applied: ${reason}` });
    }
  }
  return { results, revision };
}
