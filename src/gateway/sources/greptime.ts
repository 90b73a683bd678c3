/**
 * GreptimeDB's ddl subsystem from the metasrv's etcd (layout: src/codecs/greptime.ts).
 *
 * Reads `[store_key_prefix]/__procedure__/`, `/__table_info/` and
 * `/__table_name/` once, then watches them. A procedure's version is the
 * newest `mod_revision` among its keys; a repair compares every key of the
 * procedure (still at or below that revision, still present) and the keys it
 * writes (still absent), in the same transaction as its writes.
 *
 * Repairs: cancel = write `<last step>.rollback` (what metasrv's
 * `prepare_rollback` writes; metasrv rolls it back when it loads it, on its
 * next start or leader change); purge = delete a finished procedure's keys
 * (what metasrv's `delete_procedure` does); disableAutoCreate is refused
 * (etcd holds no such switch).
 */
import type { EtcdKv } from '../../codecs/etcd-kv';
import {
  decodeProcedure,
  ETCD_PREFIXES,
  etcdPrefixEntity,
  groupProcedureKeys,
  procedureKey,
  procedureMessageJson,
  procedureRoot,
  type DecodedProcedure,
  type ProcedureTimes,
} from '../../codecs/greptime';
import { errorText } from '../../codecs/etcd-kv';
import type { Precondition, RepairCommand, RepairItemResult, UnreadableRecord } from '../../protocol';
import type { GatewayConfig } from '../config';
import type { SubsystemSource } from '../source';
import { absent, EtcdSource, stillAtVersion, type Compare } from './etcd';
import { runConditional, type PlannedWrite } from './etcd-repair';

type GreptimeConfig = NonNullable<GatewayConfig['greptime']>;

const CANCELLED = 'cancelled by operator (cluster-gateway)';

export function createGreptimeSource(config: GreptimeConfig, _all: GatewayConfig): SubsystemSource {
  return new GreptimeSource(config);
}

class GreptimeSource extends EtcdSource implements SubsystemSource {
  readonly subsystem = 'ddl' as const;
  readonly collections = ['greptime.procedures', 'greptime.etcd'] as const;
  readonly commands = ['greptime.cancelProcedures', 'greptime.purgeProcedures', 'greptime.disableAutoCreate'] as const;
  private readonly root: string;
  /** The reader's clock (what the store does not keep): first seen, first seen finished. */
  private readonly times = new Map<string, ProcedureTimes>();
  private decoded = new Map<string, { d: DecodedProcedure; keys: EtcdKv[] }>();

  constructor(private readonly config: GreptimeConfig) {
    super(
      config.etcd,
      ETCD_PREFIXES.map((p) => `${config.storeKeyPrefix}${p}`),
    );
    this.root = procedureRoot(config.storeKeyPrefix);
  }

  protected refresh(kvs: ReadonlyMap<string, EtcdKv>): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const skp = this.config.storeKeyPrefix;
    const stats = new Map<string, { count: number; bytes: number; version: number }>(ETCD_PREFIXES.map((p) => [p, { count: 0, bytes: 0, version: 0 }]));
    const procedureKvs: EtcdKv[] = [];
    for (const kv of kvs.values()) {
      for (const p of ETCD_PREFIXES) {
        if (!kv.key.startsWith(skp + p)) continue;
        const s = stats.get(p)!;
        s.count++;
        s.bytes += Buffer.byteLength(kv.key) + kv.value.length;
        s.version = Math.max(s.version, kv.modRevision);
      }
      if (kv.key.startsWith(this.root)) procedureKvs.push(kv);
    }
    // A prefix's version moves with the store's revision whenever a key under it changes (deletes included).
    const rev = this.follower.revision;
    ctx.replace(
      'greptime.etcd',
      ETCD_PREFIXES.map((p) => {
        const s = stats.get(p)!;
        const prev = ctx.get('greptime.etcd', p);
        const same = prev && prev.keyCount === s.count && prev.sizeBytes === s.bytes;
        return etcdPrefixEntity(p, s.count, s.bytes, same ? prev.version : Math.max(s.version, rev));
      }),
    );

    const { groups, unreadable } = groupProcedureKeys(this.root, procedureKvs);
    const bad: UnreadableRecord[] = unreadable.map((u) => ({ collection: 'greptime.procedures', key: u.key.slice(0, 1024), reason: u.reason.slice(0, 1024) }));
    const decoded = new Map<string, { d: DecodedProcedure; keys: EtcdKv[] }>();
    const now = this.now();
    for (const g of groups.values()) {
      let t = this.times.get(g.procedureId);
      if (!t) this.times.set(g.procedureId, (t = { startTime: now, endTime: null }));
      try {
        const d = decodeProcedure(this.root, g, t);
        if (d.finished && t.endTime === null) t.endTime = now;
        d.procedure.endTime = d.finished ? t.endTime : null;
        decoded.set(g.procedureId, { d, keys: g.keys });
      } catch (err) {
        bad.push({ collection: 'greptime.procedures', key: `${this.root}${g.procedureId}/`.slice(0, 1024), reason: errorText(err) });
      }
    }
    for (const id of this.times.keys()) if (!groups.has(id)) this.times.delete(id);
    this.decoded = decoded;
    ctx.unreadable('greptime.procedures', bad);
    ctx.replace(
      'greptime.procedures',
      [...decoded.values()].map((e) => e.d.procedure),
    );
  }

  /** Own preconditions as compares: a procedure still at its version, or still absent as far as its keys go. */
  private preconditionCompares(preconditions: readonly Precondition[]): { compares: Compare[]; failed?: string } {
    const compares: Compare[] = [];
    for (const p of preconditions) {
      if ('epoch' in p) continue;
      if (p.collection === 'greptime.procedures') {
        const e = this.decoded.get(p.key);
        if ('absent' in p) {
          if (e) return { compares, failed: `procedure ${p.key} exists` };
          continue;
        }
        if (!e || e.d.procedure.version !== p.version) return { compares, failed: `procedure ${p.key} is no longer at version ${p.version}` };
        compares.push(...stillAtVersion(e.keys.map((k) => k.key), p.version));
      } else {
        const e = this.ctx?.get(p.collection, p.key);
        if ('absent' in p ? e !== undefined : e?.version !== p.version) return { compares, failed: `${p.collection} ${p.key} changed` };
      }
    }
    return { compares };
  }

  async repair(command: RepairCommand, preconditions: readonly Precondition[]): Promise<RepairItemResult[]> {
    if (command.command === 'greptime.disableAutoCreate') {
      return [
        {
          key: command.table.slice(0, 200),
          status: 'refused',
          message:
            'GreptimeDB keeps no auto-create switch in etcd: creating a missing table on write is decided by the frontend ' +
            'for each write (OpenTSDB, InfluxDB line protocol, Prometheus remote write). Create the table by hand ' +
            '(CREATE TABLE …) or stop the writer; nothing changed',
        },
      ];
    }
    if (command.command !== 'greptime.cancelProcedures' && command.command !== 'greptime.purgeProcedures') {
      throw new Error(`greptime cannot run ${command.command}`);
    }
    const pre = this.preconditionCompares(preconditions);
    const seen = new Set<string>();
    const targets = command.targets.filter((t) => (seen.has(t.key) ? false : (seen.add(t.key), true)));
    if (pre.failed) return targets.map((t) => ({ key: t.key, status: 'refused', message: `not applied: ${pre.failed}; re-check and plan again` }));
    const results = new Map<string, RepairItemResult>();
    const writes: PlannedWrite[] = [];
    const cancel = command.command === 'greptime.cancelProcedures';
    for (const t of targets) {
      const e = this.decoded.get(t.key);
      if (!e) {
        results.set(t.key, { key: t.key, status: 'refused', message: `procedure ${t.key} is no longer in etcd; nothing changed` });
        continue;
      }
      const { d, keys } = e;
      if (d.procedure.version !== t.version) {
        results.set(t.key, {
          key: t.key,
          status: 'refused',
          message: `procedure ${t.key} moved on (expected revision ${t.version}, its keys are at ${d.procedure.version}); nothing changed, re-check and plan again`,
        });
        continue;
      }
      const current = stillAtVersion(
        keys.map((k) => k.key),
        t.version,
      );
      if (cancel) {
        if (d.finished) {
          results.set(t.key, { key: t.key, status: 'unchanged', message: `already ${d.procedure.status}; nothing to cancel` });
          continue;
        }
        const rollbackKey = procedureKey(this.root, t.key, d.lastStep, 'rollback');
        const error = d.lastMessage.error ? `${CANCELLED} (was: ${d.lastMessage.error})` : CANCELLED;
        writes.push({
          key: t.key,
          // Not finished meanwhile (no .commit at its step), no newer step, no rollback yet.
          compares: [
            ...current,
            absent(rollbackKey),
            absent(procedureKey(this.root, t.key, d.lastStep, 'commit')),
            absent(procedureKey(this.root, t.key, d.lastStep + 1, 'step')),
          ],
          ops: [{ put: rollbackKey, value: Buffer.from(procedureMessageJson({ ...d.lastMessage, step: d.lastStep, error })) }],
          applied: `cancelled: wrote ${rollbackKey.slice(this.root.length)} (what metasrv writes to roll a procedure back); metasrv rolls it back when it next loads its procedures (restart or leader change); its state stays in etcd until purged`,
        });
      } else {
        if (!d.finished) {
          results.set(t.key, {
            key: t.key,
            status: 'refused',
            message: `${d.procedure.status}: an unfinished procedure is cancelled, never purged (removing its state could leave half-created table metadata)`,
          });
          continue;
        }
        const bytes = keys.reduce((n, k) => n + Buffer.byteLength(k.key) + k.value.length, 0);
        writes.push({
          key: t.key,
          compares: [...current, absent(procedureKey(this.root, t.key, d.lastStep + 1, 'step'))],
          ops: keys.map((k) => ({ del: k.key })),
          applied: `purged from etcd (${keys.length} keys, ${bytes} bytes)`,
        });
      }
    }
    const done = await runConditional(this.client, this.config.etcd.endpoints, writes, pre.compares, this.config.etcd.maxTxnOps, (key) =>
      `procedure ${key} changed in etcd since the plan (a key of it was written or removed); nothing changed, re-check and plan again`,
    );
    // The answer waits for the mirror to hold the write, so the caller's re-check sees it.
    if (done.revision) await this.follower.caughtUp(done.revision);
    return targets.map((t) => results.get(t.key) ?? done.results.get(t.key)!);
  }
}
