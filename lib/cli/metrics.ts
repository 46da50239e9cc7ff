/** `specfuse metrics`: the toolbox quality indices of a fused image read from a file (.mat, .h5, GeoTIFF). */
import { imageMetrics } from '../workflows/image-metrics.js';
import { formatMetricTable } from '../metrics/index.js';
import { cutOption, flags, intOption, parse, positiveOption, UsageError } from './args.js';
import { withCliErrors } from './library-errors.js';
import { metricsHelp } from './help.js';

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
