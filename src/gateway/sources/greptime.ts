/**
 * GreptimeDB's ddl subsystem from the metasrv's etcd (layout: src/codecs/greptime.ts).
 *
 * Reads `[store_key_prefix]/__procedure__/`, `__table_info/`, `__table_name/`, metasrv's election
 * (`__metasrv_election/`) and its candidates (`__metasrv_election_candidates/`, where metasrv says
 * its version) once, in pages, then watches them. A procedure's version is the newest
 * `mod_revision` among its keys; a repair compares the key metasrv would load (still at that
 * revision) and the keys a newer step would take (still absent), in the same transaction as its writes.
 *
 * Repairs (docs/gateway.md, GreptimeDB):
 * - cancel = write `<next step>.rollback` as metasrv's runner does when it gives a procedure up
 *   (`Runner::write_rollback_procedure_state`); metasrv rolls it back when it loads its procedures,
 *   which it does only when it starts or becomes leader (`LocalManager::recover`). While a metasrv
 *   runs (its election key lives on a 5 s lease) it keeps its procedures in memory and its runner
 *   writes and deletes their keys as it goes: the gateway refuses the cancel then.
 * - purge = delete the keys of a procedure whose loaded key is `.commit` (what metasrv does on load
 *   for its `finished_ids`, and its runner right after the commit); `.rollback` and `.step`
 *   procedures are owed by metasrv and never purged.
 * - disableAutoCreate is refused (etcd holds no such switch).
 */
import type { EtcdKv } from '../../codecs/etcd-kv';
import {
  CANDIDATES_PREFIX,
  decodeProcedure,
  ELECTION_PREFIX,
  ETCD_PREFIXES,
  etcdPrefixEntity,
  groupProcedureKeys,
  parseMetasrvNodeInfo,
  procedureKey,
  procedureRoot,
  rollbackRecord,
  splitValue,
  type DecodedProcedure,
  type ProcedureTimes,
} from '../../codecs/greptime';
import { errorText } from '../../codecs/etcd-kv';
import type { Precondition, RepairCommand, RepairItemResult, SystemVersion, UnreadableRecord } from '../../protocol';
import type { GatewayConfig } from '../config';
import type { SubsystemSource } from '../source';
import { absent, conditionalWrite, describeEtcdError, EtcdSource, stillAtVersion, type Compare } from './etcd';
import { distinct, runConditional, type PlannedWrite } from './etcd-repair';
import { SYSTEMS } from '../../protocol/systems';

type GreptimeConfig = NonNullable<GatewayConfig['greptime']>;

const CANCELLED = 'cancelled by operator (cluster-gateway)';
/** Key kinds in etcd's key order. */
const KINDS = ['commit', 'rollback', 'step'] as const;

export function createGreptimeSource(config: GreptimeConfig, _all: GatewayConfig): SubsystemSource {
  return new GreptimeSource(config);
}

interface Entry {
  d: DecodedProcedure;
  keys: EtcdKv[];
}

/** What makes two procedures the same work: their type and their table(s). Empty when the table is not known. */
function workKey(d: DecodedProcedure): string {
  return d.procedure.table ? `${d.procedure.typeName}\u0000${d.procedure.table}` : '';
}

/** Why a cancel is refused while metasrv runs, with the operator's remedy. */
export function cancelRefusal(electionKey: string): string {
  return (
    `metasrv runs (etcd holds its election key ${electionKey.slice(0, 200)}, on a 5 s lease): it keeps its procedures in memory, ` +
    'reads their state from etcd only when it starts or becomes leader, and its runner writes and deletes their keys as it goes, ' +
    'so a .rollback written now would be ignored and later overwritten or deleted. GreptimeDB has no ADMIN function that cancels a ' +
    'procedure. Remedy: fix the cause (metasrv rolls a procedure back itself after procedure.max_retry_times); or stop every ' +
    'metasrv, cancel here, and start metasrv again: it rolls the cancelled procedures back when it loads them'
  );
}

class GreptimeSource extends EtcdSource implements SubsystemSource {
  readonly subsystem = 'ddl' as const;
  readonly collections = ['greptime.procedures', 'greptime.etcd'] as const;
  readonly commands = ['greptime.cancelProcedures', 'greptime.purgeProcedures', 'greptime.disableAutoCreate'] as const;
  private readonly root: string;
  /** The reader's clock (what the store does not keep): first seen, first seen finished. */
  private readonly times = new Map<string, ProcedureTimes>();
  private decoded = new Map<string, Entry>();
  /** Set while a metasrv holds an election key: cancels are refused, with this reason. */
  private refusingCancel: string | undefined;

  constructor(private readonly config: GreptimeConfig) {
    super(
      config.etcd,
      [...ETCD_PREFIXES, ELECTION_PREFIX, CANDIDATES_PREFIX].map((p) => `${config.storeKeyPrefix}${p}`),
    );
    this.root = procedureRoot(config.storeKeyPrefix);
  }

  protected refresh(kvs: ReadonlyMap<string, EtcdKv>): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const skp = this.config.storeKeyPrefix;
    const stats = new Map<string, { count: number; bytes: number; version: number }>(
      ETCD_PREFIXES.map((p) => [p, { count: 0, bytes: 0, version: 0 }]),
    );
    const procedureKvs: EtcdKv[] = [];
    const election: EtcdKv[] = [];
    const candidates: EtcdKv[] = [];
    for (const kv of kvs.values()) {
      for (const p of ETCD_PREFIXES) {
        if (!kv.key.startsWith(skp + p)) continue;
        const s = stats.get(p)!;
        s.count++;
        s.bytes += Buffer.byteLength(kv.key) + kv.value.length;
        s.version = Math.max(s.version, kv.modRevision);
      }
      if (kv.key.startsWith(this.root)) procedureKvs.push(kv);
      else if (kv.key.startsWith(skp + ELECTION_PREFIX)) election.push(kv);
      else if (kv.key.startsWith(skp + CANDIDATES_PREFIX)) candidates.push(kv);
    }
    this.metasrv(election, candidates);
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
    const bad: UnreadableRecord[] = unreadable.map((u) => ({
      collection: 'greptime.procedures',
      key: u.key.slice(0, 1024),
      reason: u.reason.slice(0, 1024),
    }));
    const decoded = new Map<string, Entry>();
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

  /**
   * Whether a metasrv runs (an election key: each campaigning metasrv holds one on a 5 s lease; the
   * leader's is the oldest) and the version it advertises (its candidate key's `MetasrvNodeInfo`;
   * the leader's, else the one all candidates agree on).
   */
  private metasrv(election: EtcdKv[], candidates: EtcdKv[]): void {
    const ctx = this.ctx!;
    const leader = election.reduce<EtcdKv | undefined>((a, kv) => (!a || kv.createRevision < a.createRevision ? kv : a), undefined);
    this.refusingCancel = leader ? cancelRefusal(leader.key) : undefined;
    ctx.refusing('greptime.cancelProcedures', this.refusingCancel);
    const infos: { key: string; version: string; addr: string }[] = [];
    for (const kv of candidates) {
      try {
        const n = parseMetasrvNodeInfo(kv.value);
        infos.push({ key: kv.key, version: n.version, addr: n.addr });
      } catch {
        /* not a MetasrvNodeInfo: says no version */
      }
    }
    const leaderAddr = leader ? Buffer.from(leader.value).toString() : undefined;
    const mine = infos.find((i) => i.addr === leaderAddr);
    const agreed = new Set(infos.map((i) => i.version)).size === 1 ? infos[0] : undefined;
    const pick = mine ?? agreed;
    const v: SystemVersion | undefined = pick && {
      system: SYSTEMS.greptime.title,
      version: pick.version.slice(0, 128),
      from: `etcd ${pick.key} (MetasrvNodeInfo.version)`.slice(0, 512),
    };
    ctx.version(v);
  }

  /**
   * The compares under which what metasrv would load of `e` is still as planned: the loaded key (and
   * its segments) at or below its revision and present, and no newer step written since.
   */
  private liveCompares(id: string, e: Entry): Compare[] {
    const base = procedureKey(this.root, id, e.d.lastStep, e.d.loaded);
    const loadedKeys = e.keys.filter((k) => k.key === base || k.key.startsWith(`${base}/`)).map((k) => k.key);
    const next = e.d.lastStep + 1;
    // At the same step, a key sorting before the loaded one wins the tie (`.commit` < `.rollback` < `.step`):
    // a runner recovered at step s writes its next key at s.
    const before = KINDS.slice(0, KINDS.indexOf(e.d.loaded));
    return [
      ...stillAtVersion(loadedKeys, e.d.procedure.version),
      ...before.map((k) => absent(procedureKey(this.root, id, e.d.lastStep, k))),
      ...KINDS.map((k) => absent(procedureKey(this.root, id, next, k))),
    ];
  }

  /**
   * The command's own preconditions as compares: per work (type and table), those of the procedures
   * kept for it (a cancel's target carries only its own work's), and the rest shared.
   */
  private preconditionCompares(preconditions: readonly Precondition[]): {
    perWork: Map<string, Compare[]>;
    shared: Compare[];
    failed?: string;
  } {
    const perWork = new Map<string, Compare[]>();
    const shared: Compare[] = [];
    for (const p of preconditions) {
      if ('epoch' in p) continue;
      if (p.collection === 'greptime.procedures') {
        const e = this.decoded.get(p.key);
        if ('absent' in p) {
          if (e) return { perWork, shared, failed: `procedure ${p.key} exists` };
          continue;
        }
        if (!e || e.d.procedure.version !== p.version)
          return { perWork, shared, failed: `procedure ${p.key} is no longer at version ${p.version}` };
        const w = workKey(e.d);
        const c = this.liveCompares(p.key, e);
        if (w) perWork.set(w, [...(perWork.get(w) ?? []), ...c]);
        else shared.push(...c);
      } else {
        const e = this.ctx?.get(p.collection, p.key);
        if ('absent' in p ? e !== undefined : e?.version !== p.version)
          return { perWork, shared, failed: `${p.collection} ${p.key} changed` };
      }
    }
    return { perWork, shared };
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
    const seen = new Set<string>();
    const targets = command.targets.filter((t) => (seen.has(t.key) ? false : (seen.add(t.key), true)));
    const cancel = command.command === 'greptime.cancelProcedures';
    if (cancel && this.refusingCancel) {
      const reason = this.refusingCancel;
      return targets.map((t) => ({ key: t.key, status: 'refused', message: `refused by the gateway: ${reason}; nothing changed` }));
    }
    const pre = this.preconditionCompares(preconditions);
    if (pre.failed)
      return targets.map((t) => ({ key: t.key, status: 'refused', message: `not applied: ${pre.failed}; re-check and plan again` }));
    const results = new Map<string, RepairItemResult>();
    const writes: PlannedWrite[] = [];
    const segmented: { key: string; compares: Compare[]; parts: { key: string; value: Uint8Array }[]; applied: string }[] = [];
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
      const own = [...this.liveCompares(t.key, e), ...(pre.perWork.get(workKey(d)) ?? [])];
      if (cancel) {
        if (d.finished) {
          results.set(t.key, { key: t.key, status: 'unchanged', message: `already ${d.procedure.status}; nothing to cancel` });
          continue;
        }
        if (d.loaded === 'rollback') {
          results.set(t.key, {
            key: t.key,
            status: 'unchanged',
            message: 'already rolling back (its .rollback is the key metasrv loads); nothing to cancel',
          });
          continue;
        }
        const last = d.lastMessage!;
        if (last.parent_id) {
          results.set(t.key, {
            key: t.key,
            status: 'refused',
            message: `a subprocedure of ${last.parent_id}: metasrv recovers only root procedures, which re-submit their children; cancel ${last.parent_id} instead. Nothing changed`,
          });
          continue;
        }
        const rec = rollbackRecord(this.root, t.key, last, d.lastStep, CANCELLED);
        const parts = splitValue(rec.key, rec.value, this.config.maxMetadataValueSize);
        const then =
          d.procedure.rollbackSupported === false
            ? `${d.procedure.typeName.replace('metasrv-procedure::', '')} cannot be rolled back: metasrv marks it Failed and deletes its state, leaving what it already did`
            : 'metasrv rolls it back';
        const applied = `cancelled: wrote ${rec.key.slice(this.root.length)}${parts.length > 1 ? ` in ${parts.length} segments` : ''} (what metasrv's runner writes when it gives a procedure up); when metasrv next starts or becomes leader it loads it and ${then}`;
        const compares = [...own, absent(rec.key)];
        if (parts.length === 1) writes.push({ key: t.key, compares, ops: [{ put: rec.key, value: rec.value }], applied });
        else segmented.push({ key: t.key, compares, parts, applied });
      } else {
        if (!d.finished) {
          results.set(t.key, {
            key: t.key,
            status: 'refused',
            message:
              d.loaded === 'rollback'
                ? 'RollingBack: metasrv rolls it back when it loads it and only its runner deletes its keys once done; purging it would drop a rollback metasrv still owes. Nothing changed'
                : `${d.procedure.status}: an unfinished procedure is cancelled, never purged (removing its state could leave half-created table metadata)`,
          });
          continue;
        }
        const bytes = keys.reduce((n, k) => n + Buffer.byteLength(k.key) + k.value.length, 0);
        // As `ProcedureStore::delete_procedure`: the step keys first, the .commit last (it stays until then).
        const commit = procedureKey(this.root, t.key, d.lastStep, 'commit');
        const ordered = [...keys.filter((k) => k.key !== commit), ...keys.filter((k) => k.key === commit)];
        writes.push({
          key: t.key,
          compares: own,
          ops: ordered.map((k) => ({ del: k.key })),
          applied: `purged from etcd (${keys.length} keys, ${bytes} bytes)`,
        });
      }
    }
    const done = await runConditional(
      this.client,
      this.config.etcd.endpoints,
      writes,
      pre.shared,
      this.config.etcd.maxTxnOps,
      (key) =>
        `procedure ${key} changed in etcd since the plan (a key of it was written or removed); nothing changed, re-check and plan again`,
    );
    let revision = done.revision;
    for (const s of segmented) {
      const r = await this.writeSegmented(s.compares, pre.shared, s.parts);
      revision = Math.max(revision, r.revision);
      results.set(
        s.key,
        r.ok
          ? { key: s.key, status: 'applied', message: s.applied }
          : {
              key: s.key,
              status: 'refused',
              message: r.reason ?? `procedure ${s.key} changed in etcd since the plan; nothing changed, re-check and plan again`,
            },
      );
    }
    // The answer waits for the mirror to hold the write, so the caller's re-check sees it.
    if (revision) await this.follower.caughtUp(revision);
    return targets.map((t) => results.get(t.key) ?? done.results.get(t.key)!);
  }

  /**
   * A value split as `KvStateStore::put` splits it, one segment per transaction (each is up to
   * `max_metadata_value_size`, and etcd takes at most 1.5 MiB a request): the suffix segments
   * first, the key itself last, each under the same compares (the key itself still absent), so
   * metasrv never reads a partial value (`multiple_value_stream` joins from the key itself). If a
   * compare fails midway, the segments written are removed again.
   */
  private async writeSegmented(
    compares: Compare[],
    shared: Compare[],
    parts: { key: string; value: Uint8Array }[],
  ): Promise<{ ok: boolean; revision: number; reason?: string }> {
    const [first, ...rest] = parts;
    const all = distinct([...shared, ...compares]);
    const written: string[] = [];
    let revision = 0;
    try {
      for (const p of [...rest, first!]) {
        const rev = await conditionalWrite(this.client, all, [{ put: p.key, value: p.value }]);
        if (rev === false) {
          if (written.length)
            await conditionalWrite(
              this.client,
              [absent(first!.key)],
              written.map((k) => ({ del: k })),
            ).catch(() => false);
          return { ok: false, revision };
        }
        revision = rev;
        written.push(p.key);
      }
      return { ok: true, revision };
    } catch (err) {
      if (written.length)
        await conditionalWrite(
          this.client,
          [absent(first!.key)],
          written.map((k) => ({ del: k })),
        ).catch(() => false);
      return { ok: false, revision, reason: `not applied: ${describeEtcdError(err, this.config.etcd.endpoints)}` };
    }
  }
}
