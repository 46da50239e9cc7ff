// `specfuse eval` and `specfuse metrics` (node bin/specfuse.js, i.e. dist/: run `npx tsc` after changing
// lib/) on the real WV3 patch and checkpoints: tables, JSON, previews and the fused image, the
// reduced- and full-resolution paths, .mat / .h5 / GeoTIFF inputs, and clear errors.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPansharpeningInput, openMat, writeGeoTiff, writeMatFile, writePanCollection } from '../../lib/data/index.js';
import { h5wasm } from '../../lib/data/hdf5.js';
import { loadCheckpointFile, writeSafetensors } from '../../lib/checkpoint-formats/index.js';
import type { HostArray } from '../../lib/host.js';
import { REPO, PATCH, ZPNN, checkpoint, dataUnavailable } from './fixtures/helpers.js';

const CLI = join(REPO, 'bin/specfuse.js');
const skip = dataUnavailable() || (existsSync(join(REPO, 'dist/cli/eval.js')) ? false : 'dist/ is not built (npx tsc -p tsconfig.json)');

type Run = { code: number; stdout: string; stderr: string };
let running = 0;
const waiting: (() => void)[] = [];
/** Runs the CLI, at most three at a time (the tests start independent runs together). */
async function cli(args: string[]): Promise<Run> {
  if (running >= 3) await new Promise<void>((go) => waiting.push(go));
  running++;
  try {
    return await spawnCli(args);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function spawnCli(args: string[]): Promise<Run> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    p.stdout.on('data', (c) => {
      stdout += String(c);
    });
    p.stderr.on('data', (c) => {
      stderr += String(c);
    });
    p.on('error', fail);
    p.on('close', (code) => ok({ code: code ?? -1, stdout, stderr }));
  });
}

/** Samples [i0, i1) of an N×C×H×W HostArray. */
function samples(a: HostArray, i0: number, i1: number): HostArray {
  const size = a.shape.slice(1).reduce((x, y) => x * y, 1);
  return { dtype: a.dtype, shape: [i1 - i0, ...a.shape.slice(1)], data: a.data.slice(i0 * size, i1 * size) as HostArray['data'] };
}
const chw = (a: HostArray): HostArray => ({ ...samples(a, 0, 1), shape: a.shape.slice(1) });

t.test('specfuse eval and metrics', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const W = (m: Parameters<typeof checkpoint>[1], s = 'WV3') => checkpoint(s, m);

  // inputs in other formats: .h5 with two images, GeoTIFFs of one, a .mat without MS, a checkpoint missing a key
  const d = await loadPansharpeningInput(PATCH);
  const two = { gt: samples(d.gt!, 0, 2), lms: samples(d.lms!, 0, 2), ms: samples(d.ms!, 0, 2), pan: samples(d.pan, 0, 2) };
  const h5 = join(dir, 'test_wv3_two.h5');
  await writePanCollection(h5, two, { dtype: 'uint16' });
  for (const k of ['pan', 'ms', 'lms', 'gt'] as const) writeGeoTiff(join(dir, `${k}.tif`), chw(two[k]));
  const panOnly = join(dir, 'pan_only.mat');
  writeMatFile(panOnly, { I_PAN: { ...chw(two.pan), shape: [64, 64] } });
  const state = await loadCheckpointFile(W('dicnn'));
  state.delete('conv3.bias');
  const partial = join(dir, 'dicnn_partial.safetensors');
  writeFileSync(partial, writeSafetensors(state));

  // independent runs start together (three at a time)
  const runs = {
    json: cli(['eval', '--model', 'fusionnet', '--weights', W('fusionnet'), '--data', PATCH, '--sample', '0', '--json', '--out', out]),
    table: cli(['eval', '--model', 'pannet', '--weights', W('pannet'), '--data', PATCH, '--sample', '0']),
    fullJson: existsSync(ZPNN) ? cli(['eval', '--model', 'dicnn', '--weights', W('dicnn'), '--data', ZPNN, '--json']) : undefined,
    fullTable: existsSync(ZPNN) ? cli(['eval', '--model', 'pnn', '--weights', W('pnn'), '--data', ZPNN]) : undefined,
    h5Json: cli(['eval', '--model', 'pnn', '--weights', W('pnn'), '--data', h5, '--json']),
    h5Table: cli(['eval', '--model', 'pnn', '--weights', W('pnn'), '--data', h5]),
    h5One: cli(['eval', '--model', 'pnn', '--weights', W('pnn'), '--data', h5, '--sample', '1', '--json']),
    tif: cli([
      'eval',
      '--model',
      'fusionnet',
      '--weights',
      W('fusionnet'),
      '--pan',
      join(dir, 'pan.tif'),
      '--ms',
      join(dir, 'ms.tif'),
      '--lms',
      join(dir, 'lms.tif'),
      '--gt',
      join(dir, 'gt.tif'),
      '--sensor',
      'WV3',
      '--json',
    ]),
    tifMetrics: cli(['metrics', '--fused', join(dir, 'gt.tif'), '--gt', join(dir, 'gt.tif'), '--json']),
  };
  const bad = (args: string[], code: number, msg: RegExp, what: string) => ({ run: cli(args), code, msg, what });
  const errors = [
    bad(
      ['eval', '--model', 'pnn', '--weights', W('pnn', 'QB'), '--data', PATCH],
      1,
      /--weights: .*QB\/pnn\.pth is a 4-band pnn \(e\.g\. QB\), but .*wv3_pancollection_patch\.mat has 8-band MS data/,
      'QB weights on WV3 data',
    ),
    bad(
      ['eval', '--model', 'dicnn', '--weights', W('fusionnet'), '--data', PATCH],
      1,
      /holds a fusionnet \(8 bands\), not a dicnn/,
      'weights of another model',
    ),
    bad(['eval', '--model', 'pnn', '--data', PATCH], 2, /--weights is required\n\nspecfuse eval \[--model NAME\] --weights/, 'missing --weights (usage)'),
    bad(
      ['eval', '--model', 'edsr', '--weights', W('pnn'), '--data', PATCH],
      2,
      /--model: expected one of pnn, pannet, dicnn, fusionnet, got 'edsr'/,
      'unknown model',
    ),
    bad(
      ['eval', '--model', 'pnn', '--weights', W('pnn'), '--data', PATCH, '--sample', '100'],
      2,
      /--sample: .* holds 100 images; 100 is out of range/,
      'sample out of range',
    ),
    bad(['eval', '--model', 'pnn', '--weights', W('pnn'), '--data', panOnly], 1, /no MS variable \(looked for ms, lms, I_MS, I_MS_LR/, 'data without MS'),
    bad(
      ['eval', '--model', 'dicnn', '--weights', partial, '--data', PATCH, '--sample', '0'],
      1,
      /weights do not fit dicnn: missing 1: conv3\.bias/,
      'checkpoint missing a key',
    ),
    bad(
      ['metrics', '--fused', join(dir, 'gt.tif'), '--ms', PATCH],
      2,
      /give --gt \(reduced resolution\), or --ms \(or --lms\) and --pan/,
      'metrics without a reference',
    ),
    bad(
      ['metrics', '--fused', join(dir, 'gt.tif'), '--ms', join(dir, 'ms.tif'), '--pan', join(dir, 'pan.tif')],
      2,
      /--sensor is required/,
      'full resolution without a sensor',
    ),
    bad(['metrics', '--fused', join(dir, 'gt.tif'), '--gt', PATCH], 1, /--gt: shape \[100,8,64,64\].*\[1,8,64,64\] \(pass --sample I/, 'batch vs one image'),
  ];

  // ---- eval: JSON, files ------------------------------------------------------------------------
  const r = await runs.json;
  t.equal(r.code, 0, `eval --json exits 0 ${r.stderr}`);
  const j = JSON.parse(r.stdout);
  t.match(j, { model: 'fusionnet', sensor: 'wv3', bands: 8, size: [64, 64], scale: 2047, kind: 'reduced-resolution', samples: [0], exp: 'interp23tap(ms)' });
  t.same([j.load.missing, j.load.unexpected, j.load.shapeMismatch], [[], [], []], 'strict load: nothing missing, unexpected or mismatched');
  t.equal(j.load.loaded, 20, '20 tensors loaded');
  t.equal(j.load.aliases.length, 16, '16 backbone.* aliases reported');
  t.ok(j.metrics.fusionnet.SAM < j.metrics.EXP.SAM && j.metrics.fusionnet.ERGAS < j.metrics.EXP.ERGAS, 'fusionnet beats EXP on SAM and ERGAS');
  t.ok(Math.abs(j.metrics.fusionnet.SAM - 5.9613) < 1e-3 && Math.abs(j.metrics.EXP.SAM - 7.7248) < 1e-3, 'the values of the parity test');
  t.match(j.conventions, { kind: 'reduced-resolution', ratio: 4, bits: 11, dimCut: null, layout: 'CHW' });
  for (const f of ['fusionnet_preview.png', 'fusionnet_fused.mat', 'metrics.json']) t.ok(existsSync(join(out, f)), `writes ${f}`);
  t.same([...readFileSync(join(out, 'fusionnet_preview.png')).subarray(1, 4)], [0x50, 0x4e, 0x47], 'preview is a PNG');
  t.same(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).metrics, j.metrics, 'metrics.json holds the same numbers');

  // ---- metrics on the written fused image ---------------------------------------------------------
  const fusedMat = join(out, 'fusionnet_fused.mat');
  // the same image as an .h5 dataset 'output' (C×H×W, float64) beside another dataset
  const sr = openMat(fusedMat);
  const hwc = sr.read('sr');
  sr.close();
  t.same(hwc.shape, [64, 64, 8], 'fused.mat holds sr as H×W×C');
  const fusedH5 = join(dir, 'fused.h5');
  const h5m = await h5wasm();
  const hf = new h5m.File(fusedH5, 'w');
  const chwData = new Float64Array(8 * 64 * 64);
  for (let y = 0; y < 64; y++)
    for (let x = 0; x < 64; x++) for (let c = 0; c < 8; c++) chwData[(c * 64 + y) * 64 + x] = (hwc.data as Float32Array)[(y * 64 + x) * 8 + c]!;
  hf.create_dataset({ name: 'output', data: chwData, shape: [8, 64, 64], dtype: '<d' });
  hf.create_dataset({ name: 'notes', data: new Float64Array(3), shape: [3], dtype: '<d' });
  hf.close();
  const [m, mt, fr, mh] = await Promise.all([
    cli(['metrics', '--fused', fusedMat, '--gt', PATCH, '--sample', '0', '--json']),
    cli(['metrics', '--fused', fusedMat, '--gt', PATCH, '--sample', '0', '--cut', '4']),
    cli(['metrics', '--fused', fusedMat, '--ms', PATCH, '--pan', PATCH, '--sample', '0', '--json']),
    cli(['metrics', '--fused', fusedH5, '--gt', PATCH, '--sample', '0', '--json']),
  ]);
  t.equal(mh.code, 0, `metrics on an .h5 fused image exits 0 ${mh.stderr}`);
  t.ok(Math.abs(JSON.parse(mh.stdout).metrics.SAM - j.metrics.fusionnet.SAM) < 1e-9, ".h5 dataset 'output' gives the same SAM");
  t.equal(m.code, 0, `metrics --gt exits 0 ${m.stderr}`);
  const mj = JSON.parse(m.stdout);
  t.equal(mj.kind, 'reduced-resolution');
  for (const k of ['SAM', 'ERGAS', 'Q2n', 'Q', 'SCC']) t.ok(Math.abs(mj.metrics[k] - j.metrics.fusionnet[k]) < 1e-9, `${k} from the file = eval's`);
  t.equal(mt.code, 0);
  t.match(mt.stdout, /reduced-resolution indices .*border cut 4\)\n\nmethod\s+SAM↓.*\nfused\s+\d+\.\d{4}/s, 'table with a border cut');
  t.equal(fr.code, 0, `metrics --ms --pan exits 0 ${fr.stderr}`);
  const fj = JSON.parse(fr.stdout);
  t.match(fj, { kind: 'full-resolution', conventions: { sensor: /^wv3$/i, ratio: 4 } });
  for (const k of ['D_lambda', 'D_s', 'HQNR']) t.ok(fj.metrics[k] >= 0 && fj.metrics[k] <= 1, `${k} ${fj.metrics[k].toFixed(4)} in [0, 1]`);

  // ---- eval: table ---------------------------------------------------------------------------------
  const tab = await runs.table;
  t.equal(tab.code, 0, `eval table exits 0 ${tab.stderr}`);
  t.match(tab.stdout, /pannet on wv3_pancollection_patch\.mat \(image 0 of 100; WV3, 8 bands, 64×64/);
  t.match(tab.stdout, /22 tensors loaded, 0 missing, 0 unexpected, 0 shape mismatches; 16 backbone\.\* aliases/);
  t.match(tab.stdout, /method\s+SAM↓\s+ERGAS↓\s+Q8↑\s+Q↑\s+SCC↑\s+PSNR↑\s+SSIM↑/);
  t.match(tab.stdout, /\nEXP\s+7\.7248\s+8\.9267\s+0\.7245/);
  t.match(tab.stdout, /\npannet\s+6\.4788\s+4\.3346\s+0\.947/);
  t.comment(tab.stdout.trim());

  // ---- eval at full resolution (no ground truth) -------------------------------------------------
  if (runs.fullJson && runs.fullTable) {
    const z = await runs.fullJson;
    t.equal(z.code, 0, `full-resolution eval exits 0 ${z.stderr}`);
    const zj = JSON.parse(z.stdout);
    t.match(zj, { kind: 'full-resolution', size: [128, 128], sensor: 'wv3' });
    t.ok(zj.metrics.dicnn.HQNR > 0.5 && zj.metrics.dicnn.HQNR <= 1, `HQNR ${zj.metrics.dicnn.HQNR.toFixed(4)}`);
    t.ok(zj.metrics.EXP.D_lambda < 1e-6, 'EXP has D_lambda ~0 (it is the upsampled MS)');
    const zt = await runs.fullTable;
    t.match(zt.stdout, /full resolution \(no ground truth\).*\n\nmethod\s+D_λ↓\s+D_s↓\s+QNR↑\s+D_λ\^K↓\s+HQNR↑/s);
  }

  // ---- other formats: .h5 with two images (mean ± std), GeoTIFFs -----------------------------------
  const h = await runs.h5Json;
  t.equal(h.code, 0, `.h5 eval exits 0 ${h.stderr}`);
  const hj = JSON.parse(h.stdout);
  t.same(hj.samples, [0, 1], 'all images of the file');
  t.equal(hj.std.pnn.SAM, 0, 'two copies of one patch: std 0');
  t.ok(Math.abs(hj.metrics.pnn.SAM - 6.5316) < 1e-3, 'same SAM as the .mat');
  const ht = await runs.h5Table;
  t.match(ht.stdout, /2 images, mean±std/);
  t.match(ht.stdout, /\npnn\s+6\.5316±0\.0000/);
  const h1 = JSON.parse((await runs.h5One).stdout);
  t.same(h1.samples, [1], '--sample 1 reads the second image only');
  t.ok(Math.abs(h1.metrics.pnn.SAM - 6.5316) < 1e-3 && h1.std === undefined, 'one image, no std');
  const g = await runs.tif;
  t.equal(g.code, 0, `GeoTIFF eval exits 0 ${g.stderr}`);
  t.ok(Math.abs(JSON.parse(g.stdout).metrics.fusionnet.SAM - j.metrics.fusionnet.SAM) < 1e-9, 'GeoTIFFs give the numbers of the .mat');
  const gm = await runs.tifMetrics;
  t.equal(JSON.parse(gm.stdout).metrics.ERGAS, 0, 'metrics on GeoTIFFs: gt against itself has ERGAS 0');

  // ---- errors ----------------------------------------------------------------------------------------
  for (const e of errors) {
    const res = await e.run;
    t.equal(res.code, e.code, `${e.what}: exit ${e.code}`);
    t.match(res.stderr, e.msg, e.what);
  }
});
