/** `specfuse eval`: a pre-trained pansharpening CNN on a file, scored against EXP with the toolbox metrics. */
import { mkdirSync } from 'node:fs';
import { checkWritableFolder, writeFileAtomic } from '../atomic.js';
import { countNonFinite, finitePolicy } from './finite.js';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HostArray } from '../host.js';
import { cat, fromHost, type Tensor } from '../tensor.js';
import { createModel } from '../models/index.js';
import { CNN_MODELS, cnnSpecs, describeDlpanCheckpoint, isCnnModel, loadDlpanStateDict, type DlpanLoadReport } from '../models/cnn.js';
import { loadCheckpointFile } from '../io/index.js';
import { chooseModel } from './weights-hints.js';
import { exp } from '../baselines/index.js';
import { interp23tap } from '../protocol/index.js';
import { fullResolutionMetricsBatch, reducedResolutionMetricsBatch } from '../metrics/index.js';
import {
  encodePng, loadPansharpeningInput, openPanCollection, panel, parseSensor, renderGray, renderRgb, resizeNearest, sensorScale, sniffFormat, writeMatFile,
  type PansharpeningInput, type RgbaImage,
} from '../data/index.js';
import { checkInputFiles, intOption, parse, UsageError } from './args.js';
import { infnEval, wantsInfn } from './infn.js';
import { FULL_COLUMNS, REDUCED_COLUMNS, formatTable, meanAndSpread, stripConventions } from './metrics.js';

export const evalHelp = `specfuse eval [--model NAME] --weights FILE --data FILE [options]

Runs a pre-trained pansharpening CNN (a DLPan-Toolbox checkpoint, loaded strictly) on whole images
and scores it and EXP (the MS upsampled by interp23tap) with the toolbox metrics, on DN: against
the ground truth when the file has one (reduced resolution: SAM, ERGAS, Q2n, Q, SCC, PSNR, SSIM),
else from the MS and PAN (full resolution: D_lambda, D_s, QNR, D_lambda_K, HQNR).
  --model    pnn | pannet | dicnn | fusionnet (not needed for weights written by specfuse)
  --weights  the checkpoint (.pth: DLPan-Toolbox pretrained-model/{WV3,QB}/...; 8 or 4 bands)
  --data     .mat (PanCollection gt/lms/ms/pan, or I_GT/I_MS/I_MS_LR/I_PAN) or PanCollection .h5
  --pan, --ms, --lms, --gt   GeoTIFF input instead of --data (--pan and --ms or --lms needed)
  --sensor   WV3, WV2, QB, GF2, IKONOS, ... when the file does not say (needed for full resolution)
  --sample   with files holding N images: only image I (0-based); default all, reported as mean±std
  --scale    the models see DN / scale and their outputs are multiplied back (default: the
             sensor's PanCollection scale, 2047 for 11-bit data)
  --bits     radiometric resolution of the metrics (default 11; 10 for GF2)
  --cut      border cut dim_cut of the reduced-resolution metrics (default 0: none; DLPan uses 21)
  --device   cpu (default) or cuda
  --out      folder for <model>_preview.png (PAN, EXP, the model[, GT] of the first image, one
             colour stretch), <model>_fused.mat (variable sr, H×W×C or N×H×W×C, DN) and metrics.json
  --json     machine-readable output instead of the table
  --fill-non-finite V   replace NaN/±Inf input pixels and outputs by V (default: an error that says
             how many and where)
INFN (MS/HS fusion, scored against bicubic): see 'specfuse eval --model infn --help'.`;

const RATIO = 4; // the released models were trained at ratio 4 (PanNet's deconv is stride 4)

/**
 * The input, how many images the file holds, and the index of the first one loaded (a PanCollection
 * .h5 with --sample reads only that image: training files are several GB).
 */
async function readSource(values: Record<string, string | boolean | undefined>, sample: number | undefined): Promise<{ input: PansharpeningInput; count: number; offset: number }> {
  const all = async (p: Promise<PansharpeningInput>) => {
    const input = await p;
    return { input, count: input.layout === 'NCHW' ? input.pan.shape[0]! : 1, offset: 0 };
  };
  const tif = ['pan', 'ms', 'lms', 'gt'].filter((k) => values[k] !== undefined);
  if (values.data !== undefined && tif.length) throw new UsageError(`give --data, or GeoTIFFs with --${tif.join('/--')}, not both`);
  if (values.data === undefined) {
    if (!tif.length) throw new UsageError('--data is required (or --pan and --ms GeoTIFFs)');
    if (!values.pan || !(values.ms || values.lms)) throw new UsageError('GeoTIFF input needs --pan and --ms (or --lms)');
    const paths: { pan: string; ms?: string; lms?: string; gt?: string } = { pan: String(values.pan) };
    for (const k of ['ms', 'lms', 'gt'] as const) if (values[k] !== undefined) paths[k] = String(values[k]);
    return all(loadPansharpeningInput(paths, { dtype: 'float32' }));
  }
  const data = String(values.data);
  if (sniffFormat(data) === 'tif') throw new UsageError(`--data: ${data} is a GeoTIFF: pass GeoTIFF input as --pan PAN.tif --ms MS.tif [--gt GT.tif]`);
  if (sample !== undefined && sniffFormat(data) === 'h5') {
    const f = await openPanCollection(data);
    const count = f.length;
    f.close();
    if (sample < 0 || sample >= count) throw new UsageError(`--sample: ${data} holds ${count} image${count === 1 ? '' : 's'}; ${sample} is out of range`);
    return { input: await loadPansharpeningInput(data, { dtype: 'float32', range: [sample, sample + 1] }), count, offset: sample };
  }
  return all(loadPansharpeningInput(data, { dtype: 'float32' }));
}

/** [N, C, H, W] view of a loaded array (a single scene gets N = 1). */
const batched = (a: HostArray | undefined, layout: PansharpeningInput['layout']): HostArray | undefined =>
  a && (layout === 'CHW' ? { ...a, shape: [1, ...a.shape] } : a);

function loadSummary(r: DlpanLoadReport) {
  return {
    loaded: r.loaded.length, missing: r.missing, unexpected: r.unexpected, shapeMismatch: r.shapeMismatch,
    ignored: r.ignored, aliases: r.aliases,
  };
}

export async function evaluate(argv: string[]): Promise<void> {
  if (wantsInfn(argv)) return infnEval(argv);
  const { values } = parse(argv, {
    model: { type: 'string' }, weights: { type: 'string' }, data: { type: 'string' },
    pan: { type: 'string' }, ms: { type: 'string' }, lms: { type: 'string' }, gt: { type: 'string' },
    sensor: { type: 'string' }, sample: { type: 'string' }, scale: { type: 'string' }, bits: { type: 'string' }, cut: { type: 'string' },
    device: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' }, 'fill-non-finite': { type: 'string' },
  });
  if (values.help) { console.log(evalHelp); return; }
  if (!values.weights) throw new UsageError('--weights is required');
  checkInputFiles({ weights: values.weights, data: values.data, pan: values.pan, ms: values.ms, lms: values.lms, gt: values.gt });
  const { model: modelName } = chooseModel(values.model, values.weights, '--weights');
  if (!isCnnModel(modelName)) throw new UsageError(`--model: expected one of ${CNN_MODELS.join(', ')}, got '${modelName}'`);
  const sample = intOption(values.sample, 'sample');
  const cut = intOption(values.cut, 'cut') ?? 0;
  if (cut < 0) throw new UsageError(`--cut: expected 0 or more, got ${cut}`);
  let scaleArg: number | undefined;
  if (values.scale !== undefined) {
    scaleArg = Number(values.scale);
    if (!Number.isFinite(scaleArg) || scaleArg <= 0) throw new UsageError(`--scale: expected a positive number, got '${values.scale}'`);
  }
  const device = values.device ?? 'cpu';
  let fill: number | undefined;
  if (values['fill-non-finite'] !== undefined) {
    fill = Number(values['fill-non-finite']);
    if (!Number.isFinite(fill)) throw new UsageError(`--fill-non-finite: expected a finite number, got '${values['fill-non-finite']}'`);
  }
  // the output folder is checked before the work, not after it
  if (values.out) checkWritableFolder(resolve(values.out), '--out');
  const t0 = performance.now();

  // ---- data, sensor, conventions --------------------------------------------------------------------
  const { input, count, offset } = await readSource(values, sample);
  const dataName = values.data ?? values.pan!;
  for (const k of ['ms', 'lms', 'pan', 'gt'] as const) finitePolicy(`the ${k.toUpperCase()} of ${dataName}`, input[k], fill, 'fix the data (e.g. fill or mask the bad pixels)');
  let sensor: string | undefined;
  if (values.sensor !== undefined) {
    sensor = parseSensor(values.sensor);
    if (!sensor) throw new UsageError(`--sensor: unknown sensor '${values.sensor}' (known: WV3, WV2, WV4, QB, GF2, IKONOS, GeoEye1)`);
  } else {
    sensor = input.sensor;
  }
  const scale = scaleArg ?? (sensor ? sensorScale(sensor) : 2047);
  const bits = intOption(values.bits, 'bits') ?? (sensor === 'gf2' ? 10 : 11);
  const gtAll = batched(input.gt, input.layout), msAll = batched(input.ms, input.layout);
  const lmsAll = batched(input.lms, input.layout), panAll = batched(input.pan, input.layout)!;
  const [, , H, W] = panAll.shape as [number, number, number, number];
  const bands = (msAll ?? lmsAll)!.shape[1]!;
  if (sample !== undefined && (sample < 0 || sample >= count)) throw new UsageError(`--sample: ${dataName} holds ${count} image${count === 1 ? '' : 's'}; ${sample} is out of range`);
  const indices = sample === undefined ? [...Array(count).keys()] : [sample];
  if (!msAll && cnnSpecs[modelName].inputs.includes('ms')) throw new Error(`${modelName} needs the low-resolution MS ('ms' / I_MS_LR), which ${dataName} lacks`);
  if (H % RATIO || W % RATIO) throw new Error(`${dataName}: the PAN is ${H}×${W}; these models need sides that are multiples of ${RATIO}`);

  // ---- the model and its weights ---------------------------------------------------------------------
  const state = await loadCheckpointFile(values.weights);
  const found = describeDlpanCheckpoint(state);
  if (found && found.model !== modelName) throw new Error(`--weights: ${values.weights} holds a ${found.model} (${found.bands} bands), not a ${modelName}`);
  if (found && found.bands !== bands) {
    throw new Error(`--weights: ${values.weights} is a ${found.bands}-band ${found.model} (e.g. ${found.bands === 8 ? 'WV3' : 'QB'}), but ${dataName} has ${bands}-band MS data`);
  }
  if (bands !== 4 && bands !== 8) throw new Error(`${dataName}: ${bands}-band MS data; the released models take 4 or 8 bands`);
  const model = createModel({ model: modelName, bands });
  const made: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => { made.push(t); return t; };
  try {
    const report = loadDlpanStateDict(model, state);
    model.eval();
    if (device !== 'cpu') await model.to(device);

    // ---- inference, one image at a time (whole images: the CNNs are fully convolutional) -----------
    const fusedList: Tensor[] = [], expList: Tensor[] = [], gtList: Tensor[] = [], msList: Tensor[] = [], panList: Tensor[] = [];
    const inferStart = performance.now();
    const all = { ms: msAll && keep(fromHost(msAll)), lms: lmsAll && keep(fromHost(lmsAll)), pan: keep(fromHost(panAll)), gt: gtAll && keep(fromHost(gtAll)) };
    const one = (t: Tensor | undefined, i: number) => t && keep(t.slice(0, i, i + 1).contiguous());
    for (const index of indices) {
      const i = index - offset; // position among the images loaded
      const ms = one(all.ms, i), pan = one(all.pan, i)!, gt = one(all.gt, i);
      const lms = one(all.lms, i) ?? keep(await interp23tap(ms!, RATIO, { dtype: 'float32' }));
      const onDevice = (t: Tensor) => (device === 'cpu' ? t : keep(t.to(device)));
      const inputs: Record<string, Tensor> = { lms: onDevice(keep(lms.div(scale))), pan: onDevice(keep(pan.div(scale))) };
      if (ms && cnnSpecs[modelName].inputs.includes('ms')) inputs.ms = onDevice(keep(ms.div(scale)));
      const y = keep(await model.forward(inputs));
      const yCpu = device === 'cpu' ? y : keep(y.to('cpu'));
      fusedList.push(keep(yCpu.mul(scale)));
      expList.push(ms ? keep(await exp({ ms, ratio: RATIO, dtype: 'float32' })) : lms);
      if (gt) gtList.push(gt);
      msList.push(ms ?? lms);
      panList.push(pan);
    }
    const inferSeconds = (performance.now() - inferStart) / 1000;
    const stackAll = (list: Tensor[]) => keep(list.length === 1 ? list[0]! : cat(list, 0));
    const f64 = (t: Tensor) => keep(t.to('float64'));
    let fused = stackAll(fusedList);
    const expo = stackAll(expList);
    {
      const host = await fused.toHost();
      const bad = countNonFinite(host);
      finitePolicy(`${modelName}'s output`, host, fill, `the input is finite, so the weights ${values.weights} are the likely cause (corrupt, or trained on other data)`);
      if (bad) fused = keep(fromHost(host)); // filled: the metrics and files see the filled values
    }
    const methods: [string, Tensor][] = [['EXP', expo], [modelName, fused]];

    // ---- metrics on DN -------------------------------------------------------------------------------
    let kind: 'reduced-resolution' | 'full-resolution';
    const perImage: Record<string, Record<string, unknown>[]> = {};
    let conventions: unknown;
    if (gtList.length) {
      kind = 'reduced-resolution';
      const gt64 = f64(stackAll(gtList));
      for (const [name, t] of methods) {
        const r = await reducedResolutionMetricsBatch(f64(t), gt64, { ratio: RATIO, bits, dimCut: cut });
        perImage[name] = r.map(stripConventions);
        conventions = r[0]!.conventions;
      }
    } else {
      kind = 'full-resolution';
      if (!sensor) throw new UsageError(`--sensor is required: ${dataName} has no ground truth, and the full-resolution metrics need the sensor's MTF (the file does not name it)`);
      const msKey = input.ms ? 'ms' : 'lms';
      const ms64 = f64(stackAll(msList)), pan64 = f64(stackAll(panList));
      for (const [name, t] of methods) {
        const r = await fullResolutionMetricsBatch(f64(t), { [msKey]: ms64, pan: pan64, sensor, ratio: RATIO, bits });
        perImage[name] = r.map(stripConventions);
        conventions = r[0]!.conventions;
      }
    }
    const summary = Object.fromEntries(methods.map(([name]) => [name, meanAndSpread(perImage[name]!)]));

    // ---- files -----------------------------------------------------------------------------------------
    const files: string[] = [];
    const seconds = () => (performance.now() - t0) / 1000;
    const result = {
      model: modelName, weights: values.weights, data: dataName, sensor: sensor ?? null, bands, size: [H, W], scale, device,
      samples: indices, kind, ratio: RATIO, bits, dimCut: cut,
      exp: input.ms ? 'interp23tap(ms)' : "the file's lms",
      load: loadSummary(report),
      metrics: Object.fromEntries(methods.map(([name]) => [name, summary[name]!.values])),
      ...(indices.length > 1 ? { std: Object.fromEntries(methods.map(([name]) => [name, summary[name]!.spread])) } : {}),
      perImage, conventions, files, inferenceSeconds: inferSeconds, seconds: 0,
    };
    if (values.out) {
      const out = resolve(values.out);
      mkdirSync(out, { recursive: true });
      const write = (name: string, data: Uint8Array | string) => { const p = join(out, name); writeFileAtomic(p, data); files.push(p); };
      // one mosaic (EXP | model | GT) so that every method shares one colour stretch
      const first = (t: Tensor) => keep(t.select(0, 0));
      const mosaic = keep(cat([first(expo), first(fused), ...(gtList.length ? [first(gtList[0]!)] : [])], 2));
      const zoom = (img: RgbaImage) => (img.height >= 256 ? img : resizeNearest(img, img.width * Math.ceil(256 / img.height), img.height * Math.ceil(256 / img.height)));
      write(`${modelName}_preview.png`, encodePng(panel([zoom(renderGray(await first(panList[0]!).toHost())), zoom(renderRgb(await mosaic.toHost(), { sensor }))], { gap: 6 })));
      const hwc = keep(indices.length === 1 ? first(fused).permute([1, 2, 0]).contiguous() : fused.permute([0, 2, 3, 1]).contiguous());
      const p = join(out, `${modelName}_fused.mat`);
      writeMatFile(p, { sr: await hwc.toHost() });
      files.push(p);
      result.seconds = seconds();
      write('metrics.json', JSON.stringify(result, null, 2) + '\n');
    }
    result.seconds = seconds();
    if (values.json) {
      console.log(JSON.stringify(result));
      return;
    }
    const n = indices.length;
    const what = n === count ? (count === 1 ? '' : `${count} images, mean±std; `) : `image ${indices[0]} of ${count}; `;
    console.log(`${modelName} on ${basename(dataName)} (${what}${sensor ? sensor.toUpperCase() + ', ' : ''}${bands} bands, ${H}×${W}; model inputs DN/${scale}, outputs ×${scale})`);
    console.log(`weights ${values.weights}: ${report.loaded.length} tensors loaded, 0 missing, 0 unexpected, 0 shape mismatches` +
      (report.aliases.length ? `; ${report.aliases.length} backbone.* aliases equal to their res* twins, ignored` : ''));
    console.log(kind === 'reduced-resolution'
      ? `reduced resolution against the ground truth; toolbox metrics on DN, ratio ${RATIO}, ${bits} bits, ${cut ? `border cut ${cut}` : 'no border cut'}, Q blocks 32; EXP = ${result.exp}\n`
      : `full resolution (no ground truth); toolbox metrics on DN, sensor ${sensor!.toUpperCase()} MTF, ratio ${RATIO}, ${bits} bits, blocks 32; EXP = ${result.exp}\n`);
    console.log(formatTable(methods.map(([name]) => ({ name, ...summary[name]! })), kind === 'reduced-resolution' ? REDUCED_COLUMNS(bands) : FULL_COLUMNS));
    console.log(`\ninference ${inferSeconds.toFixed(2)} s on ${device}; total ${result.seconds.toFixed(2)} s`);
    if (files.length) for (const f of files) console.log(`  ${f}`);
  } finally {
    for (const t of made) if (!t.disposed) t.dispose();
    model.dispose();
  }
}
