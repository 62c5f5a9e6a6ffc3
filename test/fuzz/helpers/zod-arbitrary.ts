// fast-check arbitraries derived from Baton's zod (v4) schemas: values of the right shape, at
// and around every bound the schema states (lengths, ranges, patterns), and mutants of them
// with one part replaced by a hostile value. Covers the schema kinds the wire contract uses.
import fc from 'fast-check';
import type { z } from 'zod';

interface CheckDef {
  check: string;
  value?: number;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  length?: number;
  format?: string;
  pattern?: RegExp;
}

interface Def {
  type: string;
  checks?: { _zod: { def: CheckDef } }[];
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: z.ZodType[];
  innerType?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  values?: unknown[];
  entries?: Record<string, unknown>;
}

const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;
const checksOf = (d: Def) => (d.checks ?? []).map((c) => c._zod.def);

/** Strings longest generated for an unbounded string (the schema's max when it has one). */
const FREE_STRING_CHARS = 80;
const FREE_ARRAY_ITEMS = 4;

function stringArb(d: Def): fc.Arbitrary<string> {
  const cs = checksOf(d);
  const regex = cs.find((c) => c.format === 'regex')?.pattern;
  if (regex) return fc.stringMatching(regex);
  const min = cs.find((c) => c.check === 'min_length')?.minimum ?? 0;
  const max = cs.find((c) => c.check === 'max_length')?.maximum ?? FREE_STRING_CHARS;
  // The bounds themselves, and anything between (generation keeps long strings rare).
  return fc.oneof(
    fc.string({ minLength: min, maxLength: Math.min(max, FREE_STRING_CHARS) }),
    fc.constantFrom('x'.repeat(Math.max(min, 1)), 'y'.repeat(max)),
  );
}

function numberArb(d: Def): fc.Arbitrary<number> {
  const cs = checksOf(d);
  const int = cs.some((c) => c.format === 'safeint' || c.format === 'int32');
  const lo = cs.find((c) => c.check === 'greater_than')?.value ?? (int ? Number.MIN_SAFE_INTEGER : -1e308);
  const hi = cs.find((c) => c.check === 'less_than')?.value ?? (int ? Number.MAX_SAFE_INTEGER : 1e308);
  const edges = fc.constantFrom(lo, hi, Math.min(hi, Math.max(lo, 0)));
  const body = int
    ? fc.integer({ min: Math.max(lo, Number.MIN_SAFE_INTEGER), max: Math.min(hi, Number.MAX_SAFE_INTEGER) })
    : fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
  return fc.oneof({ weight: 3, arbitrary: body }, { weight: 1, arbitrary: edges });
}

/** Values the schema accepts (refinements aside), bounds included. */
export function validArb(schema: z.ZodType): fc.Arbitrary<unknown> {
  const d = defOf(schema);
  switch (d.type) {
    case 'string':
      return stringArb(d);
    case 'number':
      return numberArb(d);
    case 'boolean':
      return fc.boolean();
    case 'literal':
      return fc.constantFrom(...(d.values ?? []));
    case 'enum':
      return fc.constantFrom(...Object.values(d.entries ?? {}));
    case 'optional':
      return fc.option(validArb(d.innerType!), { nil: undefined });
    case 'nullable':
      return fc.option(validArb(d.innerType!), { nil: null });
    case 'union':
      return fc.oneof(...d.options!.map(validArb));
    case 'array': {
      const cs = checksOf(d);
      const min = cs.find((c) => c.check === 'min_length')?.minimum ?? 0;
      const max = cs.find((c) => c.check === 'max_length')?.maximum ?? FREE_ARRAY_ITEMS;
      return fc.array(validArb(d.element!), { minLength: min, maxLength: Math.max(min, Math.min(max, FREE_ARRAY_ITEMS)) });
    }
    case 'object': {
      const entries = Object.entries(d.shape!).map(([k, v]) => [k, validArb(v)] as const);
      return fc.record(Object.fromEntries(entries)).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
    }
    case 'record':
      return fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function deep(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

/** What a hostile client puts where a valid value belongs. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    -1,
    -0,
    0.5,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    1e308,
    '',
    '../etc/passwd',
    '%2e%2e%2f',
    'x\0y',
    '__proto__',
    [],
    {},
    JSON.parse('{"__proto__":{"polluted":true}}') as unknown,
    { constructor: { prototype: { polluted: true } } },
    true,
  ),
  fc.integer({ min: 2, max: 40 }).map(deep),
  // Deeper values go as raw packets (socket.io-client's encoder recurses): see hub-fuzz.test.ts.
  fc.constantFrom(deep(500), deep(1_000)),
  fc.integer({ min: 1, max: 64 }).map((k) => 'z'.repeat(k * 1024)),
  fc.array(fc.constant(0), { minLength: 1_000, maxLength: 5_000 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
);

/** Replaces one randomly chosen part of `value` (or the value itself) with a hostile one. */
export function mutate(value: unknown): fc.Arbitrary<unknown> {
  const paths: (string | number)[][] = [[]];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (path.length > 6 || v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      const p = [...path, Array.isArray(v) ? Number(k) : k];
      paths.push(p);
      walk(x, p);
    }
  };
  walk(value, []);
  return fc.tuple(fc.constantFrom(...paths), hostileValue, fc.boolean()).map(([path, bad, asNewKey]) => {
    if (path.length === 0) return bad;
    const copy = structuredClone(value) as Record<string | number, unknown>;
    let at = copy;
    for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
    // Either a known key gets a bad value, or an unknown key appears beside it.
    at[asNewKey ? 'extra' : path.at(-1)!] = bad;
    return copy;
  });
}

/** Mostly mutants of valid values, some valid values as they are. */
export function schemaInputs(schema: z.ZodType): fc.Arbitrary<unknown> {
  const valid = validArb(schema);
  return fc.oneof({ weight: 1, arbitrary: valid }, { weight: 4, arbitrary: valid.chain(mutate) });
}
