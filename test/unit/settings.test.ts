// package.json repeats what src/protocol defines once (VS Code reads settings' defaults, enums and
// patterns from there): this keeps the two equal, without an editor.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_NAME_PATTERN, CONFIG_DEFAULTS, CONFIG_SECTION, RULES, RULE_IDS, SCENARIOS } from '../../src/protocol';

// Bundled to out/test/unit/; the repository root is three levels up.
const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const properties: Record<
  string,
  {
    default?: unknown;
    enum?: unknown[];
    properties?: Record<string, { default?: unknown }>;
    items?: { properties: { name: { pattern: string } } };
  }
> = pkg.contributes.configuration.properties;

describe('package.json settings', () => {
  it('declares every setting of CONFIG_DEFAULTS, and no other, with the same default', () => {
    const declared = Object.keys(properties).sort();
    assert.deepEqual(
      declared,
      Object.keys(CONFIG_DEFAULTS)
        .map((k) => `${CONFIG_SECTION}.${k}`)
        .sort(),
    );
    for (const [key, value] of Object.entries(CONFIG_DEFAULTS)) {
      assert.deepEqual(properties[`${CONFIG_SECTION}.${key}`].default, value, `${CONFIG_SECTION}.${key}`);
    }
  });

  it('gives each rule of clusterDebugger.rules its default severity from RULES', () => {
    const rules = properties[`${CONFIG_SECTION}.rules`].properties ?? {};
    assert.deepEqual(Object.keys(rules).sort(), [...RULE_IDS].sort());
    for (const id of RULE_IDS) assert.equal(rules[id].default, RULES[id].severity, id);
  });

  it('offers exactly the SCENARIOS as the simulator’s default scenario', () => {
    assert.deepEqual(properties[`${CONFIG_SECTION}.simulator.defaultScenario`].enum, [...SCENARIOS]);
  });

  it('validates cluster names with CLUSTER_NAME_PATTERN', () => {
    assert.equal(properties[`${CONFIG_SECTION}.clusters`].items?.properties.name.pattern, CLUSTER_NAME_PATTERN.source);
  });
});
