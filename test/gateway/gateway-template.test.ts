// The commented config template the extension's "Create cluster-gateway.json" writes: generated
// from the schema, committed, shipped, and read by the gateway as it is (comments included).
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATEWAY_CONFIG_DESCRIPTIONS, GatewayConfig } from '../../src/gateway/config';
import { CLUSTER_NAME_EXAMPLE, gatewayConfigTemplate, parseConfigText, SECTION_EXAMPLES } from '../../src/gateway/template';
import { stripJsonComments } from '../../src/protocol/jsonc';
import { removeTestDir, testSecret } from '../secrets';

/** The gateway's token (test/secrets.ts: a whole test run is searched for it). */
const TOKEN = testSecret('gateway');

// Bundled to out/test/gateway/; the repository root is three levels up.
const ROOT = join(__dirname, '..', '..', '..');
const TEMPLATE = 'schemas/cluster-gateway.template.jsonc';

/** The template with one section's commented lines uncommented. */
function uncomment(text: string, section: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`  // "${section}": `));
  assert.ok(start >= 0, `the template has a commented "${section}" section`);
  let end = start;
  // The section's closing line (nested objects close further in).
  while (end < lines.length && lines[end] !== '  // },') end++;
  for (let i = start; i <= end; i++) lines[i] = `  ${lines[i]!.slice('  // '.length)}`;
  return lines.join('\n');
}

describe('gateway config template', () => {
  it('is committed as generated (regenerate: npm run gateway-schema), and shipped in the VSIX', () => {
    assert.equal(
      readFileSync(join(ROOT, TEMPLATE), 'utf8'),
      gatewayConfigTemplate(),
      `${TEMPLATE} is out of date: run \`npm run gateway-schema\` and commit it`,
    );
    const ignore = readFileSync(join(ROOT, '.vscodeignore'), 'utf8').split('\n');
    assert.ok(ignore.includes(`!${TEMPLATE}`), '.vscodeignore allows the template into the VSIX');
  });

  it('is a valid config as written (read-only, every system not configured), naming every key of the schema with its description', () => {
    const text = gatewayConfigTemplate();
    assert.deepEqual(GatewayConfig.parse(parseConfigText(text)), GatewayConfig.parse({}));
    for (const key of Object.keys(GatewayConfig.shape) as (keyof typeof GATEWAY_CONFIG_DESCRIPTIONS)[]) {
      assert.ok(text.includes(`"${key}": `), `the template has ${key}`);
      assert.ok(text.includes(`// ${GATEWAY_CONFIG_DESCRIPTIONS[key]}`), `the template describes ${key}`);
    }
    assert.match(text, /"repairs": false/);
  });

  it('gives a valid config with clusterName, and with each system section, uncommented', () => {
    const named = parseConfigText(gatewayConfigTemplate().replace(`  // "clusterName": `, `  "clusterName": `));
    assert.equal(GatewayConfig.parse(named).clusterName, CLUSTER_NAME_EXAMPLE);
    for (const section of Object.keys(SECTION_EXAMPLES)) {
      const parsed = GatewayConfig.safeParse(parseConfigText(uncomment(gatewayConfigTemplate(), section)));
      assert.ok(parsed.success, `${section}: ${parsed.error?.message}`);
      assert.ok(parsed.data[section as keyof typeof SECTION_EXAMPLES], section);
    }
  });

  it('reads // and /* */ comments, leaving strings (URLs) and positions as they are', () => {
    const text = '{\n  // a comment\n  "node": "http://q:7280", /* a\n block */ "x": "a // b /* c */ \\" d"\n}';
    const stripped = stripJsonComments(text);
    assert.equal(stripped.length, text.length);
    assert.deepEqual(
      stripped.split('\n').map((l) => l.length),
      text.split('\n').map((l) => l.length),
    );
    assert.deepEqual(JSON.parse(stripped), { node: 'http://q:7280', x: 'a // b /* c */ " d' });
    assert.throws(() => parseConfigText('{\n  "a": 1,\n  oops\n}'), /JSON/);
  });

  it('is accepted by cluster-gateway as written', async function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'gateway-template-'));
    const file = join(dir, 'cluster-gateway.json');
    writeFileSync(file, gatewayConfigTemplate());
    const child = spawn(process.execPath, [join(ROOT, 'out', 'cluster-gateway.js'), '--config', file, '--port', '0', '--token', TOKEN], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" within 30 s: ${out}`)), 30_000);
        const on = (d: Buffer) => {
          out += d;
          if (/listening ws:\/\//.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', on);
        child.stderr.on('data', on);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`cluster-gateway exited (${code}): ${out}`));
        });
      });
      assert.match(out, /^read-only$/m);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await exited;
      removeTestDir(dir);
    }
  });
});
