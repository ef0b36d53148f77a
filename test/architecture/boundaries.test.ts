import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The map of rooms (docs/architecture.md): which room may import which. A room is a folder of src/ (`meross/`) or a
 * file at its top (`config.ts`). Imports inside one room are free; anything else must be listed here.
 */
const BASE = ['meross/', 'storage/', 'settings.ts'] as const;
/** Helper rooms that import nothing of the project: every room may use them, the base included. */
const HELPERS = ['util/', 'claims/'] as const;

const MAP: Readonly<Record<string, readonly string[]>> = {
  'meross/': [],
  'storage/': [],
  'settings.ts': [],
  'util/': [],
  'claims/': [],
  'cloud/': [...BASE],
  'discovery/': [...BASE],
  'push/': [...BASE],
  'simulator/': [...BASE],
  'plug/': [...BASE, 'push/'],
  'registry/': [...BASE, 'cloud/', 'discovery/', 'push/', 'plug/', 'config.ts'],
  'homekit/': [...BASE, 'plug/', 'registry/'],
  'matter/': [...BASE, 'plug/', 'registry/'],
  'config.ts': [...BASE, 'cloud/', 'discovery/', 'push/'],
  // The entry points may import anything; nothing imports them.
  'platform.ts': ['*'],
  'index.ts': ['*'],
  'cli.ts': ['*'],
  'cli/': ['*'],
  // The settings UI server's one way in (homebridge-ui/server.js loads nothing else from dist/).
  'ui-entry.ts': [...BASE, 'cloud/', 'discovery/'],
};
/** Rooms nobody else may import. */
const ENTRIES = new Set(['platform.ts', 'index.ts', 'cli.ts', 'cli/', 'ui-entry.ts']);

/**
 * Imports that break the map today: each is a debt to pay off, and this list only shrinks. (Empty: keep it so.)
 * Format: `<importing file> -> <imported file>`, both relative to src/.
 */
const DEBTS: readonly string[] = [];

/** Import circles that exist today, each a debt to remove (this list only shrinks). (Empty: keep it so.) */
const CIRCLE_DEBTS: readonly string[] = [];

/** Files outside src/ that src/ may import (data, not code). */
const OUTSIDE = new Set(['../package.json']);

const SRC = resolve(__dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `meross/` for src/meross/client.ts, `config.ts` for src/config.ts. */
function roomOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length === 1 ? parts[0] : `${parts[0]}/`;
}

/** Every relative module an `import`, `export … from`, `import()` or `require()` in the file names. */
function specifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter((s) => s.startsWith('.'));
}

/** The file a relative specifier names: `./x` → x.ts or x/index.ts. */
function resolveImport(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`${relative(SRC, from)}: cannot resolve ${specifier}`);
}

const files = sources(SRC);
const graph = new Map(files.map((file) => [file, specifiers(file).map((s) => resolveImport(file, s))]));

/** Why `from` may not import `to`, or undefined when the map allows it. */
function breach(from: string, to: string): string | undefined {
  const [a, b] = [roomOf(from), roomOf(to)];
  if (relative(SRC, to).startsWith('..')) return OUTSIDE.has(relative(SRC, to)) ? undefined : `${relative(SRC, to)} is outside src/`;
  if (a === b) return undefined;
  if (!(a in MAP)) return `${a} is not on the map of rooms`;
  if (!(b in MAP)) return `${b} is not on the map of rooms`;
  // An entry point may start another (index.ts loads the platform, cli.ts runs cli/main).
  if (ENTRIES.has(b)) return ENTRIES.has(a) ? undefined : `${b} is an entry point: nothing imports it`;
  if ((HELPERS as readonly string[]).includes(b)) return undefined;
  const allowed = MAP[a];
  return allowed.includes('*') || allowed.includes(b) ? undefined : `${a} may not import ${b}`;
}

function breaches(): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const why = breach(from, to);
      if (why) found.push(`${relative(SRC, from)} -> ${relative(SRC, to)} (${why})`);
    }
  }
  return [...new Set(found)].sort();
}

/** Each import circle between files, once, as the path that closes it. */
function circles(imports: ReadonlyMap<string, readonly string[]> = graph): string[] {
  const found = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const walk = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of imports.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const loop = stack.slice(stack.indexOf(next)).map((f) => relative(SRC, f));
        // The same circle found from another file is the same circle: name it from its smallest file.
        const start = loop.indexOf([...loop].sort()[0]);
        found.add([...loop.slice(start), ...loop.slice(0, start), loop[start]].join(' -> '));
      } else if (!state.has(next)) {
        walk(next);
      }
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of imports.keys()) if (!state.has(file)) walk(file);
  return [...found].sort();
}

describe('the map of rooms', () => {
  it('finds the source files and their imports', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get(join(SRC, 'platform.ts'))?.length).toBeGreaterThan(5);
  });

  it('puts every file of src/ in a room on the map', () => {
    expect(files.map(roomOf).filter((room) => !(room in MAP))).toEqual([]);
  });

  it('allows only the imports the map allows (the debts listed excepted)', () => {
    const found = breaches();
    const debts = new Set(DEBTS);
    expect(found.filter((b) => !debts.has(b.replace(/ \(.*\)$/, '')))).toEqual([]);
    // A debt paid off leaves the list too, so the list only shrinks.
    expect(DEBTS.filter((d) => !found.some((b) => b.startsWith(`${d} (`)))).toEqual([]);
  });

  it('has no import circle between files (the debts listed excepted)', () => {
    const found = circles();
    expect(found.filter((c) => !CIRCLE_DEBTS.includes(c))).toEqual([]);
    expect(CIRCLE_DEBTS.filter((c) => !found.includes(c))).toEqual([]);
  });

  it('keeps src/meross/ free of the project and of Homebridge', () => {
    const meross = files.filter((f) => roomOf(f) === 'meross/');
    const outside = meross.flatMap((f) => (graph.get(f) ?? []).filter((t) => roomOf(t) !== 'meross/').map((t) => `${relative(SRC, f)} -> ${relative(SRC, t)}`));
    expect(outside).toEqual([]);
    const homebridge = meross.filter((f) => /from ['"](homebridge|hap-nodejs|@homebridge\/)/.test(readFileSync(f, 'utf8')));
    expect(homebridge).toEqual([]);
  });

  it('keeps the plug model and the registry free of Homebridge, HAP and Matter', () => {
    const rooms = new Set(['plug/', 'registry/', 'push/', 'discovery/', 'cloud/']);
    const homebridge = files.filter((f) => rooms.has(roomOf(f)) && /from ['"](homebridge|hap-nodejs|@homebridge\/|@matter\/)/.test(readFileSync(f, 'utf8')));
    expect(homebridge.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('lets nobody reach through a plug into its client or options (the model owns its surface)', () => {
    const reaching = files
      .filter((f) => roomOf(f) !== 'plug/')
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((line, i) => [f, i + 1, line] as const))
      .filter(([, , line]) => /\b\w*plug\.(client|options)\b/i.test(line))
      .map(([f, n]) => `${relative(SRC, f)}:${n}`);
    expect(reaching).toEqual([]);
  });

  it('catches a breach and a circle when it sees one (the checks themselves work)', () => {
    expect(breach(join(SRC, 'meross/client.ts'), join(SRC, 'plug/plug.ts'))).toBe('meross/ may not import plug/');
    expect(breach(join(SRC, 'push/hub.ts'), join(SRC, 'config.ts'))).toBe('push/ may not import config.ts');
    expect(breach(join(SRC, 'plug/plug.ts'), join(SRC, 'platform.ts'))).toBe('platform.ts is an entry point: nothing imports it');
    expect(breach(join(SRC, 'plug/plug.ts'), join(SRC, 'util/describe.ts'))).toBeUndefined();
    expect(breach(join(SRC, 'homekit/outlet.ts'), join(SRC, 'plug/plug.ts'))).toBeUndefined();
    expect(breach(join(SRC, 'index.ts'), join(SRC, 'platform.ts'))).toBeUndefined();
    expect(breach(join(SRC, 'settings.ts'), resolve(SRC, '../test/x.ts'))).toBe('../test/x.ts is outside src/');
    const [a, b, c] = ['a.ts', 'b.ts', 'c.ts'].map((f) => join(SRC, f));
    const loop = new Map([[b, [c]], [c, [a]], [a, [b]]]);
    expect(circles(loop)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts']);
    expect(circles(new Map([[a, [b, c]], [b, [c]], [c, []]]))).toEqual([]);
  });

  it('lets the settings UI server load the plugin only through src/ui-entry.ts', () => {
    const server = readFileSync(resolve(SRC, '../homebridge-ui/server.js'), 'utf8');
    const loaded = [...server.matchAll(/require\(\s*['"]([^'"]+)['"]\s*\)|from\s+['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1] ?? m[2]);
    expect(loaded.filter((m) => m.startsWith('.'))).toEqual(['../dist/ui-entry.js']);
  });
});
