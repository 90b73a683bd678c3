/**
 * The language server in another editor: Neovim's built-in LSP client (Debian's
 * `neovim`, 0.7.2) runs test/neovim/quickfix.lua headless against the real
 * server (`node out/server.js --stdio`) and the real simulator. It reads the
 * diagnostics of a snapshot file and of a live cluster's document, runs the
 * preferred quick fix the way `vim.lsp.buf.code_action()` does
 * (`workspace/executeCommand` with the action's command), and waits for the
 * diagnostic to go away.
 *
 * `npm run test:unit` installs neovim first (scripts/setup-test-deps.sh).
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LspCommands } from '../../src/protocol';
import { OUT, ROOT, startSim, type RunningSim } from '../server/sim';
import { removeTestDir } from '../secrets';

const NVIM = process.env.NVIM_BIN ?? 'nvim';
const SCRIPT = join(ROOT, 'test', 'neovim', 'quickfix.lua');
/** Each wait inside the script; the whole run gets a few of them. */
const STEP_DEADLINE_MS = 20_000;
const RUN_DEADLINE_MS = 90_000;

interface Report {
  ok: boolean;
  error?: string;
  steps: string[];
  executeCommandProvider?: { commands: string[] };
  connect_state?: string;
  live_codes_before?: string[];
  file_codes?: string[];
  file_actions?: number;
  live_actions?: Array<{ title: string; command?: string; preferred: boolean; disabled: boolean }>;
  executed?: {
    command: string;
    err?: { code: number; message: string };
    result?: { ok: boolean; applied: number; resolved: boolean; summary: string };
  };
  live_codes_after?: string[];
}

/** Why nvim cannot run here, or undefined when it can. */
function nvimMissing(): string | undefined {
  const r = spawnSync(NVIM, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    return (
      `cannot run ${NVIM} (${r.error?.message ?? `exit ${r.status}`}): this test needs Neovim 0.7+ on PATH. ` +
      'Install it with `bash scripts/setup-test-deps.sh` (Debian: apt-get install neovim; npm run test:unit does this as root), or set NVIM_BIN.'
    );
  }
  const version = /NVIM v(\d+)\.(\d+)/.exec(r.stdout);
  if (!version || (Number(version[1]) === 0 && Number(version[2]) < 7))
    return `this test needs Neovim 0.7 or newer; ${NVIM} --version says: ${r.stdout.split('\n')[0]}`;
  return undefined;
}

describe('Neovim as the LSP client (nvim --headless)', function () {
  this.timeout(RUN_DEADLINE_MS + 30_000);
  let sim: RunningSim | undefined;
  let work: string;

  before(function () {
    const why = nvimMissing();
    if (why) throw new Error(why);
  });
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'cd-nvim-'));
  });
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
    removeTestDir(work);
  });

  it('shows the snapshot file and live cluster diagnostics, offers no disabled fix, and its quick fix repairs the cluster', async () => {
    sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1']);
    // Neovim's state, cache and LSP log stay in the scratch folder.
    const xdg = join(work, 'xdg');
    mkdirSync(xdg);
    const { code, output } = await runNvim({
      CD_NODE: process.execPath,
      CD_SERVER: join(OUT, 'server.js'),
      CD_SIM_URL: sim.url,
      CD_SIM_TOKEN: sim.token,
      CD_WORK: work,
      CD_DEADLINE_MS: String(STEP_DEADLINE_MS),
      XDG_CONFIG_HOME: xdg,
      XDG_DATA_HOME: xdg,
      XDG_CACHE_HOME: xdg,
      XDG_STATE_HOME: xdg,
    });
    let report: Report;
    try {
      report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as Report;
    } catch (e) {
      throw new Error(`nvim exited ${code} without a report (${(e as Error).message}); its output:\n${output}`, { cause: e });
    }
    assert.ok(report.ok, `the Neovim script failed: ${report.error}\nits output:\n${output}`);
    assert.equal(code, 0, output);

    assert.deepEqual(report.executeCommandProvider?.commands.sort(), Object.values(LspCommands).sort());
    assert.equal(report.connect_state, 'live');
    assert.ok(report.live_codes_before?.includes('shards/dangling'), `live diagnostics: ${report.live_codes_before}`);
    assert.ok(report.file_codes?.includes('shards/dangling'), `snapshot file diagnostics: ${report.file_codes}`);
    // Repairs of a snapshot file are disabled, and Neovim 0.7 does not declare disabledSupport.
    assert.equal(report.file_actions, 0, 'no code action for the snapshot file');
    const offered = report.live_actions ?? [];
    assert.ok(offered.length > 0);
    for (const a of offered) {
      assert.equal(a.disabled, false, `disabled action sent to a client without disabledSupport: ${a.title}`);
      assert.ok(
        report.executeCommandProvider?.commands.includes(a.command ?? ''),
        `"${a.title}" names ${a.command}, which the server does not execute`,
      );
    }
    assert.equal(report.executed?.command, LspCommands.applyRepair);
    assert.equal(report.executed?.result?.ok, true, report.executed?.result?.summary);
    assert.ok((report.executed?.result?.applied ?? 0) > 0);
    assert.equal(report.executed?.result?.resolved, true);
    assert.ok(!report.live_codes_after?.includes('shards/dangling'));
  });
});

function runNvim(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NVIM, ['--headless', '--clean', '-u', 'NONE', '-n', '-c', `luafile ${SCRIPT}`], {
      cwd: env.CD_WORK,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nvim did not finish within ${RUN_DEADLINE_MS} ms; its output:\n${output}`));
    }, RUN_DEADLINE_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
