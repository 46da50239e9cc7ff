// Repository hygiene that review alone does not hold: lib/ has no import cycles (a module that
// imports one that imports it back sees half-initialised exports, order-dependent), no two files
// in lib/ or native/ share a name across folders (three hyperspectral.ts files say nothing about
// which is which), and no tracked file names an absolute path of the machine it was written on
// (they break on every other one).
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LIB = join(REPO, 'lib');

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

/** Names (basenames) that more than one file under `files` has, with those files; index.ts, a folder's entry point by convention, is left out. */
function sharedNames(files: readonly string[]): Record<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const f of files) {
    const name = basename(f);
    if (name === 'index.ts') continue;
    byName.set(name, [...(byName.get(name) ?? []), f]);
  }
  return Object.fromEntries([...byName].filter(([, fs]) => fs.length > 1).map(([n, fs]) => [n, fs.sort()]));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : n.endsWith('.ts') ? [p] : [];
  });
}

/**
 * The relative modules a file loads at run time: static imports and re-exports, not `import type`
 * / `export type` or imports whose every name is a type (erased), nor dynamic import() (lazy).
 */
function runtimeImports(file: string, source: string): string[] {
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) {
    const spec = m[4] ?? m[5]!;
    if (m[2]) continue;
    const names = m[3] ?? '';
    const braces = /^\{([\s\S]*)\}$/.exec(names.trim());
    if (
      braces &&
      braces[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith('type '))
    )
      continue;
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

/** Every cycle's members (strongly connected components of more than one file, or a self-import). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(),
    low = new Map<string, number>(),
    stack: string[] = [],
    on = new Set<string>(),
    found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

t.test('the cycle finder finds cycles (so that its silence means something)', async (t) => {
  const src = "import { a } from './a.js';\nimport type { B } from './b.js';\nimport { type C } from './c.js';\nexport * from './d.js';\n";
  t.same(runtimeImports('/x/y.ts', src), ['/x/a.ts', '/x/d.ts'], 'type-only imports are erased, re-exports count');
  t.same(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
        ['d', ['a']],
      ]),
    ),
    [['a', 'b', 'c']],
  );
  t.same(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    [],
  );
});

t.test('no import cycles in lib/', async (t) => {
  const graph = new Map<string, string[]>();
  for (const f of tsFiles(LIB)) graph.set(f, runtimeImports(f, readFileSync(f, 'utf8')));
  t.ok(graph.size > 50, `${graph.size} files read`);
  const found = cycles(graph).map((c) => c.map((f) => relative(REPO, f)).join(' <-> '));
  t.same(found, [], 'no cycles');
});

t.test('no two files in lib/ or native/ share a name across folders', async (t) => {
  t.same(
    sharedNames(['a/x.ts', 'b/x.ts', 'a/index.ts', 'b/index.ts', 'c/y.ts']),
    { 'x.ts': ['a/x.ts', 'b/x.ts'] },
    'the check finds a shared name, and allows index.ts',
  );
  for (const dir of ['lib', 'native']) {
    // native/dist/gloo_api/ declares gloo's own headers under gloo's own names (ProcessGroupGloo.hpp
    // includes them by those names): they are a mirror of another project's layout, not our files
    const files = allFiles(join(REPO, dir)).filter((f) => !relative(REPO, f).startsWith('native/dist/gloo_api/'));
    t.ok(files.length > 20, `${files.length} files in ${dir}/`);
    const shared = sharedNames(files.map((f) => relative(REPO, f)));
    t.same(shared, {}, `no shared names in ${dir}/`);
  }
});

// The `duplicates` tool (where the machine has it: it is not a dependency) lists places sharing six
// or more lines. The workflows and the CLI were written to hold each piece of work once: no run of
// lines there may stand again to the letter elsewhere in lib/ (rows marked `shape` share only a
// form, such as an Error subclass's constructor, and are left to review).
const hasDuplicates = spawnSync('duplicates', ['--help'], { encoding: 'utf8' }).error === undefined;
t.test(
  'duplicates: no repeated code in lib/workflows and lib/cli',
  { skip: hasDuplicates ? false : 'the duplicates tool is not installed here' },
  async (t) => {
    const out = spawnSync('duplicates', ['--repo', LIB, '--most', '200', '--seconds', '120'], { encoding: 'utf8' }).stdout;
    t.notMatch(out, /^incomplete:/m, 'the whole of lib/ was read and paired');
    const copies = (text: string) => text.split('\n').filter((l) => /(^D\d+ |~ )(workflows|cli)\//.test(l) && !/\bshape\b/.test(l));
    t.same(
      copies('D1 workflows/a.ts:1-9 ~ data/b.ts:4-12\nD2 data/c.ts:1-6 ~ cli/d.ts:1-6 shape\nD3 data/e.ts:1-6 ~ cli/f.ts:2-7'),
      ['D1 workflows/a.ts:1-9 ~ data/b.ts:4-12', 'D3 data/e.ts:1-6 ~ cli/f.ts:2-7'],
      'the filter keeps copies on either side, not shapes',
    );
    t.same(copies(out), [], 'no run of lines in workflows/ or cli/ repeated to the letter');
  },
);

t.test("package.json's scripts run files that exist", async (t) => {
  const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const missing: string[] = [];
  for (const [name, command] of Object.entries(scripts)) {
    for (const m of command.matchAll(/\bnode\s+(\S+\.m?[jt]s)\b/g)) {
      try {
        statSync(join(REPO, m[1]!));
      } catch {
        missing.push(`${name}: ${m[1]}`);
      }
    }
  }
  t.same(missing, [], 'every `node FILE` script points at a file');
});

t.test('no absolute machine paths in tracked files', async (t) => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' }).split('\0').filter(Boolean);
  // a path rooted in a home, a work or a mount folder: '/work/…', '/home/…', '/Users/…', '/mnt/…', '/root/…'
  const absolute = /(^|[\s'"`(=:,[])\/(work|home|Users|mnt|root)\/[A-Za-z0-9._-]/m;
  const hits: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(join(REPO, f), 'utf8');
    } catch {
      continue;
    } // a listed file that is gone in this checkout
    if (text.includes('\0')) continue; // binary
    const lines = text.split('\n');
    lines.forEach((l, i) => {
      if (absolute.test(l)) hits.push(`${f}:${i + 1}: ${l.trim().slice(0, 120)}`);
    });
  }
  t.same(hits, [], 'none');
  // (built from parts, so that this file does not hold what it forbids)
  t.ok(absolute.test(`const DATA = '/${'work'}/shared/data';`) && !absolute.test("resolve(REPO, '../shared/data')"), 'the pattern tells the two apart');
});

// tap's default `exclude` (**/@(fixture*(s)|dist)/**) drops test files in such folders without a
// word: the data-parallel tests sat in test/dist/ and never ran in `npm test` until this check.
t.test('every *.test.ts file is one tap runs (none under a dist/ or fixtures/ folder)', async (t) => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { tap?: { include?: string[]; exclude?: string[] } };
  t.same(pkg.tap?.include, ['test/**/*.test.ts'], 'tap includes test/**/*.test.ts');
  t.equal(pkg.tap?.exclude, undefined, "tap's default exclude is the one this check knows");
  const tests = allFiles(join(REPO, 'test'))
    .map((f) => relative(REPO, f))
    .filter((f) => f.endsWith('.test.ts'));
  t.ok(tests.length > 50, `${tests.length} test files`);
  const hidden = tests.filter((f) =>
    f
      .split('/')
      .slice(0, -1)
      .some((d) => d === 'dist' || /^fixtures?$/.test(d) || /^fixture/.test(d)),
  );
  t.same(hidden, [], `test files tap would skip: ${hidden.join(', ')}`);
});
