/**
 * What the benches that go through real processes share: the simulator
 * (`cluster-sim.js --port 0`, its address read from stdout) and the language
 * server (`server.js --stdio`, initialized over JSON-RPC), both from `outDir`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';

/** quickwit #5008: 763,471 shards in the metastore, ~3,000 of them known to the control plane. */
export const INCIDENT = { danglingShards: 763_471 - 3_000, liveShards: 3_000 };

/**
 * Node options for the processes a bench starts, from `BENCH_NODE_ARGS` (space-separated), e.g.
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof"` to profile the simulator and the language
 * server (`NODE_OPTIONS` does not take `--cpu-prof`).
 */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

/**
 * CPU seconds (user + system) a process has used so far, from `/proc/PID/stat`; undefined where
 * there is none. On a shared machine, what a process spent is steadier than the wall clock.
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** `getconf CLK_TCK`: 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

/** Milliseconds since `t` (a `performance.now()`), for printing. */
export function ms(t: number): string {
  return `${(performance.now() - t).toFixed(0)} ms`;
}

/** Starts `cluster-sim --scenario healthy`; kill `process` when done. */
export async function startSim(outDir: string): Promise<{ process: ChildProcess; url: string; token: string }> {
  const sim = spawn(process.execPath, [...NODE_ARGS, join(outDir, 'cluster-sim.js'), '--port', '0', '--scenario', 'healthy'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const address = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    let out = '';
    sim.stdout.on('data', (d) => {
      out += d;
      const url = /listening (ws:\/\/\S+)/.exec(out)?.[1];
      const token = /token: (\S+)/.exec(out)?.[1];
      if (url && token) resolve({ url, token });
    });
    sim.once('exit', (code) => reject(new Error(`cluster-sim exited (${code}): ${out}`)));
  });
  return { process: sim, ...address };
}

/**
 * Starts the language server and initializes it with `capabilities`; `handle`
 * registers the bench's notification and request handlers before it listens.
 * Kill `process` when done.
 */
export async function startLanguageServer(
  outDir: string,
  capabilities: object,
  handle: (conn: MessageConnection) => void,
  options: { inspect?: boolean } = {},
): Promise<{ process: ChildProcess; conn: MessageConnection; inspector?: Inspector }> {
  const flags = options.inspect ? ['--inspect=127.0.0.1:0'] : [];
  const server = spawn(process.execPath, [...NODE_ARGS, ...flags, join(outDir, 'server.js'), '--stdio'], {
    stdio: ['pipe', 'pipe', options.inspect ? 'pipe' : 'inherit'],
  });
  const inspector = options.inspect ? await Inspector.attach(server) : undefined;
  const conn = createMessageConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  handle(conn);
  conn.listen();
  await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities });
  await conn.sendNotification('initialized', {});
  return { process: server, conn, inspector };
}

/** A process's memory after a full GC, in bytes (`process.memoryUsage()`). */
export interface MemoryAfterGc {
  rss: number;
  heapUsed: number;
  /** Off the V8 heap: Buffers, ArrayBuffers (typed-array columns live here). */
  external: number;
}

/**
 * The language server's own memory, read through its inspector (`--inspect`,
 * the Chrome DevTools Protocol): a full GC (`HeapProfiler.collectGarbage`),
 * then `process.memoryUsage()` evaluated inside it. The server needs no
 * bench-only request for it.
 */
export class Inspector {
  private nextId = 1;
  private constructor(private readonly ws: WebSocket) {}

  /** Reads the inspector's address from the process's stderr (the rest of stderr is passed through). */
  static async attach(child: ChildProcess): Promise<Inspector> {
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        const text = d.toString();
        err += text;
        const found = /Debugger listening on (ws:\/\/\S+)/.exec(err)?.[1];
        if (found) resolve(found);
        if (!/Debugger (listening|attached)|For help, see/.test(text)) process.stderr.write(text);
      });
      child.once('exit', (code) => reject(new Error(`the process exited (${code}) before its inspector listened: ${err}`)));
    });
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Inspector(ws);
  }

  private send(method: string, params: object = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (data: Buffer) => {
        const msg = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
        if (msg.id !== id) return;
        this.ws.off('message', onMessage);
        if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
        else resolve(msg.result ?? {});
      };
      this.ws.on('message', onMessage);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async memoryAfterGc(): Promise<MemoryAfterGc> {
    // Twice: the first full GC may leave objects that only a second one frees (weak references, finalizers).
    await this.send('HeapProfiler.collectGarbage');
    await this.send('HeapProfiler.collectGarbage');
    const r = await this.send('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const m = JSON.parse((r.result as { value: string }).value) as MemoryAfterGc;
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
  }

  close(): void {
    this.ws.close();
  }
}
