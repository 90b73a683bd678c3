/** Runs the real `cluster-check` bundle (or another of out/, `bin`) as a user would, collecting stdout, stderr and the exit code. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { OUT } from '../server/sim';
import { keepChildOutput } from '../secrets';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}, deadlineMs = 60_000, bin = 'cluster-check'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(OUT, `${bin}.js`), ...args], {
      env: { ...process.env, CLUSTER_SIM_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    keepChildOutput(child, bin);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${bin} ${args.join(' ')} did not exit within ${deadlineMs} ms`));
    }, deadlineMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
