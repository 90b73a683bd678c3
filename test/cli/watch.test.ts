/**
 * `cluster-check URL --watch` as a pager would run it: the real bundle against the real simulator,
 * its stdout read line by line as it comes. A repair resolves a finding, a reset resolves the
 * rest, a simulator that is gone ends the watch (exit 2) after its retries, a signal ends it (exit 0).
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { INCIDENT_RULES } from '../scenarioRules';
import { OUT, startSim, type RunningSim } from '../server/sim';
import { cli } from './cliProcess';
import type { WatchEvent, WatchLine, WatchSynced } from '../../src/cli/watch-events';

/** A running `cluster-check --watch`: its lines as they come, waited on with deadlines. */
class Watch {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private wake: (() => void)[] = [];

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.wake.splice(0)) w();
    });
    child.stderr.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** The index of the first line from `from` on that `test` accepts; fails after `deadlineMs` (or at exit) with what came. */
  async text(test: (line: string) => boolean, what: string, from = 0, deadlineMs = 30_000): Promise<number> {
    const deadline = Date.now() + deadlineMs;
    let gone = false;
    void this.exited.then(() => {
      gone = true;
      for (const w of this.wake.splice(0)) w();
    });
    for (let i = from; ;) {
      for (; i < this.lines.length; i++) if (test(this.lines[i])) return i;
      const left = deadline - Date.now();
      if (left <= 0 || gone)
        throw new Error(
          `no ${what} ${gone ? 'before the watch exited' : `within ${deadlineMs} ms`}; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first JSON line from `from` on that `test` accepts, and its index. */
  async line<T = WatchLine>(test: (line: T) => boolean, what: string, from = 0, deadlineMs = 30_000): Promise<{ line: T; index: number }> {
    const index = await this.text((l) => test(JSON.parse(l) as T), what, from, deadlineMs);
    return { line: JSON.parse(this.lines[index]) as T, index };
  }

  /** The exit code, or a failure after `deadlineMs`. */
  async exit(deadlineMs = 30_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the watch did not exit within ${deadlineMs} ms; stderr: ${this.stderr}`)), deadlineMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

describe('cluster-check --watch (real CLI, real simulator)', function () {
  this.timeout(90_000);
  const sims: RunningSim[] = [];
  const watches: Watch[] = [];
  afterEach(async () => {
    for (const w of watches.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    for (const s of sims.splice(0)) await s.stop();
  });
  async function sim(scenario: string): Promise<RunningSim> {
    const s = await startSim(['--scenario', scenario, '--seed', '1']);
    sims.push(s);
    return s;
  }
  function watch(s: RunningSim, args: string[]): Watch {
    const child = spawn(process.execPath, [join(OUT, 'cluster-check.js'), s.url, '--watch', ...args], {
      env: { ...process.env, CLUSTER_SIM_TOKEN: s.token, NO_COLOR: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const w = new Watch(child);
    watches.push(w);
    return w;
  }

  it('prints the findings, a repair resolves one, a reset the rest; a simulator gone for good ends it with exit 2', async () => {
    const s = await sim('incident-all');
    const w = watch(s, ['--format', 'jsonl', '--retries', '2', '--retry-delay', '20']);
    const { line: synced, index } = await w.line<WatchSynced>((l) => l.event === 'synced', 'synced line');
    const first = w.lines.slice(0, index).map((l) => JSON.parse(l) as WatchEvent);
    assert.equal(synced.findings, first.length);
    assert.ok(first.every((e) => e.event === 'appeared' && e.cluster === 'sim' && !Number.isNaN(Date.parse(e.at))));
    assert.deepEqual([...new Set(first.map((e) => e.rule))].sort(), INCIDENT_RULES);
    const dangling = first.find((e) => e.rule === 'shards/dangling')!;
    assert.ok(dangling.count > 0 && dangling.facts.length > 0 && dangling.facts.every((f) => typeof f.says === 'string'));
    assert.ok(
      first.some((e) => e.facts.some((f) => typeof f.since === 'number')),
      'facts carry their entity times',
    );

    // Another client repairs the dangling shards (the CLI's own repair): the watch says they are resolved.
    const repair = await cli([s.url, '--repair', 'shards/dangling', '--yes'], { CLUSTER_SIM_TOKEN: s.token });
    assert.equal(repair.code, 1, repair.stdout + repair.stderr); // the other incidents remain
    const { line: resolved, index: at } = await w.line<WatchEvent>((l) => l.event === 'resolved', 'resolved line', index + 1);
    assert.equal(resolved.id, dangling.id);
    assert.equal(resolved.count, dangling.count);

    // The cluster is replaced by a healthy one: every other finding is resolved, each once.
    await (await s.client()).request('sim.reset', { scenario: 'healthy' });
    const others = first.filter((e) => e.id !== dangling.id).map((e) => e.id);
    const seen = new Set<string>();
    await w.line<WatchLine>(
      (l) => {
        if (l.event === 'resolved') seen.add(l.id);
        return others.every((id) => seen.has(id));
      },
      'resolved line for every other finding',
      at + 1,
    );
    const after = w.lines.slice(index + 1).map((l) => JSON.parse(l) as WatchLine);
    const resolvedIds = after.filter((l) => l.event === 'resolved').map((l) => (l as WatchEvent).id);
    assert.equal(resolvedIds.length, new Set(resolvedIds).size, 'each finding is resolved once');
    assert.ok(!after.some((l) => l.event === 'appeared'), w.lines.join('\n'));

    // The simulator dies: after 2 reconnect attempts the watch gives up, exit 2, one line on stderr says why.
    s.process.kill('SIGKILL');
    assert.equal(await w.exit(), 2, w.stderr);
    assert.match(w.stderr, /gave up after 2 reconnect attempts/);
    assert.ok(!w.stderr.includes(s.token) && !w.lines.join('\n').includes(s.token), 'no token in any output');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} ends the watch with exit 0; text lines, uncoloured into a pipe`, async () => {
      const s = await sim('quickwit-dangling-shards');
      const w = watch(s, []);
      await w.text((l) => / synced sim: \d+ findings?; watching for changes$/.test(l), 'synced line');
      assert.ok(
        w.lines.some((l) => /^\S+ appeared error shards\/dangling ×\d/.test(l)),
        w.lines.join('\n'),
      );
      assert.ok(!w.lines.join('\n').includes('\x1b'), 'no colour into a pipe');
      w.child.kill(signal);
      assert.equal(await w.exit(), 0, w.stderr);
    });
  }

  it('refuses what does not go with --watch (exit 2, one line)', async () => {
    for (const args of [
      ['snap.clustersnap', '--watch'],
      ['ws://127.0.0.1:1', '--watch', '--format', 'json'],
      ['ws://127.0.0.1:1', '--watch', '--repair', 'all', '--yes'],
      ['ws://127.0.0.1:1', '--format', 'jsonl'],
      ['ws://127.0.0.1:1', '--retries', '3'],
      ['ws://127.0.0.1:1', '--watch', '--retries', 'many'],
    ]) {
      const run = await cli(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.equal(run.stdout, '');
    }
    // A cluster that is not there at the start: no retries, exit 2 at once.
    const gone = await cli(['ws://127.0.0.1:1', '--watch', '--format', 'jsonl']);
    assert.equal(gone.code, 2, gone.stderr);
    assert.match(gone.stderr, /^cluster-check: cannot watch ws:\/\/127\.0\.0\.1:1: /);
  });
});
