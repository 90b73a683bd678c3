// The bundled simulator as a child process (the real out/cluster-sim.js from the extension's own
// folder), and the didChange batcher. Both modules are pure Node; they run here because this is
// where the extension runs them.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { ChangeBatcher, PendingChanges } from '../../src/extension/languageServer/batcher';
import { BundledSimulator } from '../../src/extension/processes/simulator';
import { EXTENSION_ID } from './helpers';

const lines: string[] = [];
const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('BundledSimulator', () => {
  it('starts out/cluster-sim.js on a loopback port with a fresh token, and stops it', async () => {
    const script = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'out', 'cluster-sim.js');
    const a = await BundledSimulator.start({ script, scenario: 'healthy', log });
    const b = await BundledSimulator.start({ script, scenario: 'healthy', log });
    try {
      assert.match(a.url, /^ws:\/\/127\.0\.0\.1:\d+/);
      assert.notEqual(a.url, b.url, 'each on its own free port');
      assert.ok(a.token.length >= 40, 'a long random token');
      assert.notEqual(a.token, b.token, 'fresh per start');
      assert.ok(a.running && alive(a.pid!));
      if (process.platform === 'linux') {
        const cmdline = readFileSync(`/proc/${a.pid}/cmdline`, 'utf8');
        assert.ok(!cmdline.includes(a.token), 'the token is not on the command line, where other users could read it');
      }
    } finally {
      await a.stop();
      await b.stop();
    }
    assert.ok(!a.running && !alive(a.pid!), 'stopped means the process is gone');
  });

  it('fails with the reason and the stderr when the simulator exits before listening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-sim-'));
    const script = join(dir, 'bad-sim.js');
    writeFileSync(script, 'console.error("cannot bind 127.0.0.1: EADDRINUSE"); process.exit(3);');
    await assert.rejects(BundledSimulator.start({ script, scenario: 'healthy', log }), (err: Error) => {
      assert.match(err.message, /did not start: it exited \(code 3\)/);
      assert.match(err.message, /EADDRINUSE/);
      return true;
    });
  });

  it('gives up after its deadline when no "listening" line comes, and kills the process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mute-sim-'));
    const script = join(dir, 'mute-sim.js');
    writeFileSync(script, 'console.log(`pid ${process.pid}`); setInterval(() => {}, 1000);');
    await assert.rejects(
      BundledSimulator.start({ script, scenario: 'healthy', log, startTimeoutMs: 1500 }),
      /no "listening ws:\/\/…" line within 1.5 s/,
    );
    const pid = Number(
      lines
        .map((l) => /\[simulator\] pid (\d+)$/.exec(l)?.[1])
        .filter(Boolean)
        .pop(),
    );
    assert.ok(pid > 0, 'the stand-in printed its pid');
    // The SIGKILL is sent synchronously with the rejection; the exit follows promptly.
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(!alive(pid), 'the process was killed');
  });
});

describe('ChangeBatcher', () => {
  it('coalesces a burst of notifications into one refresh per cluster, with every subsystem', async () => {
    const flushes: PendingChanges[] = [];
    let done!: () => void;
    const flushed = new Promise<void>((r) => (done = r));
    const batcher = new ChangeBatcher((c) => {
      flushes.push(c);
      done();
    }, 50);
    for (let i = 0; i < 100; i++) batcher.add('sim', [i % 2 ? 'shards' : 'wal']);
    batcher.add('other', ['ddl']);
    await flushed;
    assert.equal(flushes.length, 1);
    assert.deepEqual([...flushes[0].get('sim')!].sort(), ['shards', 'wal']);
    assert.deepEqual([...flushes[0].get('other')!], ['ddl']);
    batcher.dispose();
  });
});
