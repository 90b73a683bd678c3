/**
 * fast-check arbitraries for protocol values: awkward strings and numbers, and
 * entities of any collection derived from its zod schema (so a new field needs
 * no change here; a schema type this file does not know fails the tests).
 */
import fc from 'fast-check';
import { COLLECTION_KEYS, COLLECTIONS, type CollectionName, type EntityOf, type KeyFormat } from '../../src/protocol';

/** Characters the snapshot language treats specially, plus unicode and the key formats' delimiters. */
const AWKWARD_CHARS = [
  ' ',
  '"',
  '#',
  '=',
  '\\',
  '/',
  '-',
  '[',
  '{',
  ']',
  '}',
  ',',
  ':',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\u007f',
  '\u00a0',
  '\u2028',
  'a',
  'Z',
  '0',
  '9',
  '_',
  '.',
  '~',
  'é',
  'ß',
  '日',
  '本',
  '😀',
  '\u0301',
];

const PLAIN_CHARS = [...'abcxyzABC0123456789-_.:~/@é日'];

/** Strings that exercise quoting (specials, unicode, reserved words, empty), and plain ones half of the time. */
export const awkwardString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ unit: fc.constantFrom(...PLAIN_CHARS), minLength: 1, maxLength: 12 }), weight: 9 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...AWKWARD_CHARS), maxLength: 12 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 6 }), weight: 1 },
  {
    arbitrary: fc.constantFrom(
      '',
      'null',
      'true',
      'false',
      '42',
      '-1',
      '[1]',
      '{}',
      'a b',
      'x=y',
      '#c',
      '"q"',
      'node-1',
      'store-1/region-2',
      'spu-1/t-0',
    ),
    weight: 2,
  },
);

/** Strings with no `/` (the parts of `/`-joined keys). */
export const slashFreeString: fc.Arbitrary<string> = awkwardString.map((s) => s.replaceAll('/', '_'));

/** Integers within [min, max]: mostly small, sometimes the extremes (safe integers: what zod's `int()` accepts). */
export function integer(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: Math.max(min, -20), max: Math.min(max, 20) }),
    fc.integer({ min, max }),
    fc.constantFrom(min, max, Math.max(min, Math.min(max, 0))),
  );
}

interface ZodLike {
  def: { type: string; innerType?: ZodLike; element?: ZodLike };
  options?: readonly string[];
  shape?: Record<string, ZodLike>;
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  minLength?: number | null;
  safeParse(v: unknown): { success: boolean };
}

/** An arbitrary of values `schema` accepts. Throws on a schema type it does not know, so a new one is noticed. */
export function fromSchema(schema: ZodLike, path = 'value'): fc.Arbitrary<unknown> {
  let arb: fc.Arbitrary<unknown>;
  switch (schema.def.type) {
    case 'string':
      arb = awkwardString;
      break;
    case 'number':
      if (!schema.isInt) throw new Error(`${path}: no arbitrary for non-integer numbers`);
      arb = integer(schema.minValue ?? undefined, schema.maxValue ?? undefined);
      break;
    case 'boolean':
      arb = fc.boolean();
      break;
    case 'enum':
      arb = fc.constantFrom(...(schema.options ?? []));
      break;
    case 'nullable':
      return fc.option(fromSchema(schema.def.innerType!, path), { nil: null });
    case 'array':
      arb = fc.array(fromSchema(schema.def.element!, `${path}[]`), { maxLength: 4 });
      break;
    case 'object':
      arb = fc.record(Object.fromEntries(Object.entries(schema.shape!).map(([k, s]) => [k, fromSchema(s, `${path}.${k}`)])), {
        noNullPrototype: true,
      });
      break;
    default:
      throw new Error(`${path}: no arbitrary for zod type ${schema.def.type}`);
  }
  // Bounds the generators above do not know (min lengths, exclusive minimums) are met by filtering.
  return arb.filter((v) => schema.safeParse(v).success);
}

/**
 * Entities of collection `c` that satisfy its schema. The key is, half of the
 * time, the collection's key format applied to the entity's own fields (so the
 * renderer leaves those fields out), else an arbitrary string.
 */
export function entityArbitrary<C extends CollectionName>(c: C): fc.Arbitrary<EntityOf<C>> {
  const schema = COLLECTIONS[c].schema as unknown as ZodLike;
  const keyFormat = COLLECTION_KEYS[c] as unknown as KeyFormat<Record<string, unknown>, unknown[]>;
  const { key: _key, ...rest } = schema.shape!;
  const fields = fromSchema({ ...schema, shape: rest, safeParse: () => ({ success: true }) } as ZodLike, c) as fc.Arbitrary<
    Record<string, unknown>
  >;
  return fc
    .tuple(fields, fc.boolean(), awkwardString)
    .map(([e, formatted, other]) => {
      const key = formatted ? keyFormat.format(...keyFormat.fields.map((f) => e[f])) : other;
      return { key, ...e };
    })
    .filter((e) => schema.safeParse(e).success) as unknown as fc.Arbitrary<EntityOf<C>>;
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
