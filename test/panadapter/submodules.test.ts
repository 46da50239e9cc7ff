// Per-submodule parity with the PyTorch oracle: every named intermediate of the forward (SSPEN priors,
// prior tokens, ViT stem, each adapter's ViT tokens and prior streams, the ViT output, the output)
// agrees to 1e-5 relative, for the tiny preset (8 and 4 bands, with and without tailUsesVit) and the
// full WV3 preset, stages 1 and 2, from the same weights.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, fromHost, loadWeights, type Tensor } from '../../lib/index.js';
import { loadCheckpointFileSync } from '../../lib/checkpoint-formats/index.js';
import { PYTHON } from '../helpers/locations.js';

const script = fileURLToPath(new URL('./fixtures/taps.py', import.meta.url));

async function maxRel(a: Tensor, b: Tensor): Promise<number> {
  const x = (await a.to('float64').data()) as Float64Array,
    y = (await b.to('float64').data()) as Float64Array;
  let diff = 0,
    ref = 0;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    ref = Math.max(ref, Math.abs(y[i]!));
  }
  return ref === 0 ? diff : diff / ref;
}

const cases: Array<[string, string, number, boolean, number]> = [
  ['tiny, 8 bands', 'tiny', 8, false, 2],
  ['tiny, 4 bands, tail sees the ViT', 'tiny', 4, true, 3],
  ['full WV3', 'wv3', 8, false, 1],
];

for (const [label, preset, bands, tailUsesVit, batch] of cases) {
  t.test(`submodule parity: ${label}`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'specfuse-taps-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync(PYTHON, [script, dir, preset, String(bands), tailUsesVit ? '1' : '0', String(batch)]);
    const ref = loadCheckpointFileSync(join(dir, 'taps.safetensors'));
    using model = createModel({ model: 'panadapter', preset: preset as 'tiny', bands, tailUsesVit });
    await loadWeights(model, join(dir, 'weights.pt'));
    using lms = fromHost(ref.get('in.lms')!);
    using pan = fromHost(ref.get('in.pan')!);
    using ms = fromHost(ref.get('in.ms')!);
    for (const stage of [1, 2]) {
      const taps = await model.forwardTaps({ lms, pan, ms }, { stage });
      const expected = [...ref.keys()].filter((k) => k.startsWith(`s${stage}.`)).map((k) => k.slice(3));
      t.same(Object.keys(taps).sort(), expected.sort(), `stage ${stage}: the same ${expected.length} intermediates`);
      for (const name of expected) {
        using want = fromHost(ref.get(`s${stage}.${name}`)!);
        const got = taps[name]!;
        t.same(got.shape, want.shape, `stage ${stage} ${name} shape`);
        const rel = await maxRel(got, want);
        t.ok(rel < 1e-5, `stage ${stage} ${name}: max relative error ${rel.toExponential(2)}`);
      }
      for (const v of Object.values(taps)) v.dispose();
    }
  });
}
