// The sensor table: the one home of sensor names, their aliases, MS band counts and MTF gains at
// Nyquist (genMTF.m, MTF_PAN.m of the Vivone et al. toolbox in DLPan-Toolbox). TypeScript reads the
// ids, aliases and band counts through the bridge (`sensors()`, lib/data/sensors.ts) and adds only
// what the data layer needs besides (value scale, RGB bands).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace specfuse::ops {

struct SensorInfo {
  const char* id;                    // canonical: "qb", "ikonos", "geoeye1", "wv4", "wv2", "wv3", "gf2", "none"
  std::vector<const char*> aliases;  // further names, already folded (lower case, letters and digits only)
  int64_t bands;                     // MS bands the GNyq row is for; 0 for "none" (any band count)
  std::vector<double> ms_gnyq;       // per MS band
  double pan_gnyq;
};

const std::vector<SensorInfo>& sensor_table();

// Canonical sensor id from a name matched case-insensitively, ignoring everything but letters and
// digits ("QuickBird", "WorldView-3", "GF-2" work). Unknown names: RangeError listing the known ones.
std::string canonical_sensor(const std::string& name);
// MS band count the sensor's GNyq table is for (4 or 8), 0 for "none" (any band count).
int64_t sensor_band_count(const std::string& sensor);
// MS gains at Nyquist per band (genMTF.m); `bands` must equal the sensor's band count (RangeError).
std::vector<double> ms_gnyq(const std::string& sensor, int64_t bands);
// PAN gain at Nyquist (MTF_PAN.m; 0.15 for sensors the toolbox has no entry for).
double pan_gnyq(const std::string& sensor);

}  // namespace specfuse::ops
