// windowStarts / windowGrid, the one generator of tile corners: explicit edge cases (flush last
// window, alignment, nothing fits, offsets), and equality with the three generators they replaced
// (whole-scene fusion's tileStarts, the scene tiles' corners, the MS/HS test crops' tileRegion),
// kept here as written before, over a grid of sizes, tiles and steps.
import t from 'tap';
import { windowGrid, windowStarts, type Window } from '../../lib/protocol/windows.js';
import { tileStarts } from '../../lib/workflows/tiled-fusion.js';

/** tileStarts before windowStarts (lib/workflows/tiled-fusion.ts). */
function oldTileStarts(size: number, tile: number, stride: number, ratio: number): number[] {
  const out: number[] = [];
  for (let s = 0; s + tile <= size; s += stride) out.push(s);
  const last = size - tile;
  if (out.at(-1) !== last) out.push(last - (last % ratio));
  return [...new Set(out)];
}

/** corners before windowGrid (lib/protocol/tiles.ts). */
function oldCorners(h: number, x0: number, x1: number, p: number, s: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let y = 0; y + p <= h; y += s) for (let x = x0; x + p <= x1; x += s) out.push([y, x]);
  return out;
}

/** tileRegion before windowGrid (lib/protocol/hyperspectral-simulation.ts), without its error. */
function oldTileRegion(region: Window, crop: number): Window[] {
  const out: Window[] = [];
  for (let y = region.y; y + crop <= region.y + region.height; y += crop) {
    for (let x = region.x; x + crop <= region.x + region.width; x += crop) out.push({ y, x, height: crop, width: crop });
  }
  return out;
}

t.test('windowStarts: edge cases', async (t) => {
  t.same(windowStarts(0, 10, 4, 2), [0, 2, 4, 6], 'every step while a window fits');
  t.same(windowStarts(0, 11, 4, 2), [0, 2, 4, 6], 'without flushAlign the remainder is left out');
  t.same(windowStarts(0, 11, 4, 2, 1), [0, 2, 4, 6, 7], 'flush with the end');
  t.same(windowStarts(0, 13, 4, 4, 4), [0, 4, 8], 'flush origin moved back to the grid: 9 -> 8, already taken');
  t.same(windowStarts(0, 14, 4, 8, 4), [0, 8], 'flush origin 10 -> 8, already taken');
  t.same(windowStarts(0, 18, 4, 8, 4), [0, 8, 12], 'flush origin 14 -> 12, added');
  t.same(windowStarts(0, 11, 4, 2, 4), [0, 2, 4, 6], 'flush origin 7 -> 4: an origin taken before the last is not repeated');
  t.same(windowStarts(0, 12, 4, 3, 4), [0, 3, 6, 8], 'a step below the alignment: flush origin 8 added');
  t.same(windowStarts(0, 14, 4, 3, 4), [0, 3, 6, 9, 8], 'a step below the alignment: flush origin 10 -> 8 comes after 9 (not sorted)');
  t.same(windowStarts(0, 4, 4, 2, 4), [0], 'one window fills the side');
  t.same(windowStarts(0, 3, 4, 2), [], 'nothing fits');
  t.same(windowStarts(0, 3, 4, 2, 4), [], 'nothing fits, no flush window either');
  t.same(windowStarts(5, 15, 4, 4), [5, 9], 'from an offset');
  t.same(windowStarts(5, 16, 4, 4, 2), [5, 9, 11], 'flush alignment counted from the offset: 12 -> 11');
});

t.test('windowGrid: row by row inside a region', async (t) => {
  t.same(
    windowGrid({ y: 2, x: 10, height: 8, width: 9 }, 4),
    [
      { y: 2, x: 10, height: 4, width: 4 },
      { y: 2, x: 14, height: 4, width: 4 },
      { y: 6, x: 10, height: 4, width: 4 },
      { y: 6, x: 14, height: 4, width: 4 },
    ],
    'side by side by default, the remainder left out',
  );
  t.same(windowGrid({ y: 0, x: 0, height: 6, width: 6 }, 4, 2).length, 4, 'overlapping with a smaller step');
  t.same(windowGrid({ y: 0, x: 0, height: 3, width: 8 }, 4), [], 'a region lower than one window');
});

t.test('the generators they replace give the same corners', async (t) => {
  let cases = 0;
  for (let size = 1; size <= 70; size++)
    for (const tile of [1, 4, 8, 16, 64])
      for (const stride of [1, 2, 3, 4, 8, 32])
        for (const ratio of [1, 2, 4, 8]) {
          if (size >= tile) {
            const a = tileStarts(size, tile, stride, ratio),
              b = oldTileStarts(size, tile, stride, ratio);
            if (JSON.stringify(a) !== JSON.stringify(b)) t.fail(`tileStarts(${size}, ${tile}, ${stride}, ${ratio}): ${a} vs ${b}`);
            cases++;
          }
          const x0 = ratio * 3;
          const c = windowGrid({ y: 0, x: x0, height: size, width: size + 5 - x0 }, tile, stride).map(({ y, x }) => [y, x]);
          if (JSON.stringify(c) !== JSON.stringify(oldCorners(size, x0, size + 5, tile, stride)))
            t.fail(`corners(${size}, ${x0}, ${size + 5}, ${tile}, ${stride})`);
          const region = { y: ratio, x: stride, height: size, width: size + tile };
          if (JSON.stringify(windowGrid(region, tile)) !== JSON.stringify(oldTileRegion(region, tile)))
            t.fail(`tileRegion(${JSON.stringify(region)}, ${tile})`);
          cases++;
        }
  t.ok(cases > 10000, `${cases} cases compared`);
  t.throws(() => tileStarts(3, 4, 2, 4), RangeError, 'tileStarts still refuses an image smaller than the tile');
});
