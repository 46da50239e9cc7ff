/**
 * Line charts as SVG (loss curves): real text in the viewer's sans-serif font, nice-number ticks
 * (ticks.ts) with grid lines, axis labels, a legend, an optional log y axis. SVG rather than PNG so
 * the chart stays sharp when zoomed or pasted into slides, and its numbers stay selectable text.
 */
import { formatTick, linearTicks, logTicks } from './ticks.js';

export interface ChartSeries {
  label: string;
  points: Array<[number, number]>;
  /** CSS colour; default: the next of a colour-blind-safe palette. */
  color?: string;
  /** Draw a marker at each point (for sparse series such as validations). Default: when < 30 points. */
  markers?: boolean;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  logY?: boolean;
}

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
const FONT = 'font-family="\'DejaVu Sans\', Helvetica, Arial, sans-serif"';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const n2 = (v: number) => String(Math.round(v * 100) / 100);

/** Rough width of a label in the 12 px font (for placing the legend and the y-axis margin). */
const textWidth = (s: string, size = 12) => s.length * size * 0.6;

export function lineChartSvg(series: ChartSeries[], opts: ChartOptions = {}): string {
  const width = opts.width ?? 800,
    height = opts.height ?? 440;
  const keep = (y: number) => Number.isFinite(y) && (!opts.logY || y > 0);
  const all = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && keep(y)));
  if (all.length === 0) throw new RangeError('lineChartSvg: no finite points to plot');
  const xs = linearTicks(Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0])), 6);
  const ylo = Math.min(...all.map((p) => p[1])),
    yhi = Math.max(...all.map((p) => p[1]));
  const ys: { min: number; max: number; values: number[]; step?: number } = opts.logY ? logTicks(ylo, yhi) : linearTicks(ylo, yhi, 6);
  const yStep = ys.step;
  const yLabels = ys.values.map((v) => formatTick(v, yStep));
  const top = opts.title ? 44 : 16,
    bottom = opts.xLabel ? 56 : 36,
    right = 24;
  const left = 20 + (opts.yLabel ? 22 : 0) + Math.max(...yLabels.map((l) => textWidth(l)));
  const pw = width - left - right,
    ph = height - top - bottom;
  const ty = (v: number) => (opts.logY ? Math.log10(v) : v);
  const px = (x: number) => left + ((x - xs.min) / (xs.max - xs.min)) * pw;
  const py = (y: number) => top + ph - ((ty(y) - ty(ys.min)) / (ty(ys.max) - ty(ys.min))) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (opts.title) out.push(`<text x="${width / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${esc(opts.title)}</text>`);
  // grid, ticks and their labels
  out.push('<g class="grid" stroke="#e3e3e3" stroke-width="1">');
  for (const v of ys.values) out.push(`<line x1="${n2(left)}" x2="${n2(left + pw)}" y1="${n2(py(v))}" y2="${n2(py(v))}"/>`);
  for (const v of xs.values) out.push(`<line x1="${n2(px(v))}" x2="${n2(px(v))}" y1="${n2(top)}" y2="${n2(top + ph)}"/>`);
  out.push('</g>');
  out.push('<g class="y-ticks" text-anchor="end" fill="#333333">');
  ys.values.forEach((v, i) => out.push(`<text x="${n2(left - 6)}" y="${n2(py(v) + 4)}">${esc(yLabels[i]!)}</text>`));
  out.push('</g><g class="x-ticks" text-anchor="middle" fill="#333333">');
  for (const v of xs.values) out.push(`<text x="${n2(px(v))}" y="${n2(top + ph + 18)}">${esc(formatTick(v, xs.step))}</text>`);
  out.push('</g>');
  out.push(`<rect class="frame" x="${n2(left)}" y="${n2(top)}" width="${n2(pw)}" height="${n2(ph)}" fill="none" stroke="#333333"/>`);
  if (opts.xLabel) out.push(`<text x="${n2(left + pw / 2)}" y="${height - 14}" text-anchor="middle" font-size="13">${esc(opts.xLabel)}</text>`);
  if (opts.yLabel) out.push(`<text transform="translate(16 ${n2(top + ph / 2)}) rotate(-90)" text-anchor="middle" font-size="13">${esc(opts.yLabel)}</text>`);
  // series, clipped to the plot area
  out.push(`<clipPath id="plot"><rect x="${n2(left)}" y="${n2(top)}" width="${n2(pw)}" height="${n2(ph)}"/></clipPath>`);
  out.push('<g clip-path="url(#plot)" fill="none" stroke-width="1.6" stroke-linejoin="round">');
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]!);
  series.forEach((s, i) => {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && keep(y));
    if (p.length === 0) return;
    const pts = p.map(([x, y]) => `${n2(px(x))},${n2(py(y))}`).join(' ');
    out.push(`<polyline class="series" data-label="${esc(s.label)}" stroke="${esc(colors[i]!)}" points="${pts}"/>`);
    if (s.markers ?? p.length < 30) {
      for (const [x, y] of p) out.push(`<circle cx="${n2(px(x))}" cy="${n2(py(y))}" r="3" fill="${esc(colors[i]!)}" stroke="none"/>`);
    }
  });
  out.push('</g>');
  // legend, top right inside the plot, on a white box so it reads over the grid
  const lw = 40 + Math.max(...series.map((s) => textWidth(s.label)));
  const lx = left + pw - lw - 8,
    ly = top + 8;
  out.push(
    `<g class="legend"><rect x="${n2(lx)}" y="${n2(ly)}" width="${n2(lw)}" height="${series.length * 18 + 8}" fill="#ffffff" fill-opacity="0.9" stroke="#bbbbbb"/>`,
  );
  series.forEach((s, i) => {
    const y = ly + 16 + i * 18;
    out.push(`<line x1="${n2(lx + 8)}" x2="${n2(lx + 30)}" y1="${n2(y - 4)}" y2="${n2(y - 4)}" stroke="${esc(colors[i]!)}" stroke-width="2.5"/>`);
    out.push(`<text x="${n2(lx + 36)}" y="${n2(y)}">${esc(s.label)}</text>`);
  });
  out.push('</g>', '</svg>');
  return out.join('\n') + '\n';
}
