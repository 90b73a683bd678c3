// The integration suite's entry point inside the VS Code extension host, in the shape
// @vscode/test-electron and code-server's test payload both expect: `run()` resolves when every
// test passed and rejects otherwise. Used by test/electron/run.ts and test/vscode-host/run.ts.
//
// The build bundles each test file on its own to out/test/integration/*.test.js, next to this
// file's bundle, so the suite is "every *.test.js in this folder".
// MOCHA_GREP (environment of the editor/code-server process) narrows the run while debugging.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 120_000 });
  if (process.env.MOCHA_GREP) mocha.grep(process.env.MOCHA_GREP);

  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  if (files.length === 0) {
    return Promise.reject(new Error(`no *.test.js files in ${__dirname}; run the build first (npm run build)`));
  }
  for (const f of files) mocha.addFile(join(__dirname, f));

  return new Promise((resolve, reject) => {
    try {
      mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
    } catch (err) {
      // A test file that throws while loading: report it as a failure, not a hang.
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
