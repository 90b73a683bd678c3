/**
 * GreptimeDB metasrv procedures: failing auto-create-on-write adds a CreateTable
 * procedure per write until etcd and metasrv run out of room (greptimedb #5789).
 * Unfinished procedures are only ever cancelled (rolled back), never deleted:
 * deleting their state can leave half-created table metadata.
 */
import {
  UNFINISHED_PROCEDURE_STATUSES,
  type EntityRef,
  type EtcdPrefix,
  type Finding,
  type Procedure,
  type RepairCommand,
} from '../../protocol';
import { formatBytes, formatCount, plural } from '../../protocol/format';
import type { ClusterModel } from '../model';
import {
  batchedOption,
  describeCounts,
  facts,
  factsPer,
  increment,
  isAre,
  makeFinding,
  nameList,
  pushSample,
  ref,
  repairOption,
  stillAt,
  TargetBatcher,
} from './common';
import { PROCEDURES } from '../../protocol/systems';

/** etcd is "near its quota" from this fraction on. */
export const ETCD_QUOTA_WARN_RATIO = 0.8;

const UNFINISHED = new Set<string>(UNFINISHED_PROCEDURE_STATUSES);
const FINISHED = new Set<string>(['Done', 'Failed']);
const DOING_WORK = new Set<string>(['Running', 'Retrying']);

/**
 * Rolling back a procedure metasrv cannot roll back (`rollbackSupported` false): when metasrv loads
 * it, it marks it Failed at once and deletes its state (common/procedure local/runner.rs,
 * `Runner::rollback`), so it holds no running slot for long: not part of the backlog.
 */
function isGivenUp(p: Procedure): boolean {
  return p.status === 'RollingBack' && p.rollbackSupported === false;
}

export function isUnfinished(p: Procedure): boolean {
  return UNFINISHED.has(p.status);
}

/** Older first: by start time, then id, so "the oldest" is well defined. */
function older(a: Procedure, b: Procedure): boolean {
  return a.startTime < b.startTime || (a.startTime === b.startTime && a.procedureId < b.procedureId);
}

interface SameWork {
  table: string;
  typeName: string;
  oldest: Procedure;
  all: Procedure[];
}

/**
 * Procedures still doing their work (Running, Retrying) grouped by (type, table); one pass, the
 * oldest found without sorting. A procedure whose table is not known (`table` empty: a type the
 * reader cannot decode) is never grouped, and one rolling back is not doing the work any more.
 * `table` names every table the procedure works on (a CreateLogicalTables: the whole set), so
 * procedures on different tables are never grouped.
 */
function unfinishedByWork(model: ClusterModel): Map<string, SameWork> {
  const byWork = new Map<string, SameWork>();
  for (const p of model.collections[PROCEDURES].values()) {
    if (!DOING_WORK.has(p.status) || !p.table) continue;
    const id = `${p.typeName}\u0000${p.table}`;
    const w = byWork.get(id);
    if (!w) byWork.set(id, { table: p.table, typeName: p.typeName, oldest: p, all: [p] });
    else {
      w.all.push(p);
      if (older(p, w.oldest)) w.oldest = p;
    }
  }
  return byWork;
}

/** The cancels of duplicates: those metasrv can roll back, and those it can only give up (`rollbackSupported` false). */
interface Cancels {
  rollBack: TargetBatcher;
  giveUp: TargetBatcher;
  /** The tables of each kind of cancel, in the order met: what its fix title names. */
  rollBackTables: Set<string>;
  giveUpTables: Set<string>;
}
const newCancels = (): Cancels => ({
  rollBack: new TargetBatcher('greptime.cancelProcedures'),
  giveUp: new TargetBatcher('greptime.cancelProcedures'),
  rollBackTables: new Set(),
  giveUpTables: new Set(),
});

/** The duplicates of one piece of work; each cancel rests on the one kept (the oldest) still being as seen. */
function addDuplicates(w: SameWork, into: Cancels): void {
  if (w.all.length < 2) return;
  const kept = stillAt(PROCEDURES, w.oldest);
  for (const p of w.all) {
    if (p === w.oldest) continue;
    const giveUp = mayLoseData(p);
    (giveUp ? into.giveUp : into.rollBack).add(p, kept);
    (giveUp ? into.giveUpTables : into.rollBackTables).add(w.table);
  }
}

/** The tables a cancel is for, as its title names them: "of table t", "of 12 tables (a, b, c, …)". */
function ofTables(tables: ReadonlySet<string>): string {
  const names = [...tables];
  return names.length === 1 ? `of table ${names[0]}` : `of ${plural(names.length, 'table')} (${nameList(names)})`;
}

/** Kinds that create tables: given up, they leave no table behind that held data (their table does not exist yet). */
const CREATES = new Set(['metasrv-procedure::CreateTable', 'metasrv-procedure::CreateLogicalTables']);

/**
 * Whether cancelling `p` can lose data: metasrv cannot roll it back (`rollbackSupported` false) and it
 * changes a table that exists (a DropTable past Prepare without `allow_rollback` leaves the table
 * half dropped).
 */
function mayLoseData(p: Procedure): boolean {
  return p.rollbackSupported === false && !CREATES.has(p.typeName);
}

const cancelDuplicatesOptions = (c: Cancels) => [
  ...batchedOption(
    {
      id: 'cancel-duplicates',
      title: `Cancel ${plural(c.rollBack.count, 'duplicate procedure')} ${ofTables(c.rollBackTables)}, keeping the oldest per table`,
      safety: 'safe',
      description:
        'Cancels every unfinished procedure beyond the oldest for the same table and kind: metasrv rolls each back when it loads it, ' +
        'and the cancel deletes nothing. A CreateTable or CreateLogicalTables cannot be rolled back: metasrv marks it Failed and ' +
        'deletes its state, as when it fails by itself; its table does not exist yet, so no data is at stake.',
    },
    c.rollBack,
  ),
  ...batchedOption(
    {
      id: 'cancel-duplicates-no-rollback',
      title: `Give up ${plural(c.giveUp.count, 'duplicate procedure')} ${ofTables(c.giveUpTables)} metasrv cannot roll back, keeping the oldest per table`,
      safety: 'may-lose-data',
      description:
        'Cancels every unfinished procedure beyond the oldest for the same table and kind that metasrv cannot roll back ' +
        '(a DropTable past Prepare without allow_rollback): metasrv marks it Failed and deletes its state without undoing ' +
        'what it did, which can leave the table half dropped.',
    },
    c.giveUp,
  ),
];

/**
 * The tables that cause a backlog, from their unfinished procedures, most first: those piling up
 * procedures (more than one unfinished); if none does, every table with one.
 */
export function backlogCauses(unfinishedPerTable: Iterable<readonly [string, number]>): [string, number][] {
  const ranked = [...unfinishedPerTable].filter(([, n]) => n > 0).map(([t, n]): [string, number] => [t, n]);
  ranked.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return ranked.some(([, n]) => n > 1) ? ranked.filter(([, n]) => n > 1) : ranked;
}

/** One fact per table causing a backlog (the first few, then the others together); `keyOf`: an entity of the table, if one was read. */
export function causeFacts(
  fact: ReturnType<typeof facts>,
  causes: readonly (readonly [string, number])[],
  keyOf: (table: string) => string | undefined,
) {
  return factsPer(
    causes,
    ([t, n]) => fact.group(PROCEDURES, t, n, keyOf(t), `Table ${t} has ${plural(n, 'unfinished procedure')}.`),
    (rest) => {
      const n = rest.reduce((sum, [, k]) => sum + k, 0);
      const has = rest.length === 1 ? 'has' : 'have';
      return fact.group(
        PROCEDURES,
        'other tables',
        n,
        keyOf(rest[0]![0]),
        `${plural(rest.length, 'other table')} ${has} ${plural(n, 'unfinished procedure')}.`,
      );
    },
  );
}

/** `ddl/backlog`: unfinished procedures above max_running_procedures, or etcd at 80% of its quota. */
export function checkDdlBacklog(model: ClusterModel): Finding[] {
  const { collections, status } = model;
  const { maxRunningProcedures, etcdQuotaBytes } = status.config;
  let unfinished = 0;
  const perTable = new Map<string, number>();
  /** The first unfinished procedure of each table: where its fact links to. */
  const firstOfTable = new Map<string, string>();
  const samples: EntityRef[] = [];
  const purge = new TargetBatcher('greptime.purgeProcedures');
  let firstFinished: string | undefined;
  let givenUp = 0;
  for (const p of collections[PROCEDURES].values()) {
    if (isGivenUp(p)) givenUp++;
    else if (UNFINISHED.has(p.status)) {
      unfinished++;
      // A procedure whose table is not known is counted, never named as a cause.
      if (p.table) perTable.set(p.table, (perTable.get(p.table) ?? 0) + 1);
      if (p.table && !firstOfTable.has(p.table)) firstOfTable.set(p.table, p.key);
      pushSample(samples, PROCEDURES, p);
    } else if (FINISHED.has(p.status)) {
      purge.add(p);
      firstFinished ??= p.key;
    }
  }
  let etcdBytes = 0;
  let biggestPrefix: EtcdPrefix | undefined;
  for (const e of collections['greptime.etcd'].values()) {
    etcdBytes += e.sizeBytes;
    if (!biggestPrefix || e.sizeBytes > biggestPrefix.sizeBytes) biggestPrefix = e;
  }
  const overLimit = unfinished > maxRunningProcedures;
  const nearQuota = etcdBytes >= ETCD_QUOTA_WARN_RATIO * etcdQuotaBytes;
  if (!overLimit && !nearQuota) return [];

  const causes = backlogCauses(perTable);
  const disable: RepairCommand[] = causes.map(([table]) => ({ command: 'greptime.disableAutoCreate', table }));
  const cancel = newCancels();
  for (const w of unfinishedByWork(model).values()) addDuplicates(w, cancel);

  const fact = facts(status);
  const quotaPct = Math.round((etcdBytes / etcdQuotaBytes) * 100);
  const etcdSays = `${formatBytes(etcdBytes)} of ${formatBytes(etcdQuotaBytes)} quota (${quotaPct}%)`;
  const reasons = [
    overLimit ? `${formatCount(unfinished)} unfinished procedures (max_running_procedures = ${maxRunningProcedures})` : '',
    nearQuota ? `etcd holds ${etcdSays}` : '',
  ].filter(Boolean);
  const top = causes.slice(0, 5).map(([t, n]) => `${t} (${formatCount(n)})`);
  if (samples.length === 0 && biggestPrefix) samples.push(ref('greptime.etcd', biggestPrefix));

  return [
    makeFinding('ddl/backlog', {
      group: 'metasrv',
      message:
        `DDL procedures are piling up in metasrv: ${reasons.join('; ')}. ` +
        (top.length ? `Most are for ${top.join(', ')}.` : 'Finished procedures fill etcd.'),
      count: unfinished,
      samples,
      facts: [
        fact.group(
          PROCEDURES,
          'unfinished',
          unfinished,
          samples.find((x) => x.collection === PROCEDURES)?.key,
          `Metasrv has ${plural(unfinished, 'unfinished procedure')} (${UNFINISHED_PROCEDURE_STATUSES.join('/')}); max_running_procedures is ${maxRunningProcedures}.`,
        ),
        fact.group(
          PROCEDURES,
          'finished',
          purge.count,
          firstFinished,
          `${plural(purge.count, 'finished procedure')} (Done/Failed) ${isAre(purge.count)} still in etcd.`,
        ),
        ...(givenUp
          ? [
              fact.group(
                PROCEDURES,
                'given up',
                givenUp,
                undefined,
                `${plural(givenUp, 'procedure')} metasrv cannot roll back ${isAre(givenUp)} rolling back: not counted, metasrv marks them Failed and deletes them when it loads them.`,
              ),
            ]
          : []),
        fact.group('greptime.etcd', 'greptime.etcd', collections['greptime.etcd'].size, biggestPrefix?.key, `etcd holds ${etcdSays}.`),
        ...(biggestPrefix
          ? [
              fact.entity(
                'greptime.etcd',
                biggestPrefix,
                `Its biggest prefix, ${biggestPrefix.prefix}, holds ${plural(biggestPrefix.keyCount, 'key')} (${formatBytes(biggestPrefix.sizeBytes)}).`,
              ),
            ]
          : []),
        ...causeFacts(fact, causes, (t) => firstOfTable.get(t)),
      ],
      repairs: [
        ...repairOption(
          {
            id: 'disable-auto-create',
            title: `Stop auto-creating ${plural(causes.length, 'table')} on write (${nameList(causes.map(([t]) => t))})`,
            safety: 'safe',
            description:
              'Stops writes from triggering CreateTable for these tables, the cause of the backlog. Writes to them ' +
              'fail until the table is created by hand; nothing already stored is touched.',
          },
          disable,
          causes.length,
        ),
        ...cancelDuplicatesOptions(cancel),
        ...batchedOption(
          {
            id: 'purge-finished',
            title: `Purge ${plural(purge.count, 'finished procedure')} from metasrv's etcd`,
            safety: 'safe',
            description: 'Removes the state of Done and Failed procedures, which metasrv no longer needs. Unfinished ones are not touched.',
          },
          purge,
        ),
      ],
    }),
  ];
}

/** The oldest procedure of one piece of work, and the others doing it again. */
function duplicateFacts(fact: ReturnType<typeof facts>, w: SameWork) {
  const { oldest } = w;
  const others = w.all.filter((p) => p !== oldest);
  const statuses = new Map<string, number>();
  let since = Infinity;
  for (const p of others) {
    increment(statuses, p.status);
    since = Math.min(since, p.startTime);
  }
  return [
    fact.entity(
      PROCEDURES,
      oldest,
      `The oldest ${w.typeName} for ${w.table} is ${oldest.procedureId} (${oldest.status}, started at ${fact.at(oldest.startTime)}).`,
      { since: oldest.startTime },
    ),
    fact.group(
      PROCEDURES,
      `${w.table} ${w.typeName}`,
      others.length,
      others[0]?.key,
      `${formatCount(others.length)} more ${w.typeName} for it ${isAre(others.length)} unfinished (${describeCounts(statuses)}), from ${fact.at(since)} on: only one can succeed.`,
      { since },
    ),
  ];
}

/** `ddl/duplicate`: more than one procedure of the same kind doing the work for the same table(s). Grouped by table. */
export function checkDuplicateProcedures(model: ClusterModel): Finding[] {
  const fact = facts(model.status);
  const byTable = new Map<string, SameWork[]>();
  for (const w of unfinishedByWork(model).values()) {
    if (w.all.length < 2) continue;
    const list = byTable.get(w.table);
    if (list) list.push(w);
    else byTable.set(w.table, [w]);
  }
  const findings: Finding[] = [];
  for (const [table, works] of byTable) {
    const samples: EntityRef[] = [];
    const cancel = newCancels();
    let count = 0;
    for (const w of works) {
      count += w.all.length;
      pushSample(samples, PROCEDURES, w.oldest);
      for (const p of w.all) if (p !== w.oldest) pushSample(samples, PROCEDURES, p);
      addDuplicates(w, cancel);
    }
    const kinds = works.map((w) => `${formatCount(w.all.length)} × ${w.typeName}`).join(', ');
    findings.push(
      makeFinding('ddl/duplicate', {
        group: table,
        message: `Table ${table} has ${plural(count, 'unfinished procedure')} doing the same work (${kinds}); only one can succeed.`,
        count,
        samples,
        facts: works.flatMap((w) => duplicateFacts(fact, w)),
        repairs: cancelDuplicatesOptions(cancel),
      }),
    );
  }
  return findings;
}
