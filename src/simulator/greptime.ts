/**
 * GreptimeDB metasrv procedures stored in etcd (GreptimeTeam/greptimedb #5789, fix PR #5793).
 *
 * The mechanism: writes through a protocol that auto-creates tables
 * (OpenTSDB here) hit a table that does not exist, so each write submits a
 * CreateTable procedure. While the remote WAL is unavailable every one of
 * them fails to create its regions and retries. Buggy (v0.13): nothing stops
 * a second procedure for the same table, retries are unbounded, nothing caps
 * the running procedures, and finished ones stay in etcd: the backlog and
 * `/__procedure__/` grow until metasrv runs out of memory.
 *
 * Fixed: `max_running_procedures` rejects new procedures above the limit,
 * a write does not submit a second unfinished CreateTable for a table,
 * retries stop after `max_retry_times` (rolled back to Failed), and finished
 * procedures leave etcd after a TTL.
 */
import { plural, UNFINISHED_PROCEDURE_STATUSES, type Fault, type Procedure, type RepairCommand, type RepairItemResult } from '../protocol';
import { buggy, noTarget, rejected, type SimContext, type Sizes, type SubsystemSim } from './context';
import { applied, dedupeTargets, refused, unchanged } from '../protocol';
import { expectVersion } from './repair-support';

const CREATE_TABLE = 'metasrv-procedure::CreateTable';
const PROCEDURE_PREFIX = '/__procedure__/';
const TABLE_INFO_PREFIX = '__table_info/';
const TABLE_NAME_PREFIX = '__table_name/';
/** Bytes one persisted procedure step takes in etcd (a serialised CreateTable with its table info). */
const STEP_BYTES = 1536;
const TABLE_INFO_BYTES = 2048;
const TABLE_NAME_BYTES = 96;
/** Finished procedures are purged this many seconds after they end (fixed mode). */
export const FINISHED_TTL_SECONDS = 60;
/** OpenTSDB metrics the workload writes; each becomes `greptime.public.<metric>` on auto-create. */
const METRICS = [
  'sys_cpu_user',
  'sys_cpu_system',
  'sys_mem_free',
  'sys_mem_used',
  'sys_disk_read',
  'sys_disk_write',
  'net_bytes_in',
  'net_bytes_out',
  'http_requests',
  'http_latency_p99',
  'jvm_heap_used',
  'jvm_gc_pause',
];
/** An unknown table name is echoed in a refusal up to this many characters. */
const MAX_ECHOED_NAME = 200;
const EXISTING_TABLES = ['greptime.public.monitor', 'greptime.public.host_info', 'greptime.public.app_events'];

function tableOf(metric: string): string {
  return `greptime.public.${metric}`;
}
function isUnfinished(p: Procedure): boolean {
  return UNFINISHED_PROCEDURE_STATUSES.includes(p.status);
}

export class GreptimeSim implements SubsystemSim {
  readonly subsystem = 'ddl' as const;
  readonly commands = ['greptime.cancelProcedures', 'greptime.purgeProcedures', 'greptime.disableAutoCreate'] as const;

  private remoteWalUnavailable = false;
  private readonly tables = new Set<string>();
  private readonly autoCreateDisabled = new Set<string>();
  /** Procedure key → earliest time of its next retry (exponential backoff). */
  private readonly nextRetryAt = new Map<string, number>();
  /** Procedure key → etcd bytes its persisted steps take. */
  private readonly stepBytes = new Map<string, number>();
  private procedureCounter = 0;
  private writeCursor = 0;

  constructor(private readonly ctx: SimContext) {}

  build(_size: Sizes): void {
    const { store } = this.ctx;
    for (const [prefix, bytes] of [
      [PROCEDURE_PREFIX, 0],
      [TABLE_INFO_PREFIX, 0],
      [TABLE_NAME_PREFIX, 0],
    ] as const) {
      store.put('greptime.etcd', { key: prefix, prefix, keyCount: 0, sizeBytes: bytes });
    }
    // Tables created before the incident, by procedures that finished normally.
    for (const table of EXISTING_TABLES) this.runToCompletion(this.submit(table));
  }

  /** `count` OpenTSDB writes, round-robin over the metrics (the workload a scenario drives). */
  applyWrites(count: number): void {
    for (let i = 0; i < count; i++) {
      const metric = METRICS[this.writeCursor++ % METRICS.length];
      this.write(tableOf(metric));
    }
  }

  tick(): void {
    const { store, time } = this.ctx;
    for (const p of store.all('greptime.procedures')) {
      if (isUnfinished(p)) this.step(p);
      else if (!buggy(this.ctx, 'ddl') && p.endTime !== null && time - p.endTime >= FINISHED_TTL_SECONDS) this.purge(p);
    }
    // A trickle of writes keeps arriving while a table is missing.
    if (this.remoteWalUnavailable) this.applyWrites(1);
  }

  inject(fault: Fault, target: string | undefined): string {
    if (fault !== 'greptime.remoteWalUnavailable') throw rejected(`${fault} is not a greptime fault`);
    noTarget(fault, target);
    this.remoteWalUnavailable = true;
    return 'remote WAL (Kafka) unavailable: CreateTable cannot create its regions';
  }

  repair(cmd: RepairCommand): RepairItemResult[] {
    switch (cmd.command) {
      case 'greptime.cancelProcedures':
        return dedupeTargets(cmd.targets).map((t) => {
          const found = expectVersion(this.ctx.store, 'greptime.procedures', t, 'procedure');
          if ('refusal' in found) return found.refusal;
          const p = found.entity;
          if (!isUnfinished(p)) return unchanged(t.key, `already ${p.status}; nothing to cancel`);
          this.rollBack(p, 'cancelled by operator');
          return applied(
            t.key,
            `cancelled: rolled back (${p.status} → PrepareRollback → RollingBack → Failed); its state stays in etcd until purged`,
          );
        });
      case 'greptime.purgeProcedures':
        return dedupeTargets(cmd.targets).map((t) => {
          const found = expectVersion(this.ctx.store, 'greptime.procedures', t, 'procedure');
          if ('refusal' in found) return found.refusal;
          const p = found.entity;
          if (isUnfinished(p)) {
            return refused(
              t.key,
              `${p.status}: an unfinished procedure is cancelled, never purged (removing its state could leave half-created table metadata)`,
            );
          }
          const bytes = this.purge(p);
          return applied(t.key, `purged from etcd (${bytes} bytes)`);
        });
      case 'greptime.disableAutoCreate': {
        const table = cmd.table;
        // Only tables the cluster knows: a client-chosen name must not grow the set (nor be echoed at length).
        if (!this.knownTable(table)) {
          const shown = table.length > MAX_ECHOED_NAME ? `${table.slice(0, MAX_ECHOED_NAME)}…` : table;
          return [refused(shown, `no table ${shown}: nothing writes it and no procedure creates it; nothing changed`)];
        }
        if (this.autoCreateDisabled.has(table)) return [unchanged(table, 'auto-create is already disabled for this table')];
        this.autoCreateDisabled.add(table);
        const unfinished = this.ctx.store.all('greptime.procedures').filter((p) => p.table === table && isUnfinished(p)).length;
        return [
          applied(
            table,
            `writes to ${table} no longer create it; ${plural(unfinished, 'unfinished procedure')} for it remain${unfinished === 1 ? 's' : ''} (cancel them)`,
          ),
        ];
      }
      default:
        throw new Error(`greptime cannot run ${cmd.command}`);
    }
  }

  /** A table that exists, that the workload writes, or that a procedure is for. */
  private knownTable(table: string): boolean {
    return (
      this.tables.has(table) ||
      METRICS.some((m) => tableOf(m) === table) ||
      this.ctx.store.all('greptime.procedures').some((p) => p.table === table)
    );
  }

  // ------------------------------------------------------------ mechanism --

  /** One write to `table`: succeeds if it exists, else auto-creates it. */
  private write(table: string): void {
    if (this.tables.has(table) || this.autoCreateDisabled.has(table)) return;
    if (!buggy(this.ctx, 'ddl')) {
      const procedures = this.ctx.store.all('greptime.procedures');
      // Fixed: one unfinished CreateTable per table; the write waits for it.
      if (procedures.some((p) => p.table === table && p.typeName === CREATE_TABLE && isUnfinished(p))) return;
      // Fixed: procedure.max_running_procedures rejects new procedures above the limit.
      if (procedures.filter(isUnfinished).length >= this.ctx.config.maxRunningProcedures) return;
    }
    this.submit(table);
  }

  private submit(table: string): Procedure {
    const { store, rng, time } = this.ctx;
    // Time-ordered ids (like UUIDv7) so that procedures list in submission order.
    const n = ++this.procedureCounter;
    const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');
    const procedureId = `${hex(time, 8)}-${hex(n >>> 16, 4)}-7${hex(n & 0xfff, 3)}-${hex(0x8000 | (rng.u32() & 0x3fff), 4)}-${hex(rng.u32(), 8)}${hex(rng.u32() & 0xffff, 4)}`;
    const [catalog, schema, name] = table.split('.');
    const p = store.put('greptime.procedures', {
      key: procedureId,
      procedureId,
      typeName: CREATE_TABLE,
      status: 'Running',
      startTime: time,
      endTime: null,
      lockKeys: [`__catalog_lock/${catalog}`, `__schema_lock/${catalog}.${schema}`, `__table_name_lock/${catalog}.${schema}.${name}`],
      table,
      retries: 0,
      error: null,
      rollbackSupported: null,
    });
    this.persistStep(p.key);
    return p;
  }

  /** One execution step of an unfinished procedure. */
  private step(p: Procedure): void {
    const { store, time } = this.ctx;
    switch (p.status) {
      case 'PrepareRollback':
        store.patch('greptime.procedures', p.key, { status: 'RollingBack' });
        this.persistStep(p.key);
        return;
      case 'RollingBack':
        store.patch('greptime.procedures', p.key, { status: 'Failed', endTime: time });
        return;
      case 'Running':
      case 'Retrying': {
        if ((this.nextRetryAt.get(p.key) ?? 0) > time) return;
        if (!this.remoteWalUnavailable) {
          this.createTable(p.table);
          store.patch('greptime.procedures', p.key, { status: 'Done', endTime: time, error: null });
          this.nextRetryAt.delete(p.key);
          return;
        }
        const error = 'Failed to create region: remote WAL (Kafka) unavailable';
        if (!buggy(this.ctx, 'ddl') && p.retries >= this.ctx.config.maxRetryTimes) {
          store.patch('greptime.procedures', p.key, { status: 'PrepareRollback', error: `${error}; gave up after ${p.retries} retries` });
          this.nextRetryAt.delete(p.key);
          return;
        }
        const retries = p.retries + 1;
        store.patch('greptime.procedures', p.key, { status: 'Retrying', retries, error });
        this.persistStep(p.key);
        this.nextRetryAt.set(p.key, time + Math.min(2 ** Math.min(retries, 6), 60));
        return;
      }
      default:
        return;
    }
  }

  private runToCompletion(p: Procedure): void {
    this.createTable(p.table);
    this.ctx.store.patch('greptime.procedures', p.key, { status: 'Done', endTime: this.ctx.time });
  }

  private createTable(table: string): void {
    if (this.tables.has(table)) return;
    this.tables.add(table);
    this.addEtcd(TABLE_INFO_PREFIX, 1, TABLE_INFO_BYTES);
    this.addEtcd(TABLE_NAME_PREFIX, 1, TABLE_NAME_BYTES);
  }

  private rollBack(p: Procedure, reason: string): void {
    // The rollback steps run at once here: the operator asked for it and is waiting for the result.
    this.persistStep(p.key);
    this.ctx.store.patch('greptime.procedures', p.key, {
      status: 'Failed',
      endTime: this.ctx.time,
      error: p.error ? `${reason} (was: ${p.error})` : reason,
    });
    this.nextRetryAt.delete(p.key);
  }

  /** Each persisted step is one more key under `/__procedure__/`. */
  private persistStep(key: string): void {
    this.stepBytes.set(key, (this.stepBytes.get(key) ?? 0) + STEP_BYTES);
    this.addEtcd(PROCEDURE_PREFIX, 1, STEP_BYTES);
  }

  private purge(p: Procedure): number {
    const bytes = this.stepBytes.get(p.key) ?? 0;
    this.stepBytes.delete(p.key);
    this.nextRetryAt.delete(p.key);
    this.ctx.store.delete('greptime.procedures', p.key);
    this.addEtcd(PROCEDURE_PREFIX, -Math.round(bytes / STEP_BYTES), -bytes);
    return bytes;
  }

  private addEtcd(prefix: string, keysDelta: number, bytesDelta: number): void {
    const e = this.ctx.store.get('greptime.etcd', prefix);
    if (!e) return;
    this.ctx.store.patch('greptime.etcd', prefix, {
      keyCount: Math.max(0, e.keyCount + keysDelta),
      sizeBytes: Math.max(0, e.sizeBytes + bytesDelta),
    });
  }
}
