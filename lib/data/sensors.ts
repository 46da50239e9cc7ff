/**
 * Per-sensor facts the data layer needs: the PanCollection value scale ("img_scale": models
 * train on DN / scale) and which bands make an RGB preview. Sources: PanCollection README and
 * the DLPan toolbox (see shared/reference/conventions.md B1), the per-file RGB_indexes of the
 * Vitale example images (WV2 [5,3,2], IKONOS [3,2,1]).
 *
 * The sensor names, their aliases and MS band counts have one home, the C++ sensor table
 * (native/ops/sensors.cc, which the MTF filters use): read here through `native.sensors()`.
 */
import { basename } from 'node:path';
import { native } from '../native.js';
import { DataFormatError } from './format-errors.js';

export type Sensor = 'wv3' | 'wv2' | 'wv4' | 'qb' | 'gf2' | 'ikonos' | 'geoeye1';

interface SensorData {
  /** Bits per sample of the delivered DN. */
  bits: number;
  /** PanCollection divisor. */
  scale: number;
  /** 1-based band numbers for R, G, B. */
  rgb: [number, number, number];
}

// 8-band WorldView order: coastal, blue, green, yellow, red, red edge, NIR1, NIR2 → R,G,B = 5,3,2.
// 4-band order B, G, R, NIR → R,G,B = 3,2,1.
export const SENSOR_DATA: Readonly<Record<Sensor, SensorData>> = Object.freeze({
  wv3: { bits: 11, scale: 2047, rgb: [5, 3, 2] },
  wv2: { bits: 11, scale: 2047, rgb: [5, 3, 2] },
  wv4: { bits: 11, scale: 2047, rgb: [3, 2, 1] },
  qb: { bits: 11, scale: 2047, rgb: [3, 2, 1] },
  ikonos: { bits: 11, scale: 2047, rgb: [3, 2, 1] },
  geoeye1: { bits: 11, scale: 2047, rgb: [3, 2, 1] },
  gf2: { bits: 10, scale: 1023, rgb: [3, 2, 1] },
});

interface SensorInfo extends SensorData {
  bands: number;
}

/** Folded name (lower case, letters and digits) -> sensor, and the sensors' facts, from the C++ table. */
let cache: { aliases: Map<string, Sensor>; info: Map<Sensor, SensorInfo> } | undefined;
function table(): NonNullable<typeof cache> {
  if (cache) return cache;
  const aliases = new Map<string, Sensor>();
  const info = new Map<Sensor, SensorInfo>();
  for (const row of native.sensors()) {
    if (!(row.id in SENSOR_DATA)) continue; // 'none': an MTF choice, not a sensor the data layer reads
    const id = row.id as Sensor;
    info.set(id, { ...SENSOR_DATA[id], bands: row.bands });
    for (const a of [row.id, ...row.aliases]) aliases.set(a, id);
  }
  cache = { aliases, info };
  return cache;
}

/** Canonical sensor id from a name such as 'WV3', 'WorldView-3', 'QuickBird', 'GF-2'; undefined if unknown. */
export function parseSensor(name: string): Sensor | undefined {
  return table().aliases.get(name.toLowerCase().replace(/[^a-z0-9]/g, ''));
}

function info(sensor: string): SensorInfo {
  const s = parseSensor(sensor);
  if (!s) throw new DataFormatError('bad-argument', `unknown sensor '${sensor}' (known: ${Object.keys(SENSOR_DATA).join(', ')})`);
  return table().info.get(s)!;
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
  const tokens = basename(path)
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  for (const t of tokens) {
    const s = table().aliases.get(t);
    if (s) return s;
  }
  return undefined;
}
