// One authority per fact: the C++ option parsers (native/models/*_options) own every type, range and
// cross-key rule of a model config; TypeScript (lib/models) owns the key lists and typed presets. This
// runs every preset and a list of bad mutations (out of range, wrong type, unknown key, missing key)
// through both layers (the TypeScript resolve* functions and the registry's resolveModelConfig) and
// checks that they agree: both accept with the same values, or both reject with the same error class
// naming the same key. A limit re-checked in TypeScript, or a key or default known to one side only,
// fails here. Nothing is built, so the full-size presets cost nothing.
import t, { type Test } from 'tap';
import {
  CROSSDIFF_PRESETS,
  INFN_PRESETS,
  MLP_DEFAULTS,
  PANADAPTER_PRESETS,
  CNN_MODELS,
  modelNames,
  resolveCnnOptions,
  resolveCrossDiffOptions,
  resolveInfnOptions,
  resolveMlpOptions,
  resolvePanAdapterOptions,
} from '../../lib/models/index.js';
import { native, type ConfigValue } from '../../lib/native.js';
import { cnnSpecs } from '../../lib/models/cnn.js';
import { crossDiffSpec } from '../../lib/models/crossdiff.js';
import { infnSpec } from '../../lib/models/infn.js';
import { mlpSpec } from '../../lib/models/mlp.js';
import { panAdapterSpec } from '../../lib/models/panadapter.js';
import type { ModelSpec } from '../../lib/module.js';

type Flat = Record<string, ConfigValue>;

interface Family {
  /** registry names this family serves */
  names: readonly string[];
  presets: Record<string, object>;
  /** the preset used when none is given (undefined: the family has no presets) */
  defaultPreset?: string;
  /** TypeScript's resolution of a user config (throws its own or the C++ parser's errors) */
  resolve: (name: string, config: Record<string, unknown>) => object;
}

/** Options as C++ reads them (configs are flat: INFN's layer widths as "256,128"). */
function flat(o: object): Flat {
  const out: Flat = {};
  for (const [k, v] of Object.entries(o)) out[k] = Array.isArray(v) ? v.join(',') : (v as ConfigValue);
  return out;
}

const families: Family[] = [
  { names: ['panadapter'], presets: PANADAPTER_PRESETS, defaultPreset: 'wv3', resolve: (_, c) => resolvePanAdapterOptions({ model: 'panadapter', ...c }) },
  { names: ['crossdiff'], presets: CROSSDIFF_PRESETS, defaultPreset: 'qb', resolve: (_, c) => resolveCrossDiffOptions({ model: 'crossdiff', ...c }) },
  { names: ['infn'], presets: INFN_PRESETS, defaultPreset: 'cave', resolve: (_, c) => resolveInfnOptions({ model: 'infn', ...c }) },
  { names: ['mlp'], presets: { default: MLP_DEFAULTS }, resolve: (_, c) => resolveMlpOptions({ model: 'mlp', ...c }) },
  { names: CNN_MODELS, presets: { default: { bands: 8 } }, resolve: (n, c) => resolveCnnOptions({ model: n, ...c } as never) },
];

/** What a layer did with a config: accepted (with values) or rejected (class and the key named). */
type Outcome = { ok: true; values: Flat } | { ok: false; error: string; key: string | undefined; message: string };

function outcome(run: () => object): Outcome {
  try {
    return { ok: true, values: flat(run()) };
  } catch (e) {
    const err = e as Error;
    // "config.bands: ...", "config.mlpHidden[1]: ...": the key is the first path element
    const key = /^config\.([A-Za-z0-9_]+)/.exec(err.message)?.[1];
    return { ok: false, error: err.name, key, message: err.message };
  }
}

/** Where the two layers disagree, in words; undefined when they agree. */
function disagreement(ts: Outcome, cpp: Outcome): string | undefined {
  if (ts.ok && cpp.ok) {
    // C++ also reports the keys TypeScript did not give; compare the ones both have
    const differ = Object.keys(ts.values).filter((k) => !Object.is(ts.values[k], cpp.values[k]));
    return differ.length ? `both accept, but ${differ.map((k) => `${k}: ${String(ts.values[k])} vs ${String(cpp.values[k])}`).join(', ')}` : undefined;
  }
  if (!ts.ok && !cpp.ok) {
    if (!cpp.key) return `the C++ error names no key: ${cpp.message}`;
    if (ts.error !== cpp.error || ts.key !== cpp.key) return `TypeScript: ${ts.error} (${ts.message}); C++: ${cpp.error} (${cpp.message})`;
    // beyond the key list (whose "known" lists differ by model/preset), TypeScript's error is the C++
    // parser's own: a limit re-checked in TypeScript, even one that agrees, shows as another message
    if (!/: unknown option \(/.test(ts.message) && ts.message !== cpp.message) return `TypeScript says '${ts.message}', C++ '${cpp.message}'`;
    return undefined;
  }
  return `TypeScript ${ts.ok ? 'accepts' : `rejects (${ts.message})`}, C++ ${cpp.ok ? 'accepts' : `rejects (${cpp.message})`}`;
}

function agree(t: Test, name: string, ts: Outcome, cpp: Outcome, what: string): void {
  t.equal(disagreement(ts, cpp), undefined, `${name} ${what}: the layers agree`);
}

/** Values that are wrong for some key of some model: ranges at the usual limits, wrong types. */
const NUMBERS = [-1, 0, 1, 2, 3, 5, 9, 2.5, 0.5, 1025, 4097, 65537, 2 ** 20 + 1, 2 ** 31 + 1, Number.NaN, Infinity];
/** For list options (INFN's mlpHidden, sent to C++ as "256,128"). */
const LISTS: unknown[] = [[64, 0], [2.5], ['x'], [65537], [65536, 1], [], [32, 32]];
const OTHERS: unknown[] = ['x', '', true, false, null, [], {}, 'ms', 'bicubic_lms', 'zero', 'random', 'clamp', 'cosine', 'msi', 'vit_adapter'];

t.test('the TypeScript model list equals the C++ registry', async (t) => {
  t.same(modelNames, native.modelNames(), 'same names, same order');
  t.same(families.flatMap((f) => f.names).sort(), [...native.modelNames()].sort(), 'this test covers every registered model');
});

t.test('stage sets: TypeScript has one set per C++ stage, and the same default (the last)', async (t) => {
  const specs: Record<string, ModelSpec> = { ...cnnSpecs, crossdiff: crossDiffSpec, infn: infnSpec, mlp: mlpSpec, panadapter: panAdapterSpec };
  const stages = native.modelStages();
  t.same(Object.keys(stages).sort(), Object.keys(specs).sort(), 'every registered model has a spec');
  for (const [name, n] of Object.entries(stages)) {
    t.same(
      Object.keys(specs[name]!.stages).map(Number),
      Array.from({ length: n }, (_, i) => i + 1),
      `${name}: stages 1..${n} on both sides`,
    );
  }
  // the default stage: C++ runs the last when none is given, and so does Module.defaultStage
  const { createModel, rand } = await import('../../lib/index.js');
  const m = createModel({ model: 'mlp', inFeatures: 2, hidden: 2, outFeatures: 2 });
  const x = rand([1, 2]);
  t.equal(m.defaultStage, stages.mlp, 'Module.defaultStage = the C++ stage count');
  await t.rejects(m.forward({ x }, { stage: 2 }), { name: 'RangeError', message: /^options\.stage: mlp has one stage \(1; 0 = 1\), got 2$/ });
  x.dispose();
  m.dispose();
});

t.test("TypeScript key lists and defaults equal the C++ parsers'", async (t) => {
  for (const f of families) {
    for (const name of f.names) {
      const cpp = native.resolveModelConfig(name, {});
      const tsDefault = flat(f.resolve(name, {}));
      t.same(Object.keys(tsDefault).sort(), Object.keys(cpp).sort(), `${name}: the same keys on both sides`);
      t.same(tsDefault, cpp, `${name}: TypeScript's default${f.defaultPreset ? ` preset (${f.defaultPreset})` : 's'} = the C++ defaults`);
      // missing key: C++ fills it from its defaults, which must be TypeScript's default preset
      for (const k of Object.keys(tsDefault)) {
        const { [k]: _, ...rest } = tsDefault;
        agree(
          t,
          name,
          { ok: true, values: tsDefault },
          outcome(() => native.resolveModelConfig(name, rest)),
          `without ${k}`,
        );
      }
    }
  }
});

t.test('every preset passes both layers unchanged', async (t) => {
  for (const f of families) {
    for (const name of f.names) {
      for (const [preset, options] of Object.entries(f.presets)) {
        const ts = outcome(() => f.resolve(name, f.defaultPreset ? { preset } : {}));
        t.same(ts, { ok: true, values: flat(options) }, `${name} ${preset}: TypeScript resolves the preset as written`);
        agree(
          t,
          name,
          ts,
          outcome(() => native.resolveModelConfig(name, flat(options))),
          `preset ${preset}`,
        );
      }
    }
  }
});

t.test('bad mutations: both layers agree on accept/reject, error class and key', async (t) => {
  let cases = 0;
  let rejected = 0;
  for (const f of families) {
    for (const name of f.names) {
      for (const [preset, options] of Object.entries(f.presets)) {
        const base = flat(options);
        const presetKey = f.defaultPreset ? { preset } : {};
        const isList = (k: string) => Array.isArray((options as Record<string, unknown>)[k]);
        const mutations: [string, unknown][] = [
          ['bandz', 4],
          ['imgDim', 16],
        ]; // unknown keys
        for (const k of Object.keys(base)) for (const v of [...NUMBERS, ...OTHERS, ...(isList(k) ? LISTS : [])]) mutations.push([k, v]);
        const problems: string[] = [];
        for (const [key, v] of mutations) {
          const what = `${key} = ${JSON.stringify(v) ?? String(v)}`;
          const ts = outcome(() => f.resolve(name, { ...presetKey, [key]: v }));
          cases++;
          if (!ts.ok) rejected++;
          // values C++ cannot receive at all (null, objects; for a list option such as INFN's
          // mlpHidden, anything but an array) are TypeScript's to refuse, with a TypeError naming the key
          if (v === null || (typeof v === 'object' && !Array.isArray(v)) || (isList(key) && !Array.isArray(v))) {
            if (ts.ok || ts.error !== 'TypeError' || ts.key !== key) problems.push(`${what}: ${ts.ok ? 'accepted' : ts.message}`);
            continue;
          }
          // the C++ layer sees what TypeScript passes it: the preset's flat options with the mutation
          // (list options joined as "256,128", other values as they are)
          const sent = isList(key) ? (v as unknown[]).join(',') : v;
          const cpp = outcome(() => native.resolveModelConfig(name, { ...base, [key]: sent } as Flat));
          const d = disagreement(ts, cpp);
          if (d) problems.push(`${what}: ${d}`);
        }
        t.same(problems, [], `${name} ${preset}: ${mutations.length} mutations, the layers agree on each`);
      }
    }
  }
  t.comment(`${cases} mutated configs, ${rejected} rejected by both layers`);
  t.ok(rejected > 100 && rejected < cases, 'the mutations include both accepted and rejected configs');
});

t.test('no structural limit is written in TypeScript: the drift cases of issue 13', async (t) => {
  // PanAdapter and the CNNs take any band count C++ takes (fully convolutional; presets have 4 or 8)
  t.same(resolvePanAdapterOptions({ model: 'panadapter', preset: 'tiny', bands: 3 }).bands, 3, 'PanAdapter bands 3');
  t.same(resolveCnnOptions({ model: 'pnn', bands: 5 }).bands, 5, 'PNN bands 5');
  t.throws(() => resolvePanAdapterOptions({ model: 'panadapter', bands: 1025 }), {
    name: 'RangeError',
    message: /config\.bands: must be in \[1, 1024\], got 1025/,
  });
  // widths: one limit (2^16), in C++
  t.throws(() => resolvePanAdapterOptions({ model: 'panadapter', preset: 'tiny', inrHidden: 65537 }), {
    name: 'RangeError',
    message: /config\.inrHidden: must be in \[1, 65536\]/,
  });
  t.throws(() => resolveCrossDiffOptions({ model: 'crossdiff', embedDim: 65537 }), {
    name: 'RangeError',
    message: /config\.embedDim: must be in \[1, 65536\]/,
  });
  // imgDim: one spelling of the token grid (patch), on both sides
  t.throws(() => native.resolveModelConfig('panadapter', { imgDim: 16 }), { name: 'RangeError', message: /^config\.imgDim: unknown option/ });
  t.throws(() => resolvePanAdapterOptions({ model: 'panadapter', imgDim: 16 } as never), { name: 'RangeError', message: /^config\.imgDim: unknown option/ });
  t.same(native.resolveModelConfig('panadapter', { patch: 32 }).patch, 32, 'patch is the C++ key too');
});

t.test('a PanAdapter with a band count no preset has builds and runs', async (t) => {
  const { createModel, rand } = await import('../../lib/index.js');
  const m = createModel({ model: 'panadapter', preset: 'tiny', bands: 3, patch: 32 });
  const x = { lms: rand([1, 3, 32, 32]), pan: rand([1, 1, 32, 32]), ms: rand([1, 3, 8, 8]) };
  const y = await m.forward(x);
  t.same(y.shape, [1, 3, 32, 32], 'output [1, 3, 32, 32]');
  for (const v of [...Object.values(x), y]) v.dispose();
  m.dispose();
});
