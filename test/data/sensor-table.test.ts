// One sensor table: names, aliases and MS band counts live in C++ (native/ops/sensors.cc, which the
// MTF filters use); lib/data/sensors.ts reads them through native.sensors() and adds only the data
// layer's facts (value scale, RGB bands). Both sides must know the same sensors and resolve every
// name alike.
import t from 'tap';
import { SENSOR_DATA, parseSensor, sensorBands, sensorFromPath } from '../../lib/data/sensors.js';
import { native } from '../../lib/native.js';

t.test('the data layer knows exactly the C++ sensors (less "none", an MTF choice)', async (t) => {
  const rows = native.sensors();
  t.same(
    Object.keys(SENSOR_DATA).sort(),
    rows
      .map((r) => r.id)
      .filter((id) => id !== 'none')
      .sort(),
    'same sensor ids',
  );
  for (const r of rows.filter((r) => r.id !== 'none')) {
    t.equal(sensorBands(r.id), r.bands, `${r.id}: ${r.bands} bands, from the C++ table`);
    for (const name of [r.id, ...r.aliases, r.id.toUpperCase()]) {
      t.equal(parseSensor(name), r.id, `TypeScript: ${name} -> ${r.id}`);
      t.equal(native.sensorMtf(name).sensor, r.id, `C++: ${name} -> ${r.id}`);
    }
  }
  t.equal(parseSensor('WorldView-3'), 'wv3', 'punctuation is ignored on both sides');
  t.equal(native.sensorMtf('WorldView-3').sensor, 'wv3');
  t.equal(sensorFromPath('test_quickbird_multiExm1.h5'), 'qb', 'file names use the aliases too');
  t.equal(parseSensor('Landsat'), undefined, 'unknown: undefined in TypeScript');
  t.throws(() => native.sensorMtf('Landsat'), { name: 'RangeError', message: /unknown sensor 'Landsat'/ }, 'unknown: RangeError in C++');
});
