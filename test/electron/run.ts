// Runs the integration suite (test/integration) in desktop VS Code through @vscode/test-electron,
// the way extension authors expect. It downloads VS Code, so it needs internet; on a machine
// without it, use the code-server runner instead (npm run test:vscode, test/vscode-host/run.ts).
//
// Usage: node out/test/electron/run.js [--version stable|insiders|1.91.0]
//   --version  the VS Code to download (default: stable; also try the engines.vscode minimum)
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runTests, TestRunFailedError } from '@vscode/test-electron';

const repoRoot = resolve(__dirname, '..', '..', '..'); // out/test/electron → repo root

function versionArg(argv: string[]): string {
  const i = argv.indexOf('--version');
  return i >= 0 && argv[i + 1] ? argv[i + 1] : 'stable';
}

async function main(): Promise<number> {
  const version = versionArg(process.argv.slice(2));
  // A fresh copy of the fixture workspace, so no run sees another's leftovers.
  const workspace = mkdtempSync(join(tmpdir(), 'cluster-debugger-ws-'));
  cpSync(join(repoRoot, 'test', 'vscode-host', 'workspace'), workspace, { recursive: true });
  try {
    return await runTests({
      version,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: join(repoRoot, 'out', 'test', 'integration', 'index.js'),
      // Only our extension: other installed extensions would change what the suite sees.
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (err instanceof TestRunFailedError) {
      console.error(`test:electron: the integration suite failed (${msg})`);
    } else {
      console.error(
        `test:electron: could not download or start VS Code ${version} (${msg.split('\n')[0]}). ` +
          'It needs internet access; offline, run the same suite in code-server: npm run test:vscode',
      );
    }
    return 1;
  }
}

main().then((code) => process.exit(code));
