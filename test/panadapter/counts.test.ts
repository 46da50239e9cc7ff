// PanAdapter "done" criteria, parameter counts (reference §3): totals, stage-1 and stage-2 trainable
// counts for the full WV3 (8-band) and QB (4-band) presets, the per-module table of §3.1/§3.2, and
// `specfuse info --json` printing exactly those numbers. (Names, shapes and order against the PyTorch
// reference's dump_names.py layout are asserted in test/models/panadapter-parity.test.ts.)
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createModel, type Module, type ParameterCounts } from '../../lib/index.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'bin', 'specfuse.js');
const run = promisify(execFile);

const TOP = ['head', 'head_down', 'vit', 'sspen', 'a_proj', 'b_proj', 'adapters', 'tail2'];
const STAGE1 = ['sspen', 'a_proj', 'b_proj', 'tail2'];
const STAGE2 = ['adapters', 'a_proj', 'b_proj', 'tail2'];

// §3.1 (WV3, C = 8): top-level modules and the sub-rows of the table.
const WV3_MODULES: Record<string, number> = {
  head: 33_227_136,
  head_down: 5_308_992,
  vit: 115_636_608,
  sspen: 3_346_496,
  a_proj: 6_240,
  b_proj: 98_400,
  adapters: 1_729_446,
  tail2: 449_288,
};
const WV3_SUB: Record<string, number> = {
  'vit.encoder': 47_837_952,
  'vit.decoder': 63_777_024,
  'vit.linear_encoding': 332_352,
  'vit.mlp_head': 2_657_088,
  'vit._query_embed': 884_736,
  'vit._position_encoding': 147_456,
  'sspen.spe_edsr': 1_637_312,
  'sspen.spe_edsr.head': 418_688,
  'sspen.spe_edsr.body': 1_181_696,
  'sspen.spe_edsr.single_layer': 36_928,
  'sspen.spa_edsr': 1_637_888,
  'sspen.spa_edsr.head': 419_264,
  'sspen.spa_edsr.body': 1_181_696,
  'sspen.spa_edsr.single_layer': 36_928,
  'sspen.spe_lpes': 19_200,
  'sspen.spa_lpes': 19_200,
  'sspen.spe_proj': 16_448,
  'sspen.spa_proj': 16_448,
};
for (let l = 0; l < 16; l++) WV3_SUB[`sspen.spe_lpes.${l}`] = WV3_SUB[`sspen.spa_lpes.${l}`] = 1_200;
for (let a = 0; a < 6; a++) {
  Object.assign(WV3_SUB, {
    [`adapters.${a}`]: 288_241,
    [`adapters.${a}.vit_to_k`]: 55_392,
    [`adapters.${a}.k_to_vit`]: 55_872,
    [`adapters.${a}.ctf_spa`]: 60_600,
    [`adapters.${a}.ctf_spe`]: 60_600,
    [`adapters.${a}.ctf_spa.w`]: 4_728,
    [`adapters.${a}.ctf_spa.attn`]: 37_248,
    [`adapters.${a}.ctf_spa.ffn`]: 18_624,
    [`adapters.${a}.ctf_spe.w`]: 4_728,
    [`adapters.${a}.ctf_spe.attn`]: 37_248,
    [`adapters.${a}.ctf_spe.ffn`]: 18_624,
    [`adapters.${a}.cti`]: 55_777,
    [`adapters.${a}.cti.fus`]: 18_528,
    [`adapters.${a}.cti.attn`]: 37_248,
    [`adapters.${a}.cti.scale`]: 1,
  });
}

interface Expected {
  total: number;
  stage1: number;
  stage2: number;
  modules: Record<string, number>;
  sub: Record<string, number>;
}

const EXPECTED: Record<'wv3' | 'qb', Expected> = {
  wv3: {
    total: 159_802_606,
    stage1: 3_346_496 + 6_240 + 98_400 + 449_288,
    stage2: 2_283_374,
    modules: WV3_MODULES,
    sub: WV3_SUB,
  },
  // §3.2: the 4-band differences (stem SE/conv, both EDSR heads, tail output); all else as WV3.
  qb: {
    total: 159_774_954,
    stage1: 3_346_496 - 2_304 - 2_304 + 6_240 + 98_400 + 446_980,
    stage2: 2_281_066,
    modules: { ...WV3_MODULES, head: 33_206_400, sspen: 3_346_496 - 2_304 - 2_304, tail2: 446_980 },
    sub: {
      ...WV3_SUB,
      'sspen.spe_edsr': 1_635_008,
      'sspen.spa_edsr': 1_635_584,
      'sspen.spe_edsr.head': 418_688 - 2_304,
      'sspen.spa_edsr.head': 419_264 - 2_304,
    },
  },
};

/** Parameters under a dotted prefix (the prefix itself or prefix + '.'). */
function countUnder(m: Module, prefix: string): number {
  let n = 0;
  for (const p of m.namedParameters()) if (p.name === prefix || p.name.startsWith(prefix + '.')) n += p.numel;
  return n;
}

/** The counts `specfuse info` must print for `stage`: every top-level module, trainable per the stage set. */
function expectedCounts(e: Expected, stage: 1 | 2): ParameterCounts {
  const trainable = stage === 1 ? STAGE1 : STAGE2;
  const modules: ParameterCounts['modules'] = {};
  for (const k of TOP) modules[k] = { total: e.modules[k]!, trainable: trainable.includes(k) ? e.modules[k]! : 0 };
  return { total: e.total, trainable: stage === 1 ? e.stage1 : e.stage2, modules };
}

async function cli(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { cwd: REPO, maxBuffer: 1 << 20 });
  return stdout;
}

const checkPreset = (preset: 'wv3' | 'qb') => async (t: Test) => {
  const e = EXPECTED[preset];
  const bands = preset === 'wv3' ? 8 : 4;
  using m = createModel({ model: 'panadapter', preset });
  t.equal(m.config.bands, bands, `${bands} bands`);

  const all = m.parameterCounts();
  t.equal(all.total, e.total, `total ${e.total.toLocaleString('en')}`);
  t.equal(all.trainable, e.total, 'before any stage: everything trainable');
  t.same(Object.keys(all.modules), TOP, 'top-level modules in order');
  for (const k of TOP) t.equal(all.modules[k]!.total, e.modules[k], `${k}: ${e.modules[k]!.toLocaleString('en')}`);
  t.equal(
    TOP.reduce((a, k) => a + e.modules[k]!, 0),
    e.total,
    'the §3 rows add up to the total',
  );

  for (const [prefix, n] of Object.entries(e.sub)) t.equal(countUnder(m, prefix), n, `${prefix}: ${n.toLocaleString('en')}`);
  const lpeProj = ['sspen.spe_lpes', 'sspen.spa_lpes', 'sspen.spe_proj', 'sspen.spa_proj'].reduce((a, p) => a + countUnder(m, p), 0);
  t.equal(lpeProj, 71_296, 'LPE + proj: 71,296');

  for (const stage of [1, 2] as const) {
    m.setStage(stage);
    const c = m.parameterCounts();
    t.same(c, expectedCounts(e, stage), `stage ${stage}: trainable ${c.trainable.toLocaleString('en')}, per-module counts`);
    const sets = stage === 1 ? STAGE1 : STAGE2;
    const wrong = m
      .namedParameters()
      .filter((p) => p.requiresGrad !== sets.includes(p.name.split('.')[0]!))
      .map((p) => p.name);
    t.same(wrong, [], `stage ${stage}: requiresGrad exactly on ${sets.join(', ')}`);
  }
  // the ratios quoted in §3
  m.setStage(2);
  const pct = (100 * m.parameterCounts().trainable) / e.total;
  t.equal(pct.toFixed(3), preset === 'wv3' ? '1.429' : '1.428', `stage-2 trainable ${pct.toFixed(3)}%`);
  if (preset === 'wv3') {
    m.setStage(1);
    t.equal(((100 * e.modules.sspen!) / e.total).toFixed(3), '2.094', 'SSPEN is 2.094% of the total');
  }
};

t.test('full WV3 preset (8 bands)', checkPreset('wv3'));
t.test('full QB preset (4 bands)', checkPreset('qb'));

t.test(
  '`specfuse info --json` prints the same counts',
  { skip: existsSync(join(REPO, 'dist', 'cli', 'main.js')) ? false : 'dist/ not built (npx tsc -p tsconfig.json)' },
  async (t) => {
    const cases: Array<[string[], Expected, 1 | 2]> = [
      [['--preset', 'wv3', '--stage', '2'], EXPECTED.wv3, 2],
      [['--preset', 'wv3', '--stage', '1'], EXPECTED.wv3, 1],
      [['--preset', 'qb', '--stage', '2'], EXPECTED.qb, 2],
      [['--preset', 'wv3', '--bands', '4', '--stage', '2'], EXPECTED.qb, 2],
    ];
    for (const [args, e, stage] of cases) {
      const out = await cli(['info', '--model', 'panadapter', ...args, '--json']);
      const lines = out.trim().split('\n');
      t.equal(lines.length, 1, `${args.join(' ')}: one JSON line`);
      t.same(JSON.parse(lines[0]!), expectedCounts(e, stage), `${args.join(' ')}: exactly the §3 counts`);
    }
    const text = await cli(['info', '--model', 'panadapter', '--preset', 'wv3', '--stage', '2']);
    t.match(text, /total\s+159,802,606/, 'text: total');
    t.match(text, /trainable\s+2,283,374 \(1\.429%\)/, 'text: trainable and ratio');
  },
);
