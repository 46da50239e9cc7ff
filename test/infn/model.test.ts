// INFN model: forward shapes (×4, ×8, batch > 1), parameter counts of the presets against the
// architecture formula (computed here, independently of the C++), state-dict names, the switches,
// query chunking, and clear errors for bad inputs and configs.
import t from 'tap';
import { createModel, INFN_PRESETS, manualSeed, rand, zeros, type InfnOptions, type Module, type Tensor } from '../../lib/index.js';

const conv = (cin: number, cout: number, k = 3) => cin * cout * k * k + cout;
const lin = (cin: number, cout: number) => cin * cout + cout;
/** EDSR-baseline: head conv, blocks × (2 convs), tail conv (LIIF's edsr-baseline, no upsampler). */
const edsr = (cin: number, f: number, blocks: number) => conv(cin, f) + blocks * 2 * conv(f, f) + conv(f, f);
function expectedCounts(o: InfnOptions) {
  const spaIn = o.msiBands + (o.spatialInput === 'cat' ? o.bands : 0);
  const widths = [3 * o.feats + 2 + (o.hfMsi ? o.feats : 0), ...o.mlpHidden, o.bands];
  let imnet = 0;
  for (let i = 0; i + 1 < widths.length; i++) imnet += lin(widths[i]!, widths[i + 1]!);
  return { spa_encoder: edsr(spaIn, o.feats, o.blocks), spe_encoder: edsr(o.bands, o.feats, o.blocks), imnet };
}

function inputs(b: number, S: number, s: number, h: number, w: number, r: number): Record<string, Tensor> {
  return { lrhsi: rand([b, S, h, w]), msi: rand([b, s, r * h, r * w]), hsi_up: rand([b, S, r * h, r * w]) };
}
const dispose = (x: Record<string, Tensor>) => {
  for (const v of Object.values(x)) v.dispose();
};

t.test('parameter counts of every preset equal the architecture formula', async (t) => {
  for (const [name, o] of Object.entries(INFN_PRESETS)) {
    const m = createModel({ model: 'infn', preset: name as 'cave' });
    const c = m.parameterCounts();
    const want = expectedCounts(o);
    t.same(Object.fromEntries(Object.entries(c.modules).map(([k, v]) => [k, v.total])), want, `${name}: per module`);
    t.equal(c.total, want.spa_encoder + want.spe_encoder + want.imnet, `${name}: total`);
    t.equal(c.trainable, c.total, `${name}: one stage, everything trainable`);
    m.dispose();
  }
  // inf.md §3: 2.87 M with MLP [256, 128]; the FeINFN encoder counts of §2.3.
  const cave = createModel({ model: 'infn', preset: 'cave' });
  const mods = cave.parameterCounts().modules;
  t.equal(mods.spa_encoder!.total, 1_367_552);
  t.equal(mods.spe_encoder!.total, 1_364_096);
  t.equal(cave.parameterCounts().total, 2_867_615);
  cave.dispose();
  // the switches change the counts as the formula says
  for (const extra of [{ hfMsi: true }, { spatialInput: 'msi' as const }, { mlpHidden: [1024, 512, 256, 128] }, { mlpHidden: [] }, { blocks: 0 }]) {
    const o = { ...INFN_PRESETS.tiny, bands: 20, ...extra };
    const m = createModel({ model: 'infn', preset: 'tiny', bands: 20, ...extra });
    const want = expectedCounts(o);
    t.equal(m.parameterCounts().total, want.spa_encoder + want.spe_encoder + want.imnet, JSON.stringify(extra));
    m.dispose();
  }
});

t.test('state-dict names: LIIF EDSR-baseline keys, imnet Linear layers, the fixed high-pass buffer', async (t) => {
  const m = createModel({ model: 'infn', preset: 'tiny', blocks: 2, mlpHidden: [64, 32] });
  const names = m.namedParameters().map((p) => `${p.name} [${p.shape.join(',')}]`);
  const f = INFN_PRESETS.tiny.feats;
  const enc = (pre: string, cin: number) => [
    `${pre}.head.0.weight [${f},${cin},3,3]`,
    `${pre}.head.0.bias [${f}]`,
    ...[0, 1].flatMap((b) => [0, 2].flatMap((c) => [`${pre}.body.${b}.body.${c}.weight [${f},${f},3,3]`, `${pre}.body.${b}.body.${c}.bias [${f}]`])),
    `${pre}.body.2.weight [${f},${f},3,3]`,
    `${pre}.body.2.bias [${f}]`,
  ];
  t.same(names, [
    ...enc('spa_encoder', 34),
    ...enc('spe_encoder', 31),
    `imnet.0.weight [64,${3 * f + 2}]`,
    'imnet.0.bias [64]',
    'imnet.2.weight [32,64]',
    'imnet.2.bias [32]',
    'imnet.4.weight [31,32]',
    'imnet.4.bias [31]',
  ]);
  const bufs = m.namedBuffers();
  t.same(
    bufs.map((b) => [b.name, b.shape]),
    [['hp_kernel', [f, 1, 3, 3]]],
  );
  const k = m.getTensor('hp_kernel');
  t.same(Array.from(k.dataSync() as Float32Array).slice(0, 18), [0, -1, 0, -1, 1, -1, 0, -1, 0, 0, -1, 0, -1, 1, -1, 0, -1, 0]);
  k.dispose();
  m.dispose();
});

t.test('forward shapes at ×4 and ×8, batch 2, and the zero-initialised head starts at HSI_up', async (t) => {
  for (const r of [4, 8]) {
    const m = createModel({ model: 'infn', preset: 'tiny', bands: 20, ratio: r });
    const x = inputs(2, 20, 3, 6, 5, r);
    const out = await m.forward(x);
    t.same(out.shape, [2, 20, 6 * r, 5 * r], `×${r}`);
    t.ok(out.allclose(x.hsi_up!, 0, 0), `×${r}: untrained output = hsi_up exactly (zeroHead)`);
    out.dispose();
    dispose(x);
    m.dispose();
  }
  manualSeed(3);
  const m = createModel({ model: 'infn', preset: 'tiny', bands: 20, zeroHead: false });
  const x = inputs(1, 20, 3, 4, 4, 4);
  const out = await m.forward(x);
  t.notOk(out.allclose(x.hsi_up!, 1e-3, 1e-3), 'zeroHead: false adds a non-zero residual');
  out.dispose();
  dispose(x);
  m.dispose();
});

t.test('query chunking and the switches: same result for any chunk size; each switch runs', async (t) => {
  const variants: Array<Record<string, unknown>> = [
    {},
    { hfMsi: true },
    { spatialInput: 'msi' },
    { weighting: 'cosine' },
    { border: 'clamp' },
    { temperature: 0.5 },
  ];
  for (const v of variants) {
    const build = (chunk: number): Module => {
      manualSeed(7);
      return createModel({ model: 'infn', preset: 'tiny', bands: 20, zeroHead: false, chunk, ...v });
    };
    const a = build(1 << 20),
      b = build(37);
    const x = inputs(2, 20, 3, 5, 6, 4);
    const ya = await a.forward(x),
      yb = await b.forward(x);
    t.same(ya.shape, [2, 20, 20, 24], JSON.stringify(v));
    t.ok(ya.allclose(yb, 1e-5, 1e-6), `${JSON.stringify(v)}: chunk 37 = one chunk`);
    for (const y of [ya, yb]) y.dispose();
    dispose(x);
    a.dispose();
    b.dispose();
  }
});

t.test('bad inputs give clear errors, never an abort', async (t) => {
  const m = createModel({ model: 'infn', preset: 'tiny', bands: 20, ratio: 4 });
  const ok = () => inputs(2, 20, 3, 4, 4, 4);
  const cases: Array<[string, (x: Record<string, Tensor>) => void, RegExp]> = [
    [
      'wrong HSI bands',
      (x) => {
        x.lrhsi!.dispose();
        x.lrhsi = rand([2, 19, 4, 4]);
      },
      /inputs\.lrhsi: expected 20 bands/,
    ],
    [
      'wrong MSI bands',
      (x) => {
        x.msi!.dispose();
        x.msi = rand([2, 4, 16, 16]);
      },
      /inputs\.msi: expected 3 bands/,
    ],
    [
      'H != r·h',
      (x) => {
        x.msi!.dispose();
        x.msi = rand([2, 3, 15, 16]);
      },
      /inputs\.msi: expected H x W = 16 x 16 \(config\.ratio 4/,
    ],
    [
      'hsi_up size',
      (x) => {
        x.hsi_up!.dispose();
        x.hsi_up = rand([2, 20, 16, 12]);
      },
      /inputs\.hsi_up: expected shape \[2, 20, 16, 16\]/,
    ],
    [
      'batch mismatch',
      (x) => {
        x.msi!.dispose();
        x.msi = rand([1, 3, 16, 16]);
      },
      /batch sizes differ/,
    ],
    [
      '3-D input',
      (x) => {
        x.lrhsi!.dispose();
        x.lrhsi = rand([20, 4, 4]);
      },
      /inputs\.lrhsi: expected a 4-D/,
    ],
    [
      'float64',
      (x) => {
        x.lrhsi!.dispose();
        x.lrhsi = zeros([2, 20, 4, 4], 'float64');
      },
      /inputs\.lrhsi: expected dtype float32/,
    ],
    [
      'missing input',
      (x) => {
        x.hsi_up!.dispose();
        delete x.hsi_up;
      },
      /hsi_up/,
    ],
  ];
  for (const [what, edit, re] of cases) {
    const x = ok();
    edit(x);
    await t.rejects(m.forward(x), re, what);
    dispose(x);
  }
  const x = ok();
  await t.rejects(m.forward(x, { stage: 2 }), /infn has one stage/);
  dispose(x);
  m.dispose();
});

t.test('bad configs are rejected at the edge with the option named', async (t) => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ preset: 'wv3' }, /config\.preset/],
    [{ ratio: 0 }, /config\.ratio/],
    [{ bands: 2.5 }, /config\.bands/],
    [{ mlpHidden: [64, 0] }, /config\.mlpHidden\[1\]/],
    [{ mlpHidden: '64' }, /config\.mlpHidden: expected an array/],
    [{ weighting: 'learned' }, /config\.weighting/],
    [{ border: 'reflect' }, /config\.border/],
    [{ spatialInput: 'pan' }, /config\.spatialInput/],
    [{ temperature: 0 }, /config\.temperature/],
    [{ nFeats: 3 }, /config\.nFeats: unknown option/],
  ];
  for (const [c, re] of bad) t.throws(() => createModel({ model: 'infn', ...c } as never), re, JSON.stringify(c));
});
