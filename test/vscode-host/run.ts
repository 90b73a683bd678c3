// Runs the integration suite (test/integration, the same one @vscode/test-electron runs) inside a
// real VS Code extension host: code-server serves VS Code 1.100.3, headless Chromium opens the
// workbench with a test `payload`, and the suite's output and exit code come back through
// `codeAutomationLog` / `codeAutomationExit`. How and why: docs/vscode-host.md.
//
// Usage: node out/test/vscode-host/run.js [--vsix PATH] [--workspace DIR] [--extension DIR]
//          [--tests FILE] [--timeout SECONDS]
//   --vsix PATH       install this packaged extension first and test it, not the source tree
//   --workspace DIR   copy DIR to a fresh folder and open it (default: an empty folder)
//   --extension DIR   the extension under development (default: the repo root; ignored with --vsix)
//   --tests FILE      the suite's index.js (default: out/test/integration/index.js)
//   --timeout SECONDS the whole run's deadline (default 300)
// Exit code: the suite's (0 = all passed); 2 when the harness itself failed or timed out.
import { cpSync, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { format } from 'node:util';
import { launchBrowser, type BrowserSession } from './browser';
import { CodeServer, tail } from './codeServer';
import { assertHostInstalled, newRunDir, repoRoot } from './paths';

interface Options {
  vsix?: string;
  workspace?: string;
  extension: string;
  tests: string;
  timeoutSec: number;
}

const HARNESS_FAILURE = 2;

/** Workbench start-up messages (VS Code 1.100.3) that say nothing about the suite. */
const workbenchChatter = new RegExp(
  [
    '^Resolving connection token',
    '^Resolved connection token',
    '^Creating a socket',
    '^Ignoring fetching additional builtin extensions',
    '^Updating additional builtin extensions cache',
    '^\\[Service Worker\\]',
    '^ChatSessionStore:',
  ].join('|'),
);

function usage(message: string): never {
  console.error(`vscode-host: ${message}`);
  console.error('usage: run.js [--vsix PATH] [--workspace DIR] [--extension DIR] [--tests FILE] [--timeout SECONDS]');
  process.exit(HARNESS_FAILURE);
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    extension: repoRoot,
    tests: join(repoRoot, 'out', 'test', 'integration', 'index.js'),
    timeoutSec: 300,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => argv[++i] ?? usage(`${flag} needs a value`);
    switch (flag) {
      case '--vsix':
        opts.vsix = resolve(value());
        break;
      case '--workspace':
        opts.workspace = resolve(value());
        break;
      case '--extension':
        opts.extension = resolve(value());
        break;
      case '--tests':
        opts.tests = resolve(value());
        break;
      case '--timeout': {
        opts.timeoutSec = Number(value());
        if (!(opts.timeoutSec > 0)) usage('--timeout must be a positive number of seconds');
        break;
      }
      default:
        usage(`unknown argument ${flag}`);
    }
  }
  if (opts.vsix && !existsSync(opts.vsix)) usage(`no such VSIX: ${opts.vsix} (build it with: npm run package)`);
  if (opts.workspace && !(existsSync(opts.workspace) && statSync(opts.workspace).isDirectory())) {
    usage(`--workspace ${opts.workspace} is not a folder`);
  }
  if (!existsSync(opts.tests)) usage(`no test suite at ${opts.tests} (build it with: npm run build)`);
  if (!opts.vsix && !existsSync(join(opts.extension, 'package.json'))) {
    usage(`--extension ${opts.extension} has no package.json`);
  }
  return opts;
}

const step = (msg: string) => console.error(`[vscode-host] ${msg}`);

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  assertHostInstalled();
  const started = Date.now();
  const runDir = newRunDir('vscode-host');
  step(`run folder: ${runDir}`);

  const workspace = join(runDir, 'workspace');
  if (opts.workspace) cpSync(opts.workspace, workspace, { recursive: true });
  else mkdirSync(workspace, { recursive: true });

  let server: CodeServer | undefined;
  let session: BrowserSession | undefined;
  let stage = 'starting code-server';
  let cleaningUp: Promise<void> | undefined;
  const cleanup = () =>
    (cleaningUp ??= (async () => {
      await session?.close();
      await server?.stop();
    })());

  const screenshot = async (name: string) => {
    if (!session) return;
    const file = join(runDir, name);
    try {
      await session.page.screenshot({ path: file, timeout: 10_000 });
      step(`screenshot: ${file}`);
    } catch (err) {
      step(`could not take screenshot ${name}: ${(err as Error).message}`);
    }
  };

  // One deadline for the whole run, so a hung workbench or suite never hangs CI.
  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadline = new Promise<number>((res) => {
    deadlineTimer = setTimeout(async () => {
      step(`TIMEOUT: no result after ${opts.timeoutSec} s while ${stage}. Stopping code-server and Chromium.`);
      await screenshot('timeout.png');
      if (server) step(`code-server log (${server.logFile}):\n${tail(server.logFile)}`);
      res(HARNESS_FAILURE);
    }, opts.timeoutSec * 1000);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      step(`${signal}: stopping code-server and Chromium`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const run = async (): Promise<number> => {
    server = await CodeServer.start({ runDir, vsix: opts.vsix, log: step });

    // With --vsix, the development "extension" is a folder holding only the tests, so the
    // installed VSIX, not the source tree, is what the suite exercises.
    const devPath = opts.vsix ? dirname(opts.tests) : opts.extension;
    const payload: Array<[string, string]> = [
      ['extensionDevelopmentPath', server.remoteUri(devPath)],
      ['extensionTestsPath', server.remoteUri(opts.tests)],
      ['skipWelcome', 'true'],
    ];

    stage = 'starting Chromium';
    session = await launchBrowser();
    const { page } = session;
    // The workbench's own console: not test output, but the first place to look when it fails.
    const consoleLog = createWriteStream(join(runDir, 'browser-console.log'));
    page.on('console', (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => consoleLog.write(`[pageerror] ${e.message}\n`));

    const hostLog = createWriteStream(join(runDir, 'automation.log'));
    const exitCode = new Promise<number>((res) => {
      // The extension host's console (the mocha reporter) arrives as unformatted arguments,
      // mixed with the workbench's own log at the same level: everything goes to automation.log,
      // and stdout gets all of it but the workbench's start-up chatter.
      void page.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
        const text = format(...(Array.isArray(args) ? args : [args]));
        hostLog.write(`[${type}] ${text}\n`);
        if (!workbenchChatter.test(text)) process.stdout.write(text + '\n');
      });
      void page.exposeFunction('codeAutomationExit', (code: number) => res(Number(code) || 0));
    });

    stage = 'loading the workbench';
    step(`opening the workbench (extension: ${opts.vsix ?? devPath}, tests: ${opts.tests})`);
    await page.goto(server.workbenchUrl(workspace, payload), { waitUntil: 'domcontentloaded' });
    stage = 'running the test suite';
    const code = await exitCode;
    await screenshot(code === 0 ? 'final.png' : 'failure.png');
    return code;
  };

  let code: number;
  try {
    code = await Promise.race([run(), deadline]);
  } catch (err) {
    step(`FAILED while ${stage}: ${(err as Error).message}`);
    await screenshot('failure.png');
    code = HARNESS_FAILURE;
  } finally {
    clearTimeout(deadlineTimer);
  }
  await cleanup();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  step(code === 0 ? `suite passed in ${secs} s` : `suite FAILED (exit code ${code}) after ${secs} s; artifacts in ${runDir}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[vscode-host] ${(err as Error).message}`);
    process.exit(HARNESS_FAILURE);
  },
);
