// Writes schemas/gateway-config.schema.json, the JSON schema of `cluster-gateway`'s config file,
// generated from its zod schema (src/gateway/config.ts). A unit test fails when the committed file
// differs. Usage: node scripts/gateway-schema.mjs [--check]
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const target = join(root, 'schemas', 'gateway-config.schema.json');

const { outputFiles } = await esbuild.build({
  stdin: { contents: "export { gatewayConfigSchemaText } from './src/gateway/config';", resolveDir: root, loader: 'ts' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  logLevel: 'warning',
});
const module = { exports: {} };
new Function('module', 'exports', 'require', outputFiles[0].text)(module, module.exports, createRequire(join(root, 'package.json')));
const text = module.exports.gatewayConfigSchemaText();

if (process.argv.includes('--check')) {
  const committed = readFileSync(target, 'utf8');
  if (committed !== text) {
    console.error(`${target} is out of date: run node scripts/gateway-schema.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
