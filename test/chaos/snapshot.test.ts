/**
 * Chaos 2: the snapshot parser against mutants of real documents.
 *
 * Real snapshots are rendered from the simulator's own scenarios (the whole
 * cluster, and each subsystem's live document with its `group` lines), then
 * mutated: characters flipped, lines shuffled, duplicated, dropped or cut,
 * names replaced by inherited ones (`[constructor]`, `__proto__=`,
 * `toString`), numbers made huge, quotes unbalanced, nesting deepened, line
 * endings changed. Every mutant must parse or get clean errors:
 * `parseSnapshotDocument` never throws, every error has a line inside the
 * document, a column inside its line and a message, and the fast path and the
 * general path agree.
 */
import * as assert from 'node:assert/strict';
import { SUBSYSTEMS, type CollectionName } from '../../src/protocol';
import {
  emptyCollections,
  MAX_SYNTAX_ERRORS,
  parseSnapshotDocument,
  renderSnapshot,
  renderSubsystem,
  type ClusterModel,
  type EntityMap,
} from '../../src/analysis';
import { parseSnapshotWith } from '../../src/analysis/snapshot/parse';
import { Simulator } from '../../src/simulator/simulator';
import { COUNTS, report, Rng, SEED } from './counts';

function modelOf(sim: Simulator): ClusterModel {
  const collections = emptyCollections();
  const status = sim.status();
  for (const c of Object.keys(collections) as CollectionName[]) {
    const map = collections[c] as EntityMap<{ key: string }>;
    for (const e of sim.entities(c)) map.set(e.key, e);
  }
  return { status, collections };
}

/** Rendered documents of real clusters. */
function realDocuments(): string[] {
  const docs: string[] = [];
  const sim = new Simulator();
  const runs: Array<Parameters<Simulator['reset']>[0]> = [
    { scenario: 'incident-all', seed: 1 },
    { scenario: 'incident-all', seed: 2, bugs: 'fixed' },
    { scenario: 'quickwit-dangling-shards', seed: 3, size: { danglingShards: 450 } },
  ];
  for (const r of runs) {
    sim.reset(r);
    const model = modelOf(sim);
    docs.push(renderSnapshot(model));
    for (const s of SUBSYSTEMS) docs.push(renderSubsystem(model, s, 'sim').text);
  }
  return docs;
}

const INHERITED = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'prototype', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
const ODD_NUMBERS = [
  '1e309',
  '-1e309',
  '99999999999999999999999',
  '9'.repeat(400),
  '-0',
  'NaN',
  'Infinity',
  '0x10',
  '1_000',
  '1e-400',
  '-1',
  '1.5',
  '007',
  '+1',
  '2e3',
  '00',
];
const ODD_CHARS = [
  '=',
  '"',
  '\\',
  '[',
  ']',
  '{',
  '}',
  '#',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\ufeff',
  '\ud800',
  '\u2028',
  'é',
  '€',
  '𝄞',
  ',',
  ':',
];

function mutate(rng: Rng, text: string): string {
  const lines = text.split('\n');
  const line = () => rng.int(Math.max(1, lines.length));
  switch (rng.int(14)) {
    case 0: {
      // Flip characters.
      let s = lines.join('\n');
      for (let i = 1 + rng.int(8); i > 0 && s.length; i--) {
        const at = rng.int(s.length);
        s = s.slice(0, at) + (rng.chance(0.7) ? rng.pick(ODD_CHARS) : String.fromCharCode(rng.int(0x10000))) + s.slice(at + 1);
      }
      return s;
    }
    case 1: {
      // Shuffle a window of lines.
      const a = line();
      const b = Math.min(lines.length, a + 2 + rng.int(20));
      const w = lines.slice(a, b);
      for (let i = w.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [w[i], w[j]] = [w[j]!, w[i]!];
      }
      lines.splice(a, w.length, ...w);
      break;
    }
    case 2: {
      // Duplicate or drop lines (duplicate keys, sections, headers; missing headers).
      const a = line();
      if (rng.chance(0.5)) lines.splice(a, 0, ...lines.slice(a, a + 1 + rng.int(5)));
      else lines.splice(a, 1 + rng.int(5));
      break;
    }
    case 3: {
      // Inherited names in section headers.
      const name = rng.pick(INHERITED);
      const variants = [
        `[${name}]`,
        `[${name}]  # x`,
        `[shards.${name}]`,
        `[quickwit.metastore.shards.${name}]`,
        `[${name}.${name}]`,
        `[ ${name} ]`,
      ];
      lines.splice(line(), rng.chance(0.5) ? 1 : 0, rng.pick(variants));
      break;
    }
    case 4: {
      // Inherited names as kinds, keys and fields.
      const i = line();
      const l = lines[i] ?? '';
      const name = rng.pick(INHERITED);
      const words = l.split(' ');
      const w = rng.int(Math.max(1, words.length));
      words[w] = rng.pick([
        name,
        `${name}=1`,
        `${name}=`,
        `${name}={}`,
        `${name}=${rng.pick(['null', '"x"', '[]', '{"__proto__":{"a":1}}'])}`,
        `${words[w]?.split('=')[0] ?? 'x'}=${name}`,
      ]);
      lines[i] = words.join(' ');
      break;
    }
    case 5: {
      // Huge and odd numbers.
      const i = line();
      lines[i] = (lines[i] ?? '').replace(/=(-?\d+)/g, (m) => (rng.chance(0.5) ? `=${rng.pick(ODD_NUMBERS)}` : m));
      break;
    }
    case 6:
      // Truncation anywhere, even inside a character pair.
      return lines.join('\n').slice(0, rng.int(text.length + 1));
    case 7: {
      // Quotes and escapes unbalanced.
      const i = line();
      const l = lines[i] ?? '';
      const at = rng.int(l.length + 1);
      lines[i] = l.slice(0, at) + rng.pick(['"', '\\', '"\\u', '"\\ud800"', '\\"', '"a\nb"', '"""']) + l.slice(at);
      break;
    }
    case 8: {
      // Fields dropped, repeated, or given twice with different values.
      const i = line();
      const l = lines[i] ?? '';
      lines[i] = rng.pick([
        l.replace(/ version=\d+/, ''),
        `${l} version=1 version=2`,
        l.replace(/ (\w+)=/, ' $1=1 $1='),
        `${l} ${l}`,
        l.replace(/=\S+/g, '='),
        `${l} extra=1`,
      ]);
      break;
    }
    case 9: {
      // Deep nesting or a giant value in a json field or anywhere.
      const i = line();
      const n = 100 + rng.int(20_000);
      lines[i] =
        `${lines[i] ?? ''} ${rng.pick(['leader=', 'replicas=', 'x=', ''])}${rng.pick(['[', '{"a":']).repeat(n)}${rng.chance(0.5) ? '1' + ']'.repeat(n) : ''}`;
      break;
    }
    case 10:
      // Line endings and a byte-order mark.
      return rng.pick([
        lines.join('\r\n'),
        lines.join('\r'),
        `\ufeff${lines.join('\n')}`,
        lines.join('\n\n'),
        lines.map((l) => l.replace(/ /g, '\t')).join('\n'),
      ]);
    case 11: {
      // A header line's fields replaced.
      const i = lines.findIndex((l) => /^(cluster|bugs|config) /.test(l));
      if (i >= 0)
        lines[i] = lines[i]!.replace(
          / (\w+)=(\S+)/,
          () => ` ${rng.pick([...INHERITED, 'seq', 'time', 'counts'])}=${rng.pick([...ODD_NUMBERS, '{}', '[]', 'null', '"x"'])}`,
        );
      break;
    }
    case 12: {
      // A group line with odd counts and names.
      lines.splice(line(), 0, `group ${rng.pick([...INHERITED, 'x', ''])} count=${rng.pick([...ODD_NUMBERS, '5'])}`);
      break;
    }
    default: {
      // Lines from elsewhere in the document (entities under the wrong section).
      const a = line();
      const moved = lines.splice(a, 1 + rng.int(10));
      lines.splice(line(), 0, ...moved);
    }
  }
  return lines.join('\n');
}

describe('chaos: snapshot parser against mutants of real documents', function () {
  this.timeout(30 * 60_000);

  it(`${COUNTS.mutants} mutants: each parses or gets clean errors`, () => {
    const docs = realDocuments();
    const rng = new Rng(SEED + 2);
    const started = Date.now();
    const throws: string[] = [];
    const badErrors: string[] = [];
    const disagree: string[] = [];
    let clean = 0;
    let withErrors = 0;
    for (let i = 0; i < COUNTS.mutants; i++) {
      const doc = rng.pick(docs);
      let base = doc;
      if (rng.chance(0.95)) {
        // Mostly a window of the document with its header, so that mutants are many and parsing them cheap.
        const lines = doc.split('\n');
        const head = lines.slice(0, 5);
        const a = 5 + rng.int(Math.max(1, lines.length - 5));
        base = [...head, ...lines.slice(a, a + 5 + rng.int(60))].join('\n');
      }
      let text = base;
      for (let m = 1 + rng.int(3); m > 0; m--) text = mutate(rng, text);
      let fast;
      let general;
      try {
        fast = parseSnapshotDocument(text);
        general = parseSnapshotWith(text, { fastPath: false }).parsed;
      } catch (e) {
        throws.push(`${(e as Error).stack?.split('\n').slice(0, 3).join(' ')} on:\n${text.slice(0, 400)}`);
        continue;
      }
      const lines = text.split('\n');
      if (fast.errors.length > MAX_SYNTAX_ERRORS + 1) badErrors.push(`${fast.errors.length} errors`);
      for (const e of fast.errors) {
        const ok =
          Number.isInteger(e.line) &&
          e.line >= 0 &&
          e.line < lines.length &&
          Number.isInteger(e.column) &&
          e.column >= 0 &&
          e.column <= lines[e.line]!.length &&
          typeof e.message === 'string' &&
          e.message.length > 0;
        if (!ok && badErrors.length < 20)
          badErrors.push(`${JSON.stringify(e)} (line text: ${JSON.stringify(lines[e.line]?.slice(0, 200))})`);
      }
      if (fast.errors.length) withErrors++;
      else clean++;
      if (JSON.stringify(fast.errors) !== JSON.stringify(general.errors) && disagree.length < 20) {
        disagree.push(
          `fast ${JSON.stringify(fast.errors.slice(0, 2))} vs general ${JSON.stringify(general.errors.slice(0, 2))} on:\n${text.slice(0, 600)}`,
        );
      }
      if (fast.model && general.model) {
        for (const c of Object.keys(fast.model.collections) as CollectionName[]) {
          const f = fast.model.collections[c];
          const g = general.model.collections[c];
          if (f.size !== g.size || [...f].some(([k, v]) => JSON.stringify(g.get(k)) !== JSON.stringify(v))) {
            if (disagree.length < 20) disagree.push(`${c}: the fast and general paths give different entities on:\n${text.slice(0, 600)}`);
            break;
          }
        }
      } else if (!fast.model !== !general.model && disagree.length < 20) {
        disagree.push(`one path gives a model, the other none, on:\n${text.slice(0, 600)}`);
      }
    }
    report('snapshot-parser fuzz', {
      tries: COUNTS.mutants,
      crashes: throws.length,
      hangs: 0,
      stateChanges: 0,
      entitiesLost: 0,
      refusedAsExpected: withErrors,
      notes: {
        'parsed clean': clean,
        'clean errors': withErrors,
        'bad errors': badErrors.length,
        'fast/general disagree': disagree.length,
        seconds: ((Date.now() - started) / 1000).toFixed(1),
      },
    });
    assert.deepEqual(throws, [], 'parseSnapshotDocument never throws');
    assert.deepEqual(badErrors, [], 'every error has a line, a column inside it, and a message');
    assert.deepEqual(disagree, [], 'the fast path and the general path agree');
  });
});
