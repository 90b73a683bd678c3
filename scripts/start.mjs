// `npm start`: the main job. Builds everything and the VSIX, says how to install
// it, then runs the bundled cluster simulator with every incident at once.
// Extra arguments go to cluster-sim, e.g. `npm start -- --scale incident`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const pkg = spawnSync(npm, ['run', '--silent', 'package'], { cwd: root, stdio: 'inherit' });
if (pkg.status !== 0) process.exit(pkg.status ?? 1);

const vsix = join(root, 'cluster-debugger.vsix');
if (existsSync(vsix)) {
  console.log(`\nBuilt ${vsix}`);
  console.log(`Install it:  code --install-extension ${vsix}`);
  console.log('Then in VS Code: Command Palette → "Cluster: Start Bundled Simulator".\n');
}
console.log('Starting the bundled simulator (scenario incident-all); Ctrl+C stops it.');
const args = process.argv.slice(2);
const sim = spawn(process.execPath, [join(root, 'out/cluster-sim.js'), '--scenario', 'incident-all', ...args], {
  cwd: root,
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => sim.kill(sig));
sim.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
