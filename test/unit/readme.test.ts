/**
 * README.md's "Protocol" subsection lets someone drive cluster-sim with wscat
 * alone: it must name every method, collection, repair command and fault the
 * protocol defines, so that it cannot drift from src/protocol.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COLLECTION_NAMES, Fault, METHODS, NOTIFICATIONS, RepairCommand, SCENARIOS } from '../../src/protocol';

const ROOT = join(__dirname, '..', '..', '..');

function protocolSection(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### Protocol');
  assert.ok(start >= 0, 'README.md has a "### Protocol" subsection');
  const end = readme.indexOf('\n## ', start);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README protocol reference', () => {
  it('names every method, notification, collection, repair command, fault and scenario in backticks', () => {
    const section = protocolSection();
    const names = [
      ...Object.keys(METHODS),
      ...Object.keys(NOTIFICATIONS),
      ...COLLECTION_NAMES,
      ...RepairCommand.options.map((o) => o.shape.command.value),
      ...Fault.options,
      ...SCENARIOS,
    ];
    const missing = names.filter((n) => !section.includes(`\`${n}\``));
    assert.deepEqual(missing, [], 'missing from README.md, ### Protocol');
  });

  it('says how to connect with the token and that initialize comes first', () => {
    const section = protocolSection();
    assert.match(section, /wscat -c ws:\/\/127\.0\.0\.1:\S+ -H "Authorization: Bearer /);
    assert.match(section, /"method":"initialize"/);
  });
});
