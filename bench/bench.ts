/**
 * `npm run bench`: the scale benchmarks. Not tests: they print figures and
 * assert nothing about time. Each case lives in `bench/cases/`; add one by
 * importing it and listing it below. `node out/bench.js NAME...` runs some.
 * It ends with a summary of issue 21's table, from the figures of the cases
 * that ran (bench/results.ts), recorded in bench/RESULTS.md when all of them did.
 */
import { benchBulkRepair } from './cases/bulk-repair';
import { benchServerSync } from './cases/server-sync';
import { benchSimPaging } from './cases/sim-paging';
import { benchSnapshot, snapshotMemoryChild } from './cases/snapshot';
import { benchStuck } from './cases/stuck';
import { benchTopology } from './cases/topology';
import { benchFind } from './cases/find';
import { benchTimeline } from './cases/timeline';
import { format } from 'node:util';
import { printSummary, readPrintedFigures } from './results';

const CASES: { name: string; run: (outDir: string) => Promise<void> }[] = [
  { name: 'sim-paging', run: benchSimPaging },
  { name: 'server-sync', run: benchServerSync },
  { name: 'snapshot', run: benchSnapshot },
  { name: 'bulk-repair', run: benchBulkRepair },
  { name: 'stuck', run: benchStuck },
  { name: 'topology', run: benchTopology },
  { name: 'find', run: benchFind },
  { name: 'timeline', run: benchTimeline },
];

/** Parts of a case that must run in a process of their own (`--child NAME ARGS...`), e.g. to measure its memory. */
const CHILDREN: Record<string, (args: string[]) => Promise<void>> = {
  'snapshot-memory': snapshotMemoryChild,
};

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const run = CHILDREN[process.argv[3] ?? ''];
    if (!run) throw new Error(`unknown child ${process.argv[3]}`);
    return run(process.argv.slice(4));
  }
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !CASES.some((c) => c.name === w));
  if (unknown.length) {
    console.error(`bench: unknown case(s) ${unknown.join(', ')}; cases: ${CASES.map((c) => c.name).join(', ')}`);
    process.exit(2);
  }
  // Bundled to out/bench.js, next to out/cluster-sim.js and out/server.js.
  const outDir = __dirname;
  for (const c of CASES) {
    if (wanted.length && !wanted.includes(c.name)) continue;
    console.log(`\n== ${c.name}`);
    readPrintedFigures(c.name, await printedBy(() => c.run(outDir)));
  }
  printSummary(outDir, wanted.length === 0);
}

/** Runs a case, and returns the lines it printed (still printed as they come): the summary reads its figures there. */
async function printedBy(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(...format(...args).split('\n'));
    log(...args);
  };
  try {
    await run();
  } finally {
    console.log = log;
  }
  return lines;
}

main().catch((err: Error) => {
  console.error(`bench: ${err.stack ?? err.message}`);
  process.exit(1);
});
