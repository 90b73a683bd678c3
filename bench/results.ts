/**
 * Appending a bench's table to `bench/RESULTS.md`, headed with what makes
 * figures comparable: the date, the commit, the machine (CPUs, memory, Node)
 * and the command that produced them. And the summary `npm run bench` ends
 * with: every figure of issue 21's table, measured in the same run, against
 * its goal (`recordFigure`, `readPrintedFigures`, `printSummary`).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { INCIDENT } from './processes';

/** `out/bench.js` runs from `out/`; the file is `bench/RESULTS.md` beside it in the repo. */
function resultsFile(outDir: string): string | undefined {
  const file = join(outDir, '..', 'bench', 'RESULTS.md');
  return existsSync(file) ? file : undefined;
}

/** Whether the checkout differs from its commit; the tables a run appends to bench/RESULTS.md are not a change to what is measured. */
export function changedSinceCommit(dir: string): boolean {
  const args = ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/RESULTS.md'];
  try {
    return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim() !== '';
  } catch {
    return false; // not a git checkout: the commit is 'unknown' anyway
  }
}

function commitOf(dir: string): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
    return changedSinceCommit(dir) ? `${sha} (+ uncommitted changes)` : sha;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** The date, commit and machine line a recorded table starts with. */
export function runHeader(outDir: string): string {
  const date = new Date().toISOString().slice(0, 10);
  const memGiB = (totalmem() / 2 ** 30).toFixed(0);
  return `${date}, commit ${commitOf(join(outDir, '..'))}, ${cpus().length} CPUs (nproc), ${memGiB} GiB RAM, Node ${process.version}`;
}

/** Appends `## title` with the run header, the command, and `body` (markdown) to `bench/RESULTS.md`. */
export function appendResults(outDir: string, title: string, command: string, body: string): void {
  const file = resultsFile(outDir);
  if (!file) {
    console.log(`(bench/RESULTS.md not found next to ${outDir}; the table was not recorded)`);
    return;
  }
  appendFileSync(file, `\n## ${title}\n\n${runHeader(outDir)}. \`${command}\`\n\n${body.trimEnd()}\n`);
  console.log(`recorded in ${file}`);
}

// ----------------------------------------------------------- issue 21's table --

/** A figure of issue 21's table, and what it is measured by. */
export type FigureId =
  | 'sync/raw v1'
  | 'sync/raw columns-v1'
  | 'render/stringify'
  | 'parse/JSON.parse'
  | 'peak RSS re-open/model'
  | 'peak RSS save/model'
  | 'Repair All Safe, code-server, journal on'
  | 'Repair All Safe, language server, journal on'
  | 'journal size';

interface Row {
  id: FigureId;
  measure: string;
  /** The goal: the figure is at most this. */
  goal: number;
  unit: '×' | 's' | 'MB';
  /** The case (`node out/bench.js NAME`) or command that measures it. */
  by: string;
}

/** Issue 21's table, row by row (the two peak RSS ratios are a row each), in its order. */
export const ISSUE_21_TABLE: readonly Row[] = [
  { id: 'sync/raw v1', measure: 'language server sync / raw ws + JSON.parse (v1 objects)', goal: 1.2, unit: '×', by: 'server-sync' },
  { id: 'sync/raw columns-v1', measure: 'the same, against raw columns-v1', goal: 1.2, unit: '×', by: 'server-sync' },
  { id: 'render/stringify', measure: 'snapshot render / JSON.stringify', goal: 1.0, unit: '×', by: 'snapshot' },
  { id: 'parse/JSON.parse', measure: 'snapshot parse / JSON.parse', goal: 1.0, unit: '×', by: 'snapshot' },
  { id: 'peak RSS re-open/model', measure: 'streamed snapshot peak RSS, re-open, over the model', goal: 2, unit: '×', by: 'snapshot' },
  { id: 'peak RSS save/model', measure: 'streamed snapshot peak RSS, save, over the model', goal: 2, unit: '×', by: 'snapshot' },
  {
    id: 'Repair All Safe, code-server, journal on',
    measure: 'Repair All Safe in code-server, with the journal on (its default)',
    goal: 8,
    unit: 's',
    by: 'npm run bench:ui',
  },
  {
    id: 'Repair All Safe, language server, journal on',
    measure: 'the same through the language server alone (no UI), journal on',
    goal: 8,
    unit: 's',
    by: 'bulk-repair',
  },
  { id: 'journal size', measure: 'journal size for that repair', goal: 60, unit: 'MB', by: 'bulk-repair' },
];

interface Figure {
  value: number;
  /** Where it comes from when not this run's own case (bench:ui's last run), or at what scale. */
  note?: string;
  /** Measured on a smaller incident than the issue's: printed, but not held against the goal. */
  smaller?: boolean;
}

const figures = new Map<FigureId, Figure>();

/** A case's figure for the summary at the end of `npm run bench`. */
export function recordFigure(id: FigureId, value: number, how: { note?: string; smaller?: boolean } = {}): void {
  if (Number.isFinite(value)) figures.set(id, { value, ...how });
}

/**
 * The figures of the cases that print them without recording them: read from the lines they
 * printed (the same lines the reader of the run sees). A figure a case recorded wins.
 */
const PRINTED: Record<string, Array<{ line: RegExp; ids: FigureId[] }>> = {
  'server-sync': [
    { line: /sync \/ raw read = ([\d.]+)× \(v1 objects\), ([\d.]+)× \(columns-v1/, ids: ['sync/raw v1', 'sync/raw columns-v1'] },
  ],
  snapshot: [
    { line: /ratio render \/ JSON\.stringify ([\d.]+)x, parse \/ JSON\.parse ([\d.]+)x/, ids: ['render/stringify', 'parse/JSON.parse'] },
    {
      line: /snapshot: streamed: .*peak RSS re-open \d+ MiB \(([\d.]+)× the model\), save \d+ MiB \(([\d.]+)× the model\)/,
      ids: ['peak RSS re-open/model', 'peak RSS save/model'],
    },
  ],
};

/** Reads a case's figures from what it printed (`PRINTED`). */
export function readPrintedFigures(caseName: string, lines: readonly string[]): void {
  for (const { line, ids } of PRINTED[caseName] ?? []) {
    const m = lines.map((l) => line.exec(l)).find((x) => x);
    if (!m) continue;
    ids.forEach((id, i) => figures.has(id) || recordFigure(id, Number(m[i + 1])));
  }
}

/** Where `npm run bench:ui` leaves its figures for the summary of `npm run bench` (a run of its own). */
export function uiFiguresFile(repo: string): string {
  return join(repo, '.test-artifacts', 'bench-ui', 'figures.json');
}

export interface UiFigures {
  /** When, at which commit, with how many dangling shards. */
  at: string;
  commit: string;
  dangling: number;
  figures: Partial<Record<FigureId, number>>;
}

/** bench:ui's figures, from its last run (another run than this one: the summary says when). */
function readUiFigures(outDir: string): void {
  const file = uiFiguresFile(join(outDir, '..'));
  if (!existsSync(file)) return;
  try {
    const ui = JSON.parse(readFileSync(file, 'utf8')) as UiFigures;
    const note = `npm run bench:ui at ${ui.at}, commit ${ui.commit}, ${ui.dangling.toLocaleString('en-US')} dangling shards`;
    const smaller = ui.dangling < INCIDENT.danglingShards;
    for (const [id, value] of Object.entries(ui.figures) as Array<[FigureId, number]>) {
      if (!figures.has(id)) recordFigure(id, value, { note, smaller });
    }
  } catch (e) {
    console.log(`(bench:ui's figures in ${file} could not be read: ${(e as Error).message})`);
  }
}

const fmt = (v: number, unit: Row['unit']) =>
  unit === '×' ? `${v.toFixed(2)}×` : unit === 's' ? `${v.toFixed(1)} s` : `${v.toFixed(v < 10 ? 1 : 0)} MB`;

/**
 * The summary at the end of `npm run bench`: each figure of issue 21's table, its goal, and whether
 * this run met it; a figure no case of this run measured says which case or command does.
 * Appended to bench/RESULTS.md when every case ran (`record`).
 */
export function printSummary(outDir: string, record: boolean): void {
  readUiFigures(outDir);
  const lines = ['| measure | goal | measured | met? |', '|---|---:|---:|---|'];
  for (const row of ISSUE_21_TABLE) {
    const f = figures.get(row.id);
    const goal = `≤ ${fmt(row.goal, row.unit)}`;
    if (!f) {
      lines.push(`| ${row.measure} | ${goal} | not measured in this run (\`${row.by}\`) | — |`);
      continue;
    }
    const met = f.smaller
      ? '— (a smaller incident)'
      : f.value <= row.goal
        ? 'met'
        : `**falls short** by ${fmt(f.value - row.goal, row.unit)}`;
    lines.push(`| ${row.measure} | ${goal} | ${fmt(f.value, row.unit)}${f.note ? ` (${f.note})` : ''} | ${met} |`);
  }
  const table = lines.join('\n');
  console.log(`\n== summary: issue 21's table, measured in this run\n${table}`);
  if (record) appendResults(outDir, "npm run bench: issue 21's table", 'npm run bench', table);
}
