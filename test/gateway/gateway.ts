/**
 * Spawns the real gateway (`out/cluster-gateway.js --config FILE --port 0`)
 * with `config` written to a temporary file, and reads its address from
 * stdout. Shared by the gateway tests, as test/server/sim.ts's startSim is by
 * the server tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfigInput } from '../../src/gateway/config';
import { OUT } from '../server/sim';
import { keepChildOutput, removeTestDir } from '../secrets';

export interface RunningGateway {
  url: string;
  process: ChildProcess;
  /** What the gateway printed on stdout so far. */
  stdout(): string;
  /** Everything it printed so far, stdout then stderr. */
  output(): string;
  /** Ends the gateway (if it still runs) and removes its config file. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Passed as `--token`; without it the gateway takes `$CLUSTER_GATEWAY_TOKEN` (see `env`), else prints a random one. */
  token?: string;
  /** Added to the gateway's environment. */
  env?: NodeJS.ProcessEnv;
  deadlineMs?: number;
}

export async function startGateway(config: GatewayConfigInput, opts: GatewayOptions = {}): Promise<RunningGateway> {
  const deadlineMs = opts.deadlineMs ?? 30_000;
  const dir = mkdtempSync(join(tmpdir(), 'cluster-gateway-test-'));
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify(config));
  const args = [
    join(OUT, 'cluster-gateway.js'),
    '--config',
    file,
    '--port',
    '0',
    ...(opts.token === undefined ? [] : ['--token', opts.token]),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  keepChildOutput(child, 'gateway');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill();
      await exited;
    }
    removeTestDir(dir);
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cluster-gateway did not listen within ${deadlineMs} ms: ${out}${err}`)), deadlineMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (ws:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`cluster-gateway exited (${code ?? signal}) before listening: ${out}${err}`));
    });
  }).catch(async (e: unknown) => {
    await stop(); // never leave a gateway behind: it would keep mocha alive
    throw e;
  });
  return { url, process: child, stdout: () => out, output: () => out + err, stop };
}
