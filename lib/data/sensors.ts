/**
 * Per-sensor facts the data layer needs: the PanCollection value scale ("img_scale": models
 * train on DN / scale) and which bands make an RGB preview. Sources: PanCollection README and
 * the DLPan toolbox (see shared/reference/conventions.md B1), the per-file RGB_indexes of the
 * Vitale example images (WV2 [5,3,2], IKONOS [3,2,1]).
 */
import { basename } from 'node:path';
import { DataFormatError } from './format-errors.js';

export type Sensor = 'wv3' | 'wv2' | 'wv4' | 'qb' | 'gf2' | 'ikonos' | 'geoeye1';

interface SensorInfo {
  bands: number;
  /** Bits per sample of the delivered DN. */
  bits: number;
  /** PanCollection divisor. */
  scale: number;
  /** 1-based band numbers for R, G, B. */
  rgb: [number, number, number];
}

// 8-band WorldView order: coastal, blue, green, yellow, red, red edge, NIR1, NIR2 → R,G,B = 5,3,2.
// 4-band order B, G, R, NIR → R,G,B = 3,2,1.
const SENSORS: Record<Sensor, SensorInfo> = {
  wv3: { bands: 8, bits: 11, scale: 2047, rgb: [5, 3, 2] },
  wv2: { bands: 8, bits: 11, scale: 2047, rgb: [5, 3, 2] },
  wv4: { bands: 4, bits: 11, scale: 2047, rgb: [3, 2, 1] },
  qb: { bands: 4, bits: 11, scale: 2047, rgb: [3, 2, 1] },
  ikonos: { bands: 4, bits: 11, scale: 2047, rgb: [3, 2, 1] },
  geoeye1: { bands: 4, bits: 11, scale: 2047, rgb: [3, 2, 1] },
  gf2: { bands: 4, bits: 10, scale: 1023, rgb: [3, 2, 1] },
};

const ALIASES: Record<string, Sensor> = {
  wv3: 'wv3', worldview3: 'wv3', wv2: 'wv2', worldview2: 'wv2', wv4: 'wv4', worldview4: 'wv4',
  qb: 'qb', quickbird: 'qb', gf2: 'gf2', gaofen2: 'gf2', ikonos: 'ikonos', ik: 'ikonos', geoeye1: 'geoeye1', ge1: 'geoeye1',
};

/** Canonical sensor id from a name such as 'WV3', 'WorldView-3', 'QuickBird', 'GF-2'; undefined if unknown. */
export function parseSensor(name: string): Sensor | undefined {
  return ALIASES[name.toLowerCase().replace(/[^a-z0-9]/g, '')];
}

function info(sensor: string): SensorInfo {
  const s = parseSensor(sensor);
  if (!s) throw new DataFormatError('bad-argument', `unknown sensor '${sensor}' (known: ${Object.keys(SENSORS).join(', ')})`);
  return SENSORS[s];
}

/** PanCollection divisor: 2047 for WV3/WV2/QB (11-bit), 1023 for GF2 (10-bit). */
export function sensorScale(sensor: string): number {
  return info(sensor).scale;
}

/** Band count of the sensor's MS product. */
export function sensorBands(sensor: string): number {
  return info(sensor).bands;
}

/** 1-based R,G,B band numbers for previews. */
export function sensorRgbBands(sensor: string): [number, number, number] {
  return [...info(sensor).rgb];
}

/** Sensor named in a PanCollection-style file name (train_wv3.h5, test_gf2_multiExm1.h5, ...). */
export function sensorFromPath(path: string): Sensor | undefined {
  const tokens = basename(path).toLowerCase().split(/[^a-z0-9]+/);
  for (const t of tokens) {
    const s = ALIASES[t];
    if (s) return s;
  }
  return undefined;
}
