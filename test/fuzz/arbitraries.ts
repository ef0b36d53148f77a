/**
 * Generators for the fuzz properties: hostile JSON values, and mutations of real replies (test/fixtures/replies.ts)
 * so that most cases get past the first shape check and reach the deeper branches of the decoders and verifier.
 */
import fc from 'fast-check';
import { sign, type Header, type Method } from '../../src/meross/envelope';

/** Values a firmware (or an impostor) can put in a JSON reply, weighted towards the awkward ones. */
export const EDGE_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  0.5,
  2 ** 31,
  2 ** 32,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e308,
  -1e308,
  // `1e400` in JSON text parses to Infinity, so a network reply can carry it.
  Infinity,
  -Infinity,
  '',
  ' ',
  '0',
  '1',
  '-1',
  '1e309',
  'NaN',
  'Infinity',
  '0x10',
  '@0',
  '#####0',
  '2024-13-45',
  '1970-01-01',
  '\u0000',
  '\ud800',
  'x'.repeat(5000),
  [],
  [null],
  [[]],
  {},
  { onoff: 1 },
  { channel: 0, onoff: 2 },
  // What JSON.parse makes of a `__proto__` key: an own property, not a prototype.
  JSON.parse('{"__proto__":{"onoff":1}}') as unknown,
];

/**
 * JSON objects that cannot be turned into a string: `String(v)` or a template literal on them throws a TypeError
 * (a JSON key can shadow Object.prototype's toString and valueOf).
 */
export const UNPRINTABLE: readonly unknown[] = [
  JSON.parse('{"toString":1,"valueOf":1}') as unknown,
  JSON.parse('{"toString":{},"valueOf":{},"toJSON":1}') as unknown,
  JSON.parse('[{"toString":null,"valueOf":null}]') as unknown,
];

function fresh(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

/** Plain JSON values (what JSON.parse can return), plus the edge values above. */
export const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  // Copies: the mutations below edit values in place, and a shared constant would grow from case to case.
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_VALUES).map(fresh) },
  { weight: 1, arbitrary: fc.constantFrom(...UNPRINTABLE).map(fresh) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
);

/** `levels` nested arrays or objects around `inner`, built without recursion. */
export function deepNest(levels: number, kind: 'array' | 'object', inner: unknown = 1): unknown {
  let value = inner;
  for (let i = 0; i < levels; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/** The same nesting as JSON text, for bodies: JSON.stringify would recurse. */
export function deepNestText(levels: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(levels)}1${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

type Path = Array<string | number>;

/** Every path to a value inside `root` (the root itself is the empty path). */
export function paths(root: unknown): Path[] {
  const out: Path[] = [[]];
  const stack: Array<{ value: unknown; path: Path }> = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (Array.isArray(value)) value.forEach((v, i) => (out.push([...path, i]), stack.push({ value: v, path: [...path, i] })));
    else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        out.push([...path, k]);
        stack.push({ value: v, path: [...path, k] });
      }
    }
  }
  return out;
}

export type Mutation =
  | { op: 'replace'; at: number; value: unknown }
  | { op: 'delete'; at: number }
  | { op: 'wrap'; at: number }
  | { op: 'stringify'; at: number }
  | { op: 'negate'; at: number }
  | { op: 'scale'; at: number; factor: number }
  | { op: 'deep'; at: number; levels: number; kind: 'array' | 'object' }
  | { op: 'duplicate'; at: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: jsonish }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('stringify' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('negate' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('scale' as const), at: fc.nat(), factor: fc.constantFrom(1e3, 1e6, 1e300, 1e-9, 0.5, 10) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('deep' as const),
      at: fc.nat(),
      levels: fc.constantFrom(2, 50, 1000),
      kind: fc.constantFrom('array' as const, 'object' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }) },
);

/** Applies mutations to a deep copy of `value`; the path of each is chosen among the paths existing at that point. */
export function mutate(value: unknown, mutations: readonly Mutation[]): unknown {
  let root: unknown = structuredClone(value);
  for (const m of mutations) {
    const all = paths(root);
    const path = all[m.at % all.length];
    const current = get(root, path);
    let next: unknown;
    switch (m.op) {
      case 'replace':
        // A copy: a case may apply the same mutation list many times (each retry), and a later mutation can land
        // inside this value; editing the shared one would soon make it contain itself.
        next = structuredClone(m.value);
        break;
      case 'delete':
        if (path.length === 0) continue;
        remove(root, path);
        continue;
      case 'wrap':
        next = [current];
        break;
      case 'stringify':
        next = typeof current === 'string' ? Number(current) : JSON.stringify(current ?? null);
        break;
      case 'negate':
        next = typeof current === 'number' ? -current : current;
        break;
      case 'scale':
        next = typeof current === 'number' ? current * m.factor : current;
        break;
      case 'deep':
        next = deepNest(m.levels, m.kind, current);
        break;
      case 'duplicate':
        next = Array.isArray(current) ? [...current, ...current] : current;
        break;
    }
    root = set(root, path, next);
  }
  return root;
}

/**
 * Puts `value` (not a copy: it may be far too deep for structuredClone) at the path `at` picks in a copy of `root`.
 * For values the caller built for this one case, such as 10 000 levels of nesting.
 */
export function replaceAt(root: unknown, at: number, value: unknown): unknown {
  const copy: unknown = structuredClone(root);
  const all = paths(copy);
  return set(copy, all[at % all.length], value);
}

function get(root: unknown, path: Path): unknown {
  let v = root;
  for (const k of path) v = (v as Record<string | number, unknown>)[k];
  return v;
}

function set(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = get(root, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]] = value;
  return root;
}

function remove(root: unknown, path: Path): void {
  const parent = get(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
  else delete (parent as Record<string, unknown>)[key];
}

/** A reply as the plug would sign it for `request`. */
export function signedReply(
  request: Pick<Header, 'messageId' | 'namespace'>,
  payload: unknown,
  options: { key: string; uuid: string; method: Method; timestamp?: number },
): { header: Header; payload: unknown } {
  const timestamp = options.timestamp ?? 1_710_076_838;
  return {
    header: {
      messageId: request.messageId,
      namespace: request.namespace,
      method: options.method,
      payloadVersion: 1,
      from: `/appliance/${options.uuid}/publish`,
      timestamp,
      timestampMs: 23,
      sign: sign(request.messageId, options.key, timestamp),
    },
    payload,
  };
}

/** A 32-char uuid that, like real ones, is not always hex. */
export const plugUuid: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(...'0123456789abcdefh'),
  minLength: 32,
  maxLength: 32,
});

/** Keys that would stand out anywhere they leak to. */
export const secretKey: fc.Arbitrary<string> = fc
  .string({ unit: fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'), minLength: 12, maxLength: 12 })
  .map((s) => `SECRET-KEY-${s}`);
