// The node-gyp build (npm run build:gyp) produces the same addon, and it loads and runs.
// Builds it first when missing or older than the native sources (about 2 minutes on 2 cores).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/native.js';

const addon = join(packageRoot, 'build-gyp', 'Release', 'specfuse.node');

function newestSource(): number {
  let newest = 0;
  for (const f of readdirSync(join(packageRoot, 'native'), { recursive: true }) as string[]) {
    newest = Math.max(newest, statSync(join(packageRoot, 'native', f)).mtimeMs);
  }
  return Math.max(newest, statSync(join(packageRoot, 'binding.gyp')).mtimeMs);
}

t.test('node-gyp build loads and runs a forward', async (t) => {
  if (!existsSync(addon) || statSync(addon).mtimeMs < newestSource()) {
    execFileSync(process.execPath, [join(packageRoot, 'scripts', 'build-gyp.mjs')], { cwd: packageRoot, stdio: 'ignore' });
  }
  t.ok(existsSync(addon), 'build-gyp/Release/specfuse.node exists');
  const script = `
    import { createModel, ones, torchVersion, memory } from '${join(packageRoot, 'lib', 'index.ts')}';
    import { native } from '${join(packageRoot, 'lib', 'native.ts')}';
    const m = createModel({ model: 'mlp', inFeatures: 2, outFeatures: 1 });
    const y = await m.forward({ x: ones([3, 2]) });
    console.log(JSON.stringify({ addon: native === undefined ? null : 'ok', shape: y.shape, torchVersion }));
  `;
  const out = execFileSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: packageRoot,
    env: { ...process.env, SPECFUSE_ADDON: addon },
    encoding: 'utf8',
  });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  t.same(r.shape, [3, 1]);
  t.match(r.torchVersion, /^\d+\.\d+\.\d+$/);
});
