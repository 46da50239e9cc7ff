/** Line charts as PNG (loss curves): log-scale y, labelled axes, several series with a legend. */
import type { RgbaImage } from '../data/index.js';
import { drawText, setPixel, textWidth, type Canvas } from './font.js';

export interface Series { label: string; points: Array<[number, number]>; color: [number, number, number] }

export interface PlotOptions { width?: number; height?: number; title?: string; xLabel?: string; yLabel?: string; logY?: boolean }

function line(c: Canvas, x0: number, y0: number, x1: number, y1: number, rgb: [number, number, number]): void {
  const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let i = 0; i <= n; i++) setPixel(c, x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, rgb);
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-2 ? v.toExponential(1) : String(Number(v.toPrecision(2))));

export function lineChart(series: Series[], opts: PlotOptions = {}): RgbaImage {
  const width = opts.width ?? 800, height = opts.height ?? 420;
  const c: Canvas = { width, height, data: new Uint8Array(width * height * 4).fill(255) };
  const left = 70, right = 20, top = opts.title ? 34 : 16, bottom = 44;
  const pts = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
  if (pts.length === 0) throw new RangeError('lineChart: no finite points to plot');
  const ty = (v: number) => (opts.logY ? Math.log10(v) : v);
  let [xmin, xmax] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [ymin, ymax] = [Math.min(...pts.map((p) => ty(p[1]))), Math.max(...pts.map((p) => ty(p[1])))];
  if (xmax === xmin) xmax = xmin + 1;
  if (ymax === ymin) { ymax += 0.5; ymin -= 0.5; }
  const px = (x: number) => left + ((x - xmin) / (xmax - xmin)) * (width - left - right);
  const py = (y: number) => height - bottom - ((ty(y) - ymin) / (ymax - ymin)) * (height - top - bottom);
  const grey: [number, number, number] = [200, 200, 200], black: [number, number, number] = [0, 0, 0];
  // grid and ticks
  for (let i = 0; i <= 4; i++) {
    const yv = ymin + ((ymax - ymin) * i) / 4;
    const yy = height - bottom - ((yv - ymin) / (ymax - ymin)) * (height - top - bottom);
    line(c, left, yy, width - right, yy, grey);
    const label = fmt(opts.logY ? 10 ** yv : yv);
    drawText(c, label, left - 6 - textWidth(label), yy - 3, black);
    const xv = xmin + ((xmax - xmin) * i) / 4;
    const xx = px(xv);
    line(c, xx, top, xx, height - bottom, grey);
    const xl = String(Math.round(xv));
    drawText(c, xl, xx - textWidth(xl) / 2, height - bottom + 6, black);
  }
  line(c, left, top, left, height - bottom, black);
  line(c, left, height - bottom, width - right, height - bottom, black);
  for (const s of series) {
    const p = s.points.filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
    for (let i = 1; i < p.length; i++) line(c, px(p[i - 1]![0]), py(p[i - 1]![1]), px(p[i]![0]), py(p[i]![1]), s.color);
    if (p.length === 1) setPixel(c, px(p[0]![0]), py(p[0]![1]), s.color);
  }
  if (opts.title) drawText(c, opts.title, left, 8, black, 2);
  if (opts.xLabel) drawText(c, opts.xLabel, (width - textWidth(opts.xLabel)) / 2, height - 16, black);
  if (opts.yLabel) drawText(c, opts.yLabel, 4, top - 12 < 0 ? 0 : top - 12, black);
  // legend, top right
  let ly = top + 6;
  for (const s of series) {
    const w = textWidth(s.label);
    const lx = width - right - w - 30;
    line(c, lx, ly + 3, lx + 20, ly + 3, s.color);
    line(c, lx, ly + 4, lx + 20, ly + 4, s.color);
    drawText(c, s.label, lx + 26, ly, black);
    ly += 12;
  }
  return { width, height, data: c.data };
}
