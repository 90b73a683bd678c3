// Writes schemas/gateway-config.schema.json, the JSON schema of `cluster-gateway`'s config file,
// generated from its zod schema (src/gateway/config.ts), and schemas/cluster-gateway.template.jsonc,
// the commented template the extension's "Create cluster-gateway.json" writes (src/gateway/template.ts).
// A unit test fails when a committed file differs. Usage: node scripts/gateway-schema.mjs [--check]
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

const { outputFiles } = await esbuild.build({
  stdin: {
    contents:
      "export { gatewayConfigSchemaText } from './src/gateway/config'; export { gatewayConfigTemplate } from './src/gateway/template';",
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  logLevel: 'warning',
});
const module = { exports: {} };
new Function('module', 'exports', 'require', outputFiles[0].text)(module, module.exports, createRequire(join(root, 'package.json')));
const files = {
  [join(root, 'schemas', 'gateway-config.schema.json')]: module.exports.gatewayConfigSchemaText(),
  [join(root, 'schemas', 'cluster-gateway.template.jsonc')]: module.exports.gatewayConfigTemplate(),
};

let stale = false;
for (const [target, text] of Object.entries(files)) {
  if (process.argv.includes('--check')) {
    if (readFileSync(target, 'utf8') !== text) {
      console.error(`${target} is out of date: run node scripts/gateway-schema.mjs`);
      stale = true;
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
if (stale) process.exit(1);
