// Charts: the nice-number tick algorithm (hand-checked cases), and the SVG line chart parsed back
// by an independent XML parser (Python's xml.etree) with its series, labels and ticks where they belong.
import t from 'tap';
import { formatTick, linearTicks, logTicks, niceNumber } from '../../lib/report/ticks.js';
import { lineChartSvg } from '../../lib/report/svg.js';
import fs from 'node:fs';
import path from 'node:path';
import { pythonWith, runPython, tempDir } from '../data/fixtures/helpers.js';

t.test('nice numbers and linear ticks', async (t) => {
  t.same(
    [0.7, 1.4, 2.2, 4, 7.4, 12, 0.031].map((x) => niceNumber(x, true)),
    [0.5, 1, 2, 5, 10, 10, 0.02],
    'rounded at √2, √10, √50',
  );
  t.same(
    [0.7, 1.4, 2.2, 4, 7.4].map((x) => niceNumber(x, false)),
    [1, 2, 5, 5, 10],
  );
  t.throws(() => niceNumber(0, true), RangeError);
  t.same(linearTicks(0, 600, 6), { min: 0, max: 600, step: 100, values: [0, 100, 200, 300, 400, 500, 600] });
  t.same(linearTicks(3, 597, 6).values, [0, 100, 200, 300, 400, 500, 600], 'widened to whole steps around the data');
  const f = linearTicks(0.1, 0.7, 6);
  t.same(f.values, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], 'no floating-point noise (0.30000000000000004)');
  t.same(linearTicks(-3.2, 4.1, 5), { min: -4, max: 6, step: 2, values: [-4, -2, 0, 2, 4, 6] });
  t.same(linearTicks(5, 5, 5).values, [2, 3, 4, 5, 6, 7, 8], 'a single value: half a nice unit either side');
  const one = linearTicks(5, 5, 5);
  t.ok(one.min < 5 && one.max > 5 && one.values.includes(5), `a single value gets a range around it: [${one.values}]`);
});

t.test('log ticks and labels', async (t) => {
  t.same(logTicks(0.0023, 0.051), { min: 0.001, max: 0.1, values: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1] }, 'two decades: 1, 2, 5 per decade');
  t.same(logTicks(3e-7, 2).values, [1e-7, 1e-5, 1e-3, 1e-1, 10], 'eight decades: every second one');
  t.same(logTicks(1.5, 1.7), { min: 1, max: 10, values: [1, 2, 5, 10] });
  t.throws(() => logTicks(0, 1), RangeError);
  t.same(
    [0, 0.001, 0.05, 100, 2500, -0.3].map((v) => formatTick(v)),
    ['0', '0.001', '0.05', '100', '2500', '−0.3'],
  );
  t.same(
    [1e-4, 2e-5, 1e6].map((v) => formatTick(v)),
    ['10⁻⁴', '2×10⁻⁵', '10⁶'],
  );
  t.equal(formatTick(0.30000000000000004, 0.1), '0.3');
});

const py = pythonWith();

t.test('the SVG chart is well-formed and holds its series, legend, ticks and labels', { skip: py ? false : 'no python' }, async (t) => {
  const train = Array.from({ length: 200 }, (_, i) => [i + 1, 0.05 * Math.exp(-i / 50) + 0.002] as [number, number]);
  const valid: Array<[number, number]> = [
    [50, 0.012],
    [100, 0.006],
    [150, 0.004],
    [200, 0.0035],
  ];
  const svg = lineChartSvg(
    [
      { label: 'train <L1>', points: train },
      { label: 'validation', points: valid },
    ],
    { title: 'FusionNet & WV2', xLabel: 'training step', yLabel: 'loss (log scale)', logY: true },
  );
  const { dir, cleanup } = tempDir('specfuse-chart-');
  t.teardown(cleanup);
  const file = path.join(dir, 'chart.svg');
  fs.writeFileSync(file, svg);
  const parsed = JSON.parse(
    runPython(
      py!,
      `
import sys, json, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
texts = [''.join(e.itertext()) for e in root.iter(ns + 'text')]
lines = [{'label': p.get('data-label'), 'n': len(p.get('points').split())} for p in root.iter(ns + 'polyline')]
yt = [''.join(e.itertext()) for g in root.iter(ns + 'g') if g.get('class') == 'y-ticks' for e in g]
xt = [''.join(e.itertext()) for g in root.iter(ns + 'g') if g.get('class') == 'x-ticks' for e in g]
print(json.dumps({'tag': root.tag, 'texts': texts, 'lines': lines, 'y': yt, 'x': xt}))
`,
      [file],
    ),
  );
  t.equal(parsed.tag, '{http://www.w3.org/2000/svg}svg');
  t.same(
    parsed.lines,
    [
      { label: 'train <L1>', n: 200 },
      { label: 'validation', n: 4 },
    ],
    'one polyline per series, every point',
  );
  for (const s of ['FusionNet & WV2', 'training step', 'loss (log scale)', 'train <L1>', 'validation'])
    t.ok(parsed.texts.includes(s), `text '${s}' (escaped in the file, intact when parsed)`);
  t.same(parsed.y, ['0.001', '0.002', '0.005', '0.01', '0.02', '0.05', '0.1'], 'log y ticks');
  t.same(parsed.x, ['0', '50', '100', '150', '200'], 'nice x ticks');
  t.throws(() => lineChartSvg([{ label: 'x', points: [[0, -1]] }], { logY: true }), RangeError, 'nothing plottable on a log axis');
});
