/**
 * Bench: "Repair All Safe" of the 763,471-shard incident through the
 * language server process, as the editor runs it: command → every batch
 * applied → the model caught up → 0 problems. Prints the total, the share
 * spent sending batches, and the server's own log of checks.
 *
 * Twice: bare (no journal), then with the repair journal on, as the editor
 * has it by default (`clusterDebugger.repairJournal`), a fresh incident and
 * server each time; the second prints the journal's size.
 * `BENCH_BULK_DANGLING=N` runs a smaller incident (N dangling shards).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient } from '../../src/cluster/client';
import type { PublishDiagnosticsParams } from 'vscode-languageserver/node';
import { LspCommands, LspMethods, type ApplyRepairResult, type ClusterInfo } from '../../src/protocol';
import { cpuSeconds, INCIDENT, ms, startLanguageServer, startSim } from '../processes';
import { recordFigure } from '../results';

const SIZE = process.env.BENCH_BULK_DANGLING
  ? { danglingShards: Number(process.env.BENCH_BULK_DANGLING), liveShards: INCIDENT.liveShards }
  : INCIDENT;

export async function benchBulkRepair(outDir = join(__dirname)): Promise<void> {
  await repairAllSafe(outDir, null);
  const dir = mkdtempSync(join(tmpdir(), 'bench-journal-'));
  try {
    const journal = join(dir, 'repairs.jsonl');
    const total = await repairAllSafe(outDir, journal);
    const mb = statSync(journal).size / 1e6;
    console.log(
      `bulk-repair: with the journal on: command → 0 problems in ${total.toFixed(0)} ms; the journal holds ${mb.toFixed(1)} MB ` +
        `(${((mb * 1e6) / SIZE.danglingShards).toFixed(0)} B per deleted shard)`,
    );
    const how =
      SIZE === INCIDENT
        ? {}
        : { note: `${SIZE.danglingShards.toLocaleString('en-US')} dangling shards, not the incident's`, smaller: true };
    recordFigure('Repair All Safe, language server, journal on', total / 1000, how);
    recordFigure('journal size', mb, how);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One Repair All Safe on a fresh incident and a fresh language server, journalled to `journal` (null: not); its time in ms. */
async function repairAllSafe(outDir: string, journal: string | null): Promise<number> {
  const sim = await startSim(outDir);
  let server: Awaited<ReturnType<typeof startLanguageServer>> | undefined;
  try {
    const { url, token } = sim;
    const control = await ClusterClient.connect({ url, token, clientName: 'bench', requestTimeoutMs: 600_000 });
    await control.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1, size: SIZE });
    control.close();

    const started = performance.now();
    const logs: string[] = [];
    const diagnostics = new Map<string, number>();
    server = await startLanguageServer(outDir, { window: { workDoneProgress: true } }, (conn) => {
      conn.onNotification(
        'window/logMessage',
        (p: { message: string }) => void logs.push(`${(performance.now() - started).toFixed(0).padStart(7)} ms ${p.message}`),
      );
      conn.onNotification(
        'textDocument/publishDiagnostics',
        (p: PublishDiagnosticsParams) => void diagnostics.set(p.uri, p.diagnostics.length),
      );
      conn.onRequest('window/workDoneProgress/create', () => null);
    });
    const { conn } = server;
    if (journal) await conn.sendRequest(LspMethods.setJournal, { path: journal });
    let t = performance.now();
    const info = (await conn.sendRequest(LspMethods.connect, { name: 'big', url, token })) as ClusterInfo;
    console.log(
      `bulk-repair: connected and synced ${Object.values(info.status?.counts ?? {})
        .reduce((a, b) => a + b, 0)
        .toLocaleString('en-US')} entities in ${ms(t)}`,
    );

    const mark = logs.length;
    const cpu = () => [cpuSeconds(server!.process.pid), cpuSeconds(sim.process.pid)];
    const cpuBefore = cpu();
    t = performance.now();
    const result = (await conn.sendRequest('workspace/executeCommand', {
      command: LspCommands.applyAllSafe,
      arguments: [{ cluster: 'big' }],
    })) as ApplyRepairResult;
    const total = performance.now() - t;
    const [serverCpu, simCpu] = cpu().map((s, i) => (s === undefined || cpuBefore[i] === undefined ? undefined : s - cpuBefore[i]!));
    const problems = [...diagnostics.values()].reduce((a, b) => a + b, 0);
    const how = journal ? 'with the journal on' : 'bare (no journal)';
    console.log(`bulk-repair: Repair All Safe, ${how}: ${result.summary}`);
    console.log(
      `bulk-repair: command → 0 problems (${problems} left) in ${total.toFixed(0)} ms; applied ${result.applied.toLocaleString('en-US')} (${Math.round(result.applied / (total / 1000)).toLocaleString('en-US')}/s)`,
    );
    if (serverCpu !== undefined && simCpu !== undefined) {
      console.log(
        `bulk-repair: CPU during the command: language server ${serverCpu.toFixed(1)} s, simulator ${simCpu.toFixed(1)} s (they overlap: the wall clock is at least the larger)`,
      );
    }
    for (const line of logs.slice(mark).filter((l) => /checked|repair .* →|resync|events up to/.test(l))) console.log(`  ${line}`);
    await conn.sendRequest('shutdown');
    // A clean exit, so that a server run with BENCH_NODE_ARGS=--cpu-prof writes its profile.
    const exited = new Promise((resolve) => server!.process.once('exit', resolve));
    void conn.sendNotification('exit');
    await exited;
    conn.dispose();
    return total;
  } finally {
    server?.process.kill();
    sim.process.kill();
  }
}
