// schemas/gateway-config.schema.json is generated from the zod schema; editors validate config files with it.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GATEWAY_CONFIG_DESCRIPTIONS,
  GATEWAY_CONFIG_FILE,
  GATEWAY_CONFIG_SUFFIX,
  GatewayConfig,
  gatewayConfigSchemaText,
} from '../../src/gateway/config';

// Bundled to out/test/gateway/; the repository root is three levels up.
const ROOT = join(__dirname, '..', '..', '..');

describe('gateway config JSON schema', () => {
  it('is committed as generated from the zod schema (regenerate: npm run gateway-schema)', () => {
    const committed = readFileSync(join(ROOT, 'schemas', 'gateway-config.schema.json'), 'utf8');
    assert.equal(
      committed,
      gatewayConfigSchemaText(),
      'schemas/gateway-config.schema.json is out of date: run `npm run gateway-schema` and commit it',
    );
  });

  it('describes every top-level key, and forbids unknown ones', () => {
    const schema = JSON.parse(gatewayConfigSchemaText());
    assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(GatewayConfig.shape).sort());
    assert.deepEqual(Object.keys(GATEWAY_CONFIG_DESCRIPTIONS).sort(), Object.keys(GatewayConfig.shape).sort());
    for (const key of Object.keys(schema.properties)) assert.ok(schema.properties[key].description, key);
    assert.equal(schema.additionalProperties, false);
  });

  it('is contributed to the file names the extension starts gateways from, and shipped in the VSIX', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.contributes.jsonValidation, [
      { fileMatch: [`*${GATEWAY_CONFIG_SUFFIX}`, GATEWAY_CONFIG_FILE], url: './schemas/gateway-config.schema.json' },
    ]);
    const ignore = readFileSync(join(ROOT, '.vscodeignore'), 'utf8').split('\n');
    assert.ok(ignore.includes('!schemas/gateway-config.schema.json'), '.vscodeignore allows the schema into the VSIX');
  });
});
