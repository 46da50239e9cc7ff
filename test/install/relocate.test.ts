// A built project folder moved elsewhere keeps working without a rebuild: the addon finds libtorch
// relative to itself ($ORIGIN) when libtorch lives inside the project (.venv), and the build record
// names it relative to itself too.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { packageRoot } from '../../lib/native.js';

const info = join(packageRoot, 'build', 'specfuse-build.json');
const recorded = existsSync(info) ? (JSON.parse(readFileSync(info, 'utf8')) as { libtorch: string }).libtorch : null;
const skip = recorded === null ? 'no cmake-js build' : isAbsolute(recorded) ? `libtorch outside the project (${recorded}): only a .venv build moves` : false;

/** Copies a tree with hard links for files (the 1 GB of libtorch costs no disk), falling back to copies. */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const st = statSync(src);
    if (st.isDirectory()) linkTree(src, dst);
    else {
      try {
        linkSync(src, dst);
      } catch {
        cpSync(src, dst);
      }
    }
  }
}

t.test('a copied project runs a forward from its new place, with the copied libtorch', { skip }, async (t) => {
  // Inside the project: the same file system, so hard links work. Ignored by git (tmp/).
  mkdirSync(join(packageRoot, 'tmp'), { recursive: true });
  const copy = mkdtempSync(join(packageRoot, 'tmp', 'relocated-'));
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  for (const f of ['package.json', 'lib', 'build']) cpSync(join(packageRoot, f), join(copy, f), { recursive: true });
  const site = join(packageRoot, 'build', recorded!, '..');
  linkTree(site, join(copy, relative(packageRoot, site)));
  // JavaScript dependencies are not what moves here; the addon and libtorch are.
  symlinkSync(join(packageRoot, 'node_modules'), join(copy, 'node_modules'));

  const script = `
    import { readFileSync } from 'node:fs';
    import { createModel, ones } from './lib/index.ts';
    const m = createModel({ model: 'mlp', inFeatures: 2, outFeatures: 3 });
    const y = await m.forward({ x: ones([4, 2]) });
    const maps = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5] ?? '');
    const loaded = (name) => [...new Set(maps.filter((p) => p.endsWith('/' + name)))];
    console.log(JSON.stringify({ shape: y.shape, torch: loaded('libtorch_cpu.so'), addon: loaded('specfuse.node') }));
  `;
  const env = { ...process.env };
  delete env.SPECFUSE_ADDON;
  delete env.LIBTORCH;
  const out = execFileSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd: copy, env, encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { shape: number[]; torch: string[]; addon: string[] };
  t.same(r.shape, [4, 3], 'forward ran in the copy');
  t.same(r.addon, [join(copy, 'build', 'Release', 'specfuse.node')], "the copy's addon was loaded");
  t.equal(r.torch.length, 1, 'exactly one libtorch_cpu.so in the process');
  t.ok(r.torch[0]!.startsWith(copy + '/'), `libtorch from the copy: ${r.torch[0]}`);
});
