// CrossDiff's C++ port against an independent PyTorch implementation written from the reference
// (test/pyref/crossdiff.py): the state dict's names, shapes and order; both UNets' ε̂ at t = 333; the
// stage-2 fused image (zero feature noise) with the finest block used and with the released wiring;
// the cosine schedule. Tiny and reference widths.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, fromHost, type Tensor } from '../../lib/index.js';
import { readSafetensors } from '../../lib/checkpoint-formats/index.js';
import { pythonUnavailable, PYTHON } from '../protocol/helpers.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ORACLE = resolve(HERE, '../pyref/crossdiff.py');

async function maxRel(got: Tensor, want: Tensor): Promise<number> {
  const [a, b] = (await Promise.all([got.data(), want.data()])) as [Float32Array, Float32Array];
  let d = 0,
    r = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    r = Math.max(r, Math.abs(b[i]!));
  }
  return d / r;
}

t.test('CrossDiff equals the PyTorch oracle', { skip: pythonUnavailable() }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-crossdiff-oracle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(PYTHON, [ORACLE, dir], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const cases = [
    ['tiny', { preset: 'tiny' }],
    ['tiny8_released', { preset: 'tiny8', useFinest: false }],
    ['qb', { preset: 'qb' }],
  ] as const;
  for (const [name, config] of cases) {
    const layout = JSON.parse(readFileSync(join(dir, `${name}.layout.json`), 'utf8')) as { tensors: [string, number[]][] };
    const file = readSafetensors(readFileSync(join(dir, `${name}.safetensors`))).tensors;
    const m = createModel({ model: 'crossdiff', featureNoise: 'zero', ...config } as never);
    t.same(
      m.namedParameters().map((p) => [p.name, p.shape]),
      layout.tensors,
      `${name}: names, shapes and order`,
    );
    const weights: Record<string, Tensor> = {};
    for (const [k] of layout.tensors) weights[k] = fromHost(file.get(k)!);
    t.equal(m.loadTensors(weights), layout.tensors.length);
    for (const w of Object.values(weights)) w.dispose();
    const get = (k: string) => fromHost(file.get(k)!);
    const [lms, pan, xa, xb] = ['in.lms', 'in.pan', 'in.xt_p2m', 'in.xt_m2p'].map(get) as [Tensor, Tensor, Tensor, Tensor];
    const pan11 = pan.mul(2).sub(1),
      lms11 = lms.mul(2).sub(1);
    const checks: Array<[string, Tensor, string]> = [
      ['P2M ε̂ at t = 333', await m.call('denoise', { x_t: xa, cond: pan11 }, { net: 'p2m', t: 333 }), 'out.eps_p2m'],
      ['M2P ε̂ at t = 333', await m.call('denoise', { x_t: xb, cond: lms11 }, { net: 'm2p', t: 333 }), 'out.eps_m2p'],
      ['stage-2 fused image', await m.forward({ lms, pan }, { stage: 2 }), 'out.fused'],
    ];
    for (const [what, got, key] of checks) {
      const want = get(key);
      const e = await maxRel(got, want);
      t.ok(e < 1e-5, `${name}: ${what} (max |diff| / max |ref| = ${e.toExponential(2)})`);
      got.dispose();
      want.dispose();
    }
    const ab = await m.call('schedule', {});
    const wantAb = get('out.alpha_bar');
    t.ok(ab.allclose(wantAb, 0, 1e-12), `${name}: schedule`);
    for (const x of [ab, wantAb, lms, pan, xa, xb, pan11, lms11]) x.dispose();
    m.dispose();
  }
});
