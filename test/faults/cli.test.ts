// The CLI under faults: SIGTERM/SIGINT during `specfuse train` (checkpoint, exit 143/130, resume
// byte-identical), a second run on a busy folder, --resume with nothing to resume; `infer` with
// NaN/Inf inputs, corrupt weights, unknown output extensions, a GeoTIFF as --input, a folder as
// weights, 8-band weights on 4-band data, a full disk; `eval` with NaN/Inf inputs, corrupt weights,
// an --out that cannot be written and a full disk; a Worker without workerData.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createModel, manualSeed, saveWeights } from '../../lib/index.js';
import { readMat, writeMatFile, writePanCollection, writeGeoTiff } from '../../lib/data/index.js';
import { generator } from '../../lib/train/rng.js';
import { PATCH, REPO, ZPNN, checkpoint, dataUnavailable } from '../cnn/fixtures/helpers.js';
import { loadCheckpointFileSync, writeSafetensors } from '../../lib/checkpoint-formats/index.js';

const CLI = join(REPO, 'bin/specfuse.js');
const skip = dataUnavailable() || (existsSync(join(REPO, 'dist/cli/main.js')) ? false : 'dist/ is not built (npx tsc -p tsconfig.json)');
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-clifaults-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (...a: string[]) => spawnSync(process.execPath, [CLI, ...a], { encoding: 'utf8', cwd: tmp });

/** `path` with `count` values of variable `key` set to `value` (as float64, so that it holds NaN/Inf), written to tmp/name. */
function withBad(path: string, name: string, key: string, count: number, value: number): string {
  const vars = Object.fromEntries(
    [...readMat(path)].map(([k, v]) => [k, { ...v, dtype: 'float64' as const, data: Float64Array.from(v.data as ArrayLike<number>) }]),
  );
  const d = vars[key]!.data;
  for (let i = 0; i < count; i++) d[(i * 7919) % d.length] = value;
  const p = join(tmp, name);
  writeMatFile(p, vars);
  return p;
}

const data = join(tmp, 'train_wv3.h5');
const rand = generator(5, 0, 0);
const arr = (c: number, s: number) => ({ dtype: 'float32' as const, shape: [16, c, s, s], data: new Float32Array(16 * c * s * s).map(() => rand() * 2047) });
const trainArgs = (out: string, steps: number) => ['train', '--model', 'pnn', '--data', data, '--steps', String(steps), '--batch-size', '2', '--out', out];

/** Starts a training run, waits for `steps` logged steps, sends `signals` (ms apart); resolves the exit. */
function interrupt(out: string, signals: NodeJS.Signals[], during?: () => void): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...trainArgs(out, 100000)], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    const poll = setInterval(() => {
      const log = join(out, 'train.jsonl');
      if (
        !existsSync(log) ||
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"step"')).length < 3
      )
        return;
      clearInterval(poll);
      during?.();
      signals.forEach((s, i) => setTimeout(() => p.kill(s), i * 5));
    }, 20);
    p.once('exit', (code) => {
      clearInterval(poll);
      resolve({ code, stderr });
    });
  });
}

t.test('training', { skip }, async (t) => {
  await writePanCollection(data, { ms: arr(8, 8), lms: arr(8, 32), pan: arr(1, 32), gt: arr(8, 32) }, { dtype: 'float32' });

  t.test('SIGTERM: a checkpoint, exit 143, weights not named final, and the resume is byte-identical', async (t) => {
    const out = join(tmp, 'term');
    const r = await interrupt(out, ['SIGTERM']);
    t.equal(r.code, 143, 'exit 143');
    t.match(r.stderr, /SIGTERM after \d+ steps: checkpoint/);
    t.ok(existsSync(join(out, 'aborted.safetensors')) && !existsSync(join(out, 'final.safetensors')), 'aborted.safetensors, no final.safetensors');
    const stopped = JSON.parse(readFileSync(join(out, 'checkpoints', readFileSync(join(out, 'checkpoints', 'latest'), 'utf8').trim(), 'state.json'), 'utf8'))
      .batches as number;
    t.ok(stopped >= 3, `checkpoint at step ${stopped}`);
    const total = stopped + 5;
    const resumed = cli(...trainArgs(out, total), '--resume');
    t.equal(resumed.status, 0, resumed.stderr);
    const ref = join(tmp, 'ref');
    t.equal(cli(...trainArgs(ref, total)).status, 0);
    t.same(
      readFileSync(join(out, 'final.safetensors')),
      readFileSync(join(ref, 'final.safetensors')),
      `resumed ${stopped} → ${total}: final weights byte-identical to an uninterrupted run`,
    );
    const steps = readFileSync(join(out, 'train.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.event === 'step')
      .map((e) => e.step);
    t.same(
      steps,
      Array.from({ length: total }, (_, i) => i + 1),
      'the log holds every step once',
    );
  });

  t.test('SIGINT: exit 130 and a checkpoint; a second run on the busy folder is refused', async (t) => {
    const out = join(tmp, 'int');
    let second: ReturnType<typeof cli> | undefined;
    const r = await interrupt(out, ['SIGINT'], () => {
      second = cli(...trainArgs(out, 5), '--resume');
    });
    t.equal(r.code, 130, 'exit 130');
    t.ok(existsSync(join(out, 'checkpoints', 'latest')), 'a checkpoint');
    t.equal(second!.status, 1, 'the second run exits 1');
    t.match(second!.stderr, /is in use by another run \(process \d+\)/);
  });

  t.test('a second signal exits at once', async (t) => {
    const r = await interrupt(join(tmp, 'twice'), ['SIGTERM', 'SIGTERM']);
    t.equal(r.code, 143);
  });

  t.test('--resume with nothing to resume from; an existing run without --resume/--fresh', async (t) => {
    const r = cli(...trainArgs(join(tmp, 'nothing'), 3), '--resume');
    t.equal(r.status, 2);
    t.match(r.stderr, /--resume: nothing to resume from/);
    const again = cli(...trainArgs(join(tmp, 'term'), 3));
    t.equal(again.status, 2);
    t.match(again.stderr, /already holds a run .*pass --resume to continue it, --fresh to start over/);
    t.match(cli(...trainArgs(join(tmp, 'term'), 3), '--fresh').stdout, /done after 3 steps/, '--fresh starts over');
    const zero = cli(...trainArgs(join(tmp, 'zero'), 3), '--batch-size', '0');
    t.equal(zero.status, 2);
    t.match(zero.stderr, /--batch-size: expected an integer >= 1, got 0/);
  });
});

t.test('infer', { skip }, async (t) => {
  manualSeed(1);
  const w8 = join(tmp, 'pnn8.safetensors'),
    w4 = join(tmp, 'pnn4.safetensors');
  await saveWeights(createModel({ model: 'pnn', bands: 8 } as never), w8);
  await saveWeights(createModel({ model: 'pnn', bands: 4 } as never), w4);
  const infer = (weights: string, ...a: string[]) => cli('infer', '--model', 'pnn', '--weights', weights, '--sensor', 'WV3', ...a);
  const scene = readMat(ZPNN);
  const msKey = [...scene.keys()].find((k) => /ms/i.test(k) && !/lms|lr/i.test(k)) ?? [...scene.keys()].find((k) => /ms/i.test(k))!;
  const panKey = [...scene.keys()].find((k) => /pan/i.test(k))!;

  const nan = infer(w8, '--input', withBad(ZPNN, 'nan.mat', msKey, 50, NaN), '--out', join(tmp, 'o.tif'));
  t.equal(nan.status, 1, 'NaN MS pixels: exit 1');
  t.match(nan.stderr, /has 50 non-finite values \(50 NaN; .*the first at band \d+, row \d+, column \d+.*--fill-non-finite/);
  t.notOk(existsSync(join(tmp, 'o.tif')), 'nothing written');
  const inf = infer(w8, '--input', withBad(ZPNN, 'inf.mat', panKey, 20, Infinity), '--out', join(tmp, 'o.tif'));
  t.equal(inf.status, 1, '+Inf PAN pixels: exit 1');
  t.match(inf.stderr, /PAN of .* has 20 non-finite values \(20 ±Inf/);
  const filled = infer(w8, '--input', withBad(ZPNN, 'nan.mat', msKey, 50, NaN), '--out', join(tmp, 'filled.tif'), '--fill-non-finite', '0');
  t.equal(filled.status, 0, '--fill-non-finite: exit 0');
  t.match(filled.stderr, /warning: .*50 non-finite.*replaced by 0/);

  // every float's exponent set to all ones: the weights become ±Inf/NaN
  const bytes = readFileSync(w8);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  for (let i = 8 + headerLen + 3; i < bytes.length; i += 4) {
    bytes[i] = bytes[i]! | 0x7f;
    bytes[i - 1] = bytes[i - 1]! | 0x80;
  }
  const corrupt = join(tmp, 'corrupt.safetensors');
  writeFileSync(corrupt, bytes);
  const bad = infer(corrupt, '--input', ZPNN, '--out', join(tmp, 'o.h5'));
  t.equal(bad.status, 1, 'corrupt weights: exit 1');
  t.match(bad.stderr, /the fused image has \d+ non-finite values .*weights .*corrupt/);

  const jpg = infer(w8, '--input', ZPNN, '--out', join(tmp, 'o.jpg'));
  t.equal(jpg.status, 2);
  t.match(jpg.stderr, /--out: no writer for '\.jpg': give a \.tif, \.tiff, \.h5 or \.mat file name/);
  const pan = join(tmp, 'pan.tif');
  writeGeoTiff(pan, { ...scene.get(panKey)!, shape: [1, ...scene.get(panKey)!.shape.slice(0, 2)] });
  const tifInput = infer(w8, '--input', pan, '--out', join(tmp, 'o.tif'));
  t.equal(tifInput.status, 2);
  t.match(tifInput.stderr, /--input: .*pan\.tif is a GeoTIFF, which holds one image: pass GeoTIFF input as --pan PAN\.tif --ms MS\.tif/);
  const dir = infer(tmp, '--input', ZPNN, '--out', join(tmp, 'o.tif'));
  t.equal(dir.status, 1);
  t.match(dir.stderr, new RegExp(`--weights: ${tmp} is a folder, not a file`));
  const outDir = infer(w8, '--input', ZPNN, '--out', tmp);
  t.not(outDir.status, 0, 'a folder as --out is refused');
  const bands = infer(w4, '--input', ZPNN, '--out', join(tmp, 'o.tif'));
  t.equal(bands.status, 1);
  t.match(bands.stderr, /holds 4-band weights but the input has 8 bands/);
  const noFolder = infer(w8, '--input', ZPNN, '--out', join(pan, 'x', 'o.tif'));
  t.equal(noFolder.status, 1, 'an output folder that cannot exist is refused before the work');
  t.notMatch(noFolder.stdout + noFolder.stderr, /tiles/);

  // a full disk at CLI level: the GeoTIFF (512 KB) cannot be written under a 16 KB limit
  const fused = join(tmp, 'full', 'fused.tif'),
    preview = join(tmp, 'full', 'fused.png');
  t.equal(infer(w8, '--input', ZPNN, '--out', fused).status, 0, 'a first infer writes fused.tif');
  const before = [readFileSync(fused), readFileSync(preview)];
  const full = spawnSync(
    'bash',
    [
      '-c',
      `ulimit -f 16; exec "${process.execPath}" "$@"`,
      'bash',
      CLI,
      'infer',
      '--model',
      'pnn',
      '--weights',
      w8,
      '--sensor',
      'WV3',
      '--input',
      ZPNN,
      '--out',
      fused,
    ],
    { encoding: 'utf8', cwd: tmp },
  );
  t.equal(full.status, 1, `full disk: exit 1 (status ${full.status}, signal ${full.signal})`);
  t.match(full.stderr, /could not write .*fused\.tif.*(EFBIG|larger than allowed)/);
  t.notMatch(full.stdout, /fused .*→/, 'no success line');
  t.same(readFileSync(fused), before[0], 'the previous fused.tif survives byte for byte');
  t.same(readFileSync(preview), before[1], 'and its preview');
  t.same(
    readdirSync(join(tmp, 'full')).filter((n) => n.includes('.tmp-')),
    [],
    'no temporary file left',
  );
});

t.test('eval', { skip }, async (t) => {
  const pth = checkpoint('WV3', 'pnn');
  const evalArgs = (data: string, ...a: string[]) => ['eval', '--model', 'pnn', '--weights', pth, '--data', data, '--sample', '0', ...a];
  const out = join(tmp, 'eval-out');

  t.test('NaN/Inf inputs: exit 1 naming how many and where, nothing written; --fill-non-finite', async (t) => {
    const nan = cli(...evalArgs(withBad(PATCH, 'patch-nan.mat', 'ms', 50, NaN), '--out', out));
    t.equal(nan.status, 1, 'NaN MS pixels: exit 1');
    t.match(nan.stderr, /the MS of .*patch-nan\.mat has 50 non-finite values \(50 NaN; .*the first at .*--fill-non-finite/);
    t.notMatch(nan.stdout, /inference/, 'no result printed');
    t.notOk(existsSync(out) && readdirSync(out).length, 'nothing written to --out');
    const inf = cli(...evalArgs(withBad(PATCH, 'patch-inf.mat', 'pan', 20, -Infinity)));
    t.equal(inf.status, 1, '-Inf PAN pixels: exit 1');
    t.match(inf.stderr, /the PAN of .* has 20 non-finite values \(20 ±Inf/);
    const filled = cli(...evalArgs(join(tmp, 'patch-nan.mat'), '--json', '--fill-non-finite', '0'));
    t.equal(filled.status, 0, '--fill-non-finite 0: exit 0');
    t.match(filled.stderr, /warning: .*50 non-finite.*replaced by 0/);
    t.ok(Number.isFinite(JSON.parse(filled.stdout).metrics.pnn.SAM), 'finite metrics');
  });

  t.test('weights that make the output non-finite: exit 1, the weights named', async (t) => {
    const state = loadCheckpointFileSync(pth);
    for (const a of state.values()) if (a.data instanceof Float32Array) a.data.fill(NaN);
    const bad = join(tmp, 'pnn-nan.safetensors');
    writeFileSync(bad, writeSafetensors(state));
    const r = cli('eval', '--model', 'pnn', '--weights', bad, '--data', PATCH, '--sample', '0');
    t.equal(r.status, 1);
    t.match(r.stderr, /pnn's output has \d+ non-finite values .*the weights .*pnn-nan\.safetensors are the likely cause/);
  });

  t.test('an --out that cannot be written is refused before the work', async (t) => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    // with NaN input too: the --out error coming first shows that it is checked before the data is read
    const r = cli(...evalArgs(join(tmp, 'patch-nan.mat'), '--out', join(file, 'sub')));
    t.equal(r.status, 1);
    t.match(r.stderr, /--out: .*a-file is a file, not a folder, so .*sub cannot be created/);
    t.notMatch(r.stderr, /non-finite/, 'refused before the data was read');
  });

  t.test('a full disk: exit non-zero, the previous outputs survive byte for byte', async (t) => {
    const ok = cli(...evalArgs(PATCH, '--out', out));
    t.equal(ok.status, 0, 'a first eval writes the outputs');
    const names = ['pnn_preview.png', 'pnn_fused.mat', 'metrics.json'];
    const before = names.map((n) => readFileSync(join(out, n)));
    // 4 KB allowed: the preview (written first) and the .mat are larger
    const r = spawnSync('bash', ['-c', `ulimit -f 4; exec "${process.execPath}" "$@"`, 'bash', CLI, ...evalArgs(PATCH, '--out', out)], {
      encoding: 'utf8',
      cwd: tmp,
    });
    t.equal(r.status, 1, `exit 1 (status ${r.status}, signal ${r.signal})`);
    t.match(r.stderr, /could not write .*pnn_preview\.png.*(EFBIG|larger than allowed)/);
    t.notMatch(r.stdout, /pnn_fused\.mat|metrics\.json/, 'no output listed as written');
    names.forEach((n, i) => t.same(readFileSync(join(out, n)), before[i], `${n} intact`));
    t.same(
      readdirSync(out).filter((n) => n.includes('.tmp-')),
      [],
      'no temporary file left',
    );
  });
});

t.test('--preset hints from the weights, before the model is built', { skip }, async (t) => {
  manualSeed(1);
  // weights as older versions wrote them: no preset in the metadata, only the tensors
  const tiny = join(tmp, 'pa-tiny.safetensors'),
    recorded = join(tmp, 'pa-tiny-recorded.safetensors');
  const pa = createModel({ model: 'panadapter', preset: 'tiny' });
  await saveWeights(pa, tiny);
  await saveWeights(pa, recorded, { preset: 'tiny' });
  pa.dispose();
  // a full-size PanAdapter's header (its 160 M parameters are not needed to be told apart)
  const full = join(tmp, 'pa-full.safetensors');
  writeFileSync(full, writeSafetensors({ 'head.1.weight': { dtype: 'float32', shape: [576, 9, 3, 3], data: new Float32Array(576 * 81) } }));
  const infer = (weights: string, ...a: string[]) =>
    cli('infer', '--model', 'panadapter', '--weights', weights, '--input', ZPNN, '--sensor', 'WV3', '--out', join(tmp, 'hint.tif'), ...a);

  const none = infer(tiny);
  t.equal(none.status, 2);
  t.match(
    none.stderr,
    /--weights: .*pa-tiny\.safetensors: these are tiny weights \(embedding width 48, not the 576 of the default preset\): add --preset tiny/,
  );
  const wrong = infer(tiny, '--preset', 'wv3');
  t.match(wrong.stderr, /these are tiny weights \(embedding width 48, not the 576 of --preset wv3\): use --preset tiny/);
  t.match(infer(recorded, '--preset', 'qb').stderr, /was trained with --preset tiny, not qb: pass --preset tiny/, 'the recorded preset comes first');
  const big = infer(full, '--preset', 'tiny');
  t.equal(big.status, 2);
  t.match(
    big.stderr,
    /these are full-size weights \(embedding width 576, not the 48 of --preset tiny\): use --preset wv3 or --preset wv2/,
    'the 8-band presets for 8-band input',
  );
  t.notOk(existsSync(join(tmp, 'hint.tif')));

  // CrossDiff --init: the weights' own band count picks tiny8 among the tiny presets
  const cd = createModel({ model: 'crossdiff', preset: 'tiny8' });
  const cdTiny = join(tmp, 'cd-tiny8.safetensors');
  await saveWeights(cd, cdTiny);
  cd.dispose();
  const init = cli('train', '--model', 'crossdiff', '--init', cdTiny, '--data', PATCH, '--steps', '1', '--out', join(tmp, 'cd-run'));
  t.equal(init.status, 2);
  t.match(init.stderr, /--init: .*these are tiny weights \(UNet width 8, embedding width 64, not the 32, 256 of the default preset\): add --preset tiny8/);
});

t.test('the library imports and runs a forward in a Worker without workerData', async (t) => {
  const code = `
    import { parentPort } from 'node:worker_threads';
    const m = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist', 'index.js')).href)});
    const model = m.createModel({ model: 'mlp', inFeatures: 4, hidden: 8, outFeatures: 2 });
    const y = await model.forward({ x: m.randn([3, 4]) });
    parentPort.postMessage(y.shape);`;
  for (const workerData of [undefined, { mod: 'not-a-module' }, 42]) {
    const shape = await new Promise((resolve, reject) => {
      const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), workerData === undefined ? {} : { workerData });
      w.once('message', resolve);
      w.once('error', reject);
    });
    t.same(shape, [3, 2], `workerData ${JSON.stringify(workerData)}`);
  }
});
