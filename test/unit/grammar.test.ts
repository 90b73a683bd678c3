/**
 * The TextMate grammar (`syntaxes/clustersnap.tmLanguage.json`), run by the
 * same engine VS Code uses (vscode-textmate + vscode-oniguruma) on what the
 * renderer writes: every token of a real snapshot gets a scope, and the
 * tricky cases (quotes, `#` inside strings, JSON values, states) get the
 * right one.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import { INITIAL, Registry, type IGrammar, type IRawGrammar } from 'vscode-textmate';
import { modelFrom, renderSnapshot, renderSubsystem, type ClusterModel } from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';

// Bundled to out/test/unit/grammar.test.js.
const ROOT = join(__dirname, '..', '..', '..');
const SCOPE = 'source.clustersnap';

interface Token {
  text: string;
  scopes: string[];
}

async function loadGrammar(): Promise<IGrammar> {
  const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === SCOPE ? (JSON.parse(readFileSync(join(ROOT, 'syntaxes', 'clustersnap.tmLanguage.json'), 'utf8')) as IRawGrammar) : null,
  });
  const grammar = await registry.loadGrammar(SCOPE);
  assert.ok(grammar, 'the grammar loads');
  return grammar;
}

/** A real cluster: every incident, from the simulator, at demo scale. */
function incidentCluster(): ClusterModel {
  const sim = new Simulator();
  sim.reset({ scenario: 'incident-all', seed: 1 });
  return modelFrom(sim.status(), (c) => sim.entities(c));
}

describe('clustersnap TextMate grammar', () => {
  let grammar: IGrammar;
  before(async () => {
    grammar = await loadGrammar();
  });

  function tokenize(text: string): Token[][] {
    let state = INITIAL;
    return text.split('\n').map((line) => {
      const r = grammar.tokenizeLine(line, state);
      state = r.ruleStack;
      return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
    });
  }

  /** The innermost scope of the token holding `needle` on the line. */
  function scopeOf(line: string, needle: string): string {
    const token = tokenize(line)[0]!.find((t) => t.text.includes(needle));
    assert.ok(token, `a token with "${needle}" in ${JSON.stringify(line)}`);
    return token.scopes.at(-1)!;
  }

  it('scopes every non-blank token of a real snapshot and of a virtual document', () => {
    const model = incidentCluster();
    for (const text of [renderSnapshot(model), renderSubsystem(model, 'shards', 'sim').text]) {
      const lines = tokenize(text);
      assert.ok(lines.length > 100, `a sizeable document (${lines.length} lines)`);
      lines.forEach((tokens, i) => {
        for (const t of tokens) {
          if (t.text.trim() === '') continue;
          assert.ok(t.scopes.length > 1, `line ${i + 1}: "${t.text}" has no scope beyond ${SCOPE}`);
        }
      });
    }
  });

  it('gives sections, kinds, keys, fields, values, states and comments their scopes', () => {
    assert.equal(
      scopeOf('[quickwit.metastore.shards]  # metastore: 3 shard entities', 'quickwit.metastore.shards'),
      'entity.name.section.clustersnap',
    );
    assert.equal(
      scopeOf('[quickwit.metastore.shards]  # metastore: 3 shard entities', '# metastore'),
      'comment.line.number-sign.clustersnap',
    );
    const shard = 'shard idx:01/src/01J0 leaderId=ingester-1 shardState=open publishPositionInclusive="" createdAt=12 version=1';
    assert.equal(scopeOf(shard, 'shard'), 'storage.type.kind.clustersnap');
    assert.equal(scopeOf(shard, 'idx:01/src/01J0'), 'variable.other.key.clustersnap');
    assert.equal(scopeOf(shard, 'leaderId'), 'variable.other.property.clustersnap');
    assert.equal(scopeOf(shard, 'ingester-1'), 'string.unquoted.clustersnap');
    assert.equal(scopeOf(shard, 'open'), 'constant.language.state.clustersnap');
    assert.equal(scopeOf(shard, '12'), 'constant.numeric.clustersnap');
    assert.equal(
      scopeOf('partition events-0 resolution=OutOfStorage version=7', 'OutOfStorage'),
      'constant.language.state.bad.clustersnap',
    );
    assert.equal(scopeOf('procedure p1 status=Retrying version=2', 'Retrying'), 'constant.language.state.transient.clustersnap');
    assert.equal(scopeOf('partition events-0 leader={"spu":5001,"hw":90} version=7', '{"spu"'), 'meta.structure.json.clustersnap');
    assert.equal(scopeOf('group "idx:01/src" count=760471  # too many to list', 'idx:01/src'), 'entity.name.tag.group.clustersnap');
  });

  it('keeps a quoted string whole: a "#" or a blank inside it is not a comment or a new field', () => {
    const line = 'procedure p1 error="remote WAL # down \\"kafka\\" x=1" retries=3 version=2';
    const tokens = tokenize(line)[0]!;
    assert.ok(!tokens.some((t) => t.scopes.some((s) => s.startsWith('comment.'))), 'no comment inside the string');
    const inString = tokens
      .filter((t) => t.scopes.includes('string.quoted.double.clustersnap'))
      .map((t) => t.text)
      .join('');
    assert.equal(inString, '"remote WAL # down \\"kafka\\" x=1"');
    assert.equal(scopeOf(line, '\\"'), 'constant.character.escape.clustersnap');
    assert.equal(scopeOf(line, 'retries'), 'variable.other.property.clustersnap');
  });
});
