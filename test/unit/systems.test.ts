/**
 * The systems' table (src/protocol/systems.ts) is the map of each system: every file it names
 * exists, its collections are the registry's of its subsystem, and its rules and their versions
 * name it. docs/adding-a-system.md walks the same files.
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COLLECTION_NAMES,
  COLLECTIONS,
  RULE_VERSIONS,
  RULES,
  SUBSYSTEMS,
  SYSTEM_IDS,
  SYSTEM_OF_SUBSYSTEM,
  SYSTEMS,
  type RuleId,
} from '../../src/protocol';

const root = join(__dirname, '..', '..', '..');

/** GitHub's anchor of a Markdown heading. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

describe('systems table', () => {
  it('has one system per subsystem, in the order of the views', () => {
    assert.deepEqual(
      SYSTEM_IDS.map((id) => SYSTEMS[id].subsystem),
      [...SUBSYSTEMS],
    );
    for (const s of SUBSYSTEMS) assert.equal(SYSTEMS[SYSTEM_OF_SUBSYSTEM[s]].subsystem, s);
  });

  it("lists exactly its subsystem's collections", () => {
    for (const id of SYSTEM_IDS) {
      const { subsystem, collections } = SYSTEMS[id];
      assert.deepEqual(
        [...collections],
        COLLECTION_NAMES.filter((c) => COLLECTIONS[c].subsystem === subsystem),
        id,
      );
      for (const c of collections) assert.ok(c.startsWith(`${id}.`), `${c} is named after ${id}`);
    }
  });

  it('names files that exist, and docs sections that exist', () => {
    const docs = new Map<string, string>();
    for (const id of SYSTEM_IDS) {
      const d = SYSTEMS[id];
      const paths = [...Object.values(d.files), d.tree.layout, d.upstream.fixtures];
      for (const p of paths) {
        const [file, anchor] = p.split('#');
        assert.ok(existsSync(join(root, file)), `${id}: ${file} exists`);
        if (anchor === undefined) continue;
        if (!docs.has(file)) docs.set(file, readFileSync(join(root, file), 'utf8'));
        const anchors = [...docs.get(file)!.matchAll(/^#+ (.*)$/gm)].map((m) => anchorOf(m[1]));
        assert.ok(anchors.includes(anchor), `${id}: ${file} has a section #${anchor}`);
      }
    }
  });

  it('docs/adding-a-system.md names only files that exist (placeholders aside)', () => {
    const text = readFileSync(join(root, 'docs', 'adding-a-system.md'), 'utf8');
    const paths = [...text.matchAll(/`((?:src|test|docs)\/[^`\s]*|README\.md|package\.json)`/g)]
      .map((m) => m[1])
      .filter((p) => !p.includes('<'));
    assert.ok(paths.length > 30, `${paths.length} paths`);
    for (const p of paths) assert.ok(existsSync(join(root, p)), `${p} exists`);
  });

  it("its rules' versions name it by its title", () => {
    for (const [rule, v] of Object.entries(RULE_VERSIONS)) {
      const subsystem = RULES[rule as RuleId].subsystem;
      assert.ok(subsystem, rule);
      assert.equal(v!.system, SYSTEMS[SYSTEM_OF_SUBSYSTEM[subsystem]].title, rule);
    }
  });
});
