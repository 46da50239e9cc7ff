/** `specfuse metrics`: the toolbox quality indices of a fused image read from a file (.mat, .h5, GeoTIFF). */
import { imageMetrics } from '../workflows/image-metrics.js';
import { formatMetricTable } from '../metrics/index.js';
import { cutOption, flags, intOption, parse, positiveOption, UsageError } from './args.js';
import { withCliErrors } from './library-errors.js';

export const metricsHelp = `specfuse metrics --fused FILE (--gt FILE | --ms FILE --pan FILE) [options]

Computes the pansharpening quality indices of a fused image as the reference MATLAB toolbox does,
on digital numbers (DN): reduced resolution against a ground truth (Q, SAM, ERGAS, SCC, Q2n, PSNR,
SSIM), or full resolution from the MS and PAN (D_lambda, D_s, QNR, D_lambda_K, HQNR).
  --fused    the fused image: .mat (variable sr, fused, I_F, output, or the only array; H×W×C or
             N×H×W×C), .h5 (dataset sr, fused, output or the only one; C×H×W or N×C×H×W), GeoTIFF
  --gt       reference: .mat/.h5 with gt / I_GT (PanCollection or toolbox layout), or a GeoTIFF
  --ms       full resolution: the low-resolution MS (.mat/.h5 with ms / I_MS_LR, or a GeoTIFF)
  --lms      ... or the MS already upsampled to the PAN grid (lms / I_MS), instead of --ms
  --pan      full resolution: the PAN (.mat/.h5 with pan / I_PAN, or a GeoTIFF)
  --sensor   MTF of the full-resolution indices (WV3, WV2, QB, GF2, IKONOS, GeoEye1, WV4, none);
             default: what the file names say
  --sample   with files holding N > 1 images: use image I (0-based) of each (a file of one image
             is taken as that image, e.g. the output of 'specfuse eval --sample I')
  --ratio    PAN/MS scale ratio (default 4)
  --bits     radiometric resolution in bits (default 11)
  --cut      border cut dim_cut of the reduced-resolution indices (default 0: none; DLPan uses 21)
  --scale    multiply every image by this first (default 1: the files are in DN)
  --json     machine-readable output: {"kind", "count", "metrics": {...}, "perImage": [...], "conventions"}`;

export async function metrics(argv: string[]): Promise<void> {
  const strings = ['fused', 'gt', 'ms', 'lms', 'pan', 'sensor', 'sample', 'ratio', 'bits', 'cut', 'scale'] as const;
  const { values } = parse(argv, flags({ strings, booleans: ['json'] }));
  if (values.help) {
    console.log(metricsHelp);
    return;
  }
  if (!values.fused) throw new UsageError('--fused is required');
  const reduced = values.gt !== undefined;
  if (reduced && (values.ms || values.lms || values.pan))
    throw new UsageError('give either --gt (reduced resolution) or --ms/--lms and --pan (full resolution), not both');
  if (!reduced && (!(values.ms || values.lms) || !values.pan))
    throw new UsageError('give --gt (reduced resolution), or --ms (or --lms) and --pan (full resolution)');
  if (values.ms && values.lms) throw new UsageError('give --ms or --lms, not both');
  const ratio = intOption(values.ratio, 'ratio') ?? 4;
  const bits = intOption(values.bits, 'bits') ?? 11;
  const cut = cutOption(values.cut);
  const scale = positiveOption(values.scale, 'scale') ?? 1;
  const r = await withCliErrors(() =>
    imageMetrics({
      fused: values.fused!,
      gt: values.gt,
      ms: values.ms,
      lms: values.lms,
      pan: values.pan,
      sensor: values.sensor,
      sample: intOption(values.sample, 'sample'),
      ratio,
      bits,
      cut,
      scale,
    }),
  );
  if (values.json) {
    console.log(
      JSON.stringify({
        kind: r.kind,
        count: r.count,
        metrics: r.metrics,
        ...(r.std ? { std: r.std } : {}),
        perImage: r.perImage,
        conventions: r.conventions,
        seconds: r.seconds,
      }),
    );
    return;
  }
  const n = r.count;
  console.log(
    `${r.kind} indices of ${values.fused} (${n} image${n === 1 ? '' : 's'}, ${r.bands} bands, ${r.height}×${r.width}; ${n > 1 ? 'mean±std; ' : ''}` +
      `ratio ${ratio}, ${bits} bits${r.kind === 'reduced-resolution' ? `, ${cut ? `border cut ${cut}` : 'no border cut'}` : ''}${scale !== 1 ? `, ×${scale}` : ''})\n`,
  );
  console.log(formatMetricTable([{ name: 'fused', values: r.metrics, spread: r.std }], r.kind, r.bands));
}
