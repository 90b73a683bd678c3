/**
 * Bench: the snapshot language at the incident's scale. Renders the
 * 763,471-shard cluster to a `.clustersnap` text (what `Cluster: Save
 * Snapshot…` writes), parses it back and runs the checks on the result (what
 * opening the file does), against `JSON.stringify` / `JSON.parse` of the same
 * entities in the same run.
 *
 * Then memory: the file is saved and re-opened as streams in a child process
 * of its own (`--child snapshot-memory`), which measures the model it holds
 * (heap after GC) and its peak RSS while re-opening (parseSnapshotStream over
 * fs.createReadStream) and while saving (writeSnapshotFile: the chunked
 * renderer into a write stream, with backpressure). A second child does the
 * same with the whole text in memory (readFileSync + parseSnapshot,
 * renderSnapshot + writeFileSync), for comparison.
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTION_NAMES } from '../../src/protocol';
import { modelFrom, parseSnapshot, parseSnapshotStream, renderSnapshot, runChecks, type ClusterModel } from '../../src/analysis';
import { writeSnapshotFile } from '../../src/engine/offline';
import { Simulator } from '../../src/simulator/simulator';
import { INCIDENT } from '../processes';

/**
 * `BENCH_SNAPSHOT_SCALE=0.1` runs the case at a tenth of the incident (to profile it:
 * `BENCH_SNAPSHOT_SCALE=0.1 node --cpu-prof out/bench.js snapshot`); the figures of record are at 1.
 */
const SCALE = Number(process.env.BENCH_SNAPSHOT_SCALE ?? 1);

export async function benchSnapshot(outDir = __dirname): Promise<void> {
  const sim = new Simulator();
  const size = { danglingShards: Math.round(INCIDENT.danglingShards * SCALE), liveShards: Math.round(INCIDENT.liveShards * SCALE) };
  sim.reset({ scenario: 'incident-all', seed: 1, size });
  const model = modelFrom(sim.status(), (c) => sim.entities(c));
  const collections = model.collections;
  const entities = COLLECTION_NAMES.reduce((n, c) => n + collections[c].size, 0);
  console.log(`snapshot: ${entities.toLocaleString('en-US')} entities (incident-all, incident scale)`);

  let t = performance.now();
  const text = renderSnapshot(model);
  const renderMs = performance.now() - t;
  const mb = text.length / 1e6;
  t = performance.now();
  const parsed = parseSnapshot(text);
  const parseMs = performance.now() - t;
  if (parsed.errors.length || !parsed.model) throw new Error(`the rendered snapshot does not parse: ${parsed.errors[0]?.message}`);
  t = performance.now();
  const findings = runChecks(parsed.model);
  const checkMs = performance.now() - t;
  console.log(`snapshot: render ${renderMs.toFixed(0)} ms (${mb.toFixed(0)} MB, ${(mb / (renderMs / 1000)).toFixed(0)} MB/s)`);
  console.log(
    `snapshot: parse ${parseMs.toFixed(0)} ms (${(mb / (parseMs / 1000)).toFixed(0)} MB/s), check ${checkMs.toFixed(0)} ms, ${findings.length} finding(s)`,
  );

  const all = Object.fromEntries(COLLECTION_NAMES.map((c) => [c, [...collections[c].values()]]));
  t = performance.now();
  const json = JSON.stringify(all);
  const stringifyMs = performance.now() - t;
  t = performance.now();
  JSON.parse(json);
  const jsonParseMs = performance.now() - t;
  console.log(
    `snapshot: JSON.stringify ${stringifyMs.toFixed(0)} ms, JSON.parse ${jsonParseMs.toFixed(0)} ms (${(json.length / 1e6).toFixed(0)} MB)`,
  );
  const renderRatio = renderMs / stringifyMs;
  const parseRatio = parseMs / jsonParseMs;
  console.log(
    `snapshot: ratio render / JSON.stringify ${renderRatio.toFixed(2)}x, parse / JSON.parse ${parseRatio.toFixed(2)}x; ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );

  // Streamed save and re-open, timed here; their memory in a child process of their own.
  const dir = mkdtempSync(join(tmpdir(), 'bench-snapshot-'));
  try {
    const file = join(dir, 'incident.clustersnap');
    t = performance.now();
    const saved = await writeSnapshotFile(model, file);
    const saveMs = performance.now() - t;
    t = performance.now();
    const reopened = await parseSnapshotStream(createReadStream(file, { highWaterMark: 256 * 1024 }));
    const reopenMs = performance.now() - t;
    if (reopened.errors.length || !reopened.model) throw new Error(`the saved snapshot does not parse: ${reopened.errors[0]?.message}`);
    if (readFileSync(file, 'utf8') !== text) throw new Error('the streamed file differs from renderSnapshot');
    console.log(
      `snapshot: streamed save ${saveMs.toFixed(0)} ms (${(saved.bytes / 1e6).toFixed(0)} MB, ${saved.entities.toLocaleString('en-US')} entities, same bytes as renderSnapshot), ` +
        `streamed re-open ${reopenMs.toFixed(0)} ms`,
    );
    const memory: Partial<Record<'streamed' | 'whole-text', MemoryFigures>> = {};
    for (const mode of ['streamed', 'whole-text'] as const) {
      const out = await child(outDir, ['--child', 'snapshot-memory', mode, file, join(dir, `${mode}.clustersnap`)]);
      const lines = out.trim().split('\n');
      memory[mode] = JSON.parse(lines.pop()!) as MemoryFigures;
      console.log(lines.join('\n'));
    }
    console.log(`snapshot: the file is ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB`);
    const m = memory.streamed!;
    // Issue #21's table, for snapshots: every figure measured in this run.
    console.log(
      `snapshot: #21 ratios: render / JSON.stringify ${renderRatio.toFixed(2)}×, parse / JSON.parse ${parseRatio.toFixed(2)}×, ` +
        `streamed peak RSS re-open / save over the model ${(m.reopenPeak / m.model).toFixed(2)}× / ${(m.savePeak / m.model).toFixed(2)}× ` +
        `(goals ≤ 1.0×, ≤ 1.0×, ≤ 2×; load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')})`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function child(outDir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', join(outDir, 'bench.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench child ${args.join(' ')} exited ${code}`))));
  });
}

const MiB = 2 ** 20;
function status(field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.replace(/\D+/g, '')) * 1024;
}
/** Resets VmHWM to the current RSS (Linux: clear_refs 5). */
function resetPeak(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}
function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
/**
 * Full GCs until the heap and the typed arrays stop shrinking: a typed array's memory is freed
 * by a sweeper after the GC that found it dead, so one `gc()` can leave the buffers a table
 * outgrew counted as the model's.
 */
async function settle(): Promise<void> {
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
    const m = process.memoryUsage();
    if (m.heapUsed + m.arrayBuffers >= last) return;
    last = m.heapUsed + m.arrayBuffers;
  }
}
const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;

/** What the memory child measured, in bytes: the model (heap and typed arrays after GC), and the peaks. */
interface MemoryFigures {
  model: number;
  heap: number;
  arrayBuffers: number;
  reopenPeak: number;
  savePeak: number;
}

/** In a function of its own, so that no frame of the caller holds the text once it returns. */
function parseWhole(file: string): ClusterModel | null {
  return parseSnapshot(readFileSync(file, 'utf8')).model;
}

/**
 * In a child process (`node --expose-gc out/bench.js --child snapshot-memory MODE FILE OUT`):
 * re-open FILE, then save the model to OUT, and report peak RSS of each against the model.
 */
export async function snapshotMemoryChild([mode, file, out]: string[]): Promise<void> {
  await settle();
  const base = process.memoryUsage();
  const baseHeap = base.heapUsed;
  const baseRss = status('VmRSS');
  resetPeak();
  let model: ClusterModel | null;
  if (mode === 'streamed') {
    model = (await parseSnapshotStream(createReadStream(file!, { highWaterMark: 256 * 1024 }))).model;
  } else {
    model = parseWhole(file!);
  }
  const reopenPeak = status('VmHWM');
  await settle();
  const held = process.memoryUsage();
  const modelHeap = held.heapUsed - baseHeap;
  // A compact model keeps its columns and indexes in typed arrays, outside the JavaScript heap: they are the model too.
  const modelArrays = held.arrayBuffers - base.arrayBuffers;
  const modelSize = modelHeap + modelArrays;
  const heldRss = status('VmRSS');
  resetPeak();
  if (mode === 'streamed') await writeSnapshotFile(model!, out!);
  else writeFileSync(out!, renderSnapshot(model!));
  const savePeak = status('VmHWM');
  const entities = COLLECTION_NAMES.reduce((n, c) => n + model!.collections[c].size, 0);
  console.log(
    `snapshot: ${mode}: model ${mib(modelSize)} (${mib(modelHeap)} of heap, ${mib(modelArrays)} of typed arrays; ${entities.toLocaleString('en-US')} entities; ` +
      `RSS holding it ${mib(heldRss)}, process baseline ${mib(baseRss)}); ` +
      `peak RSS re-open ${mib(reopenPeak)} (${(reopenPeak / modelSize).toFixed(2)}× the model), save ${mib(savePeak)} (${(savePeak / modelSize).toFixed(2)}× the model); ` +
      `over the heap alone, as measured before: ${(reopenPeak / modelHeap).toFixed(2)}× / ${(savePeak / modelHeap).toFixed(2)}×`,
  );
  const figures: MemoryFigures = { model: modelSize, heap: modelHeap, arrayBuffers: modelArrays, reopenPeak, savePeak };
  console.log(JSON.stringify(figures));
}
