/**
 * Spawns the real simulator (`out/cluster-sim.js --port 0`) and reads its
 * address and token from stdout. Shared by the server and CLI tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ClusterClient } from '../../src/cluster/client';
import { keepChildOutput, testSecret } from '../secrets';

export const ROOT = join(__dirname, '..', '..', '..');
export const OUT = join(ROOT, 'out');

export interface RunningSim {
  url: string;
  token: string;
  process: ChildProcess;
  /** Resolves with how the process ended ("exited 0", "exited SIGABRT"). */
  exited: Promise<string>;
  /** A control client (sim.* and reads), opened on first use. */
  client(): Promise<ClusterClient>;
  stop(): Promise<void>;
}

/**
 * `nodeArgs` go to node itself, e.g. `--max-old-space-size=256` to run the simulator in a small heap.
 * Without `--token` in `args` the simulator gets a test secret (test/secrets.ts), so that a whole test
 * run can be searched for it; `generatedToken` lets it choose and print one of its own instead.
 */
export async function startSim(
  args: string[] = [],
  deadlineMs = 30_000,
  opts: { nodeArgs?: string[]; generatedToken?: boolean } = {},
): Promise<RunningSim> {
  if (!opts.generatedToken && !args.some((a) => a === '--token' || a.startsWith('--token=')))
    args = [...args, '--token', testSecret('sim')];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(OUT, 'cluster-sim.js'), '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  keepChildOutput(child, 'sim');
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`exited ${code ?? signal}`)));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill(); // never leave a simulator behind: it would keep mocha alive
      reject(new Error(`simulator did not start within ${deadlineMs} ms: ${out}${err}`));
    }, deadlineMs);
    // The simulator prints its token only when it chose one itself.
    const given = args.includes('--token')
      ? args[args.indexOf('--token') + 1]
      : args.find((a) => a.startsWith('--token='))?.slice('--token='.length);
    child.stdout!.on('data', (d) => {
      out += d;
      const url = /listening (ws:\/\/\S+)/.exec(out)?.[1];
      const token = given ?? /token: (\S+)/.exec(out)?.[1];
      if (url && token) {
        clearTimeout(timer);
        resolve({ url, token });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited (${code}) before listening: ${out}${err}`));
    });
  });
  let control: Promise<ClusterClient> | null = null;
  return {
    url,
    token,
    process: child,
    exited,
    client: () => (control ??= ClusterClient.connect({ url, token, clientName: 'test-control' })),
    stop: async () => {
      if (control) (await control.catch(() => null))?.close();
      if (child.exitCode !== null || child.signalCode !== null) return; // already gone (killed by a test, say)
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
    },
  };
}
