#include "ops/sensors.h"

#include <cctype>

#include "core/errors.h"

namespace specfuse::ops {
namespace {

std::string fold_sensor_name(const std::string& name) {
  std::string key;
  for (char c : name)
    if (std::isalnum(static_cast<unsigned char>(c))) key += char(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

const SensorInfo& sensor_row(const std::string& name) {
  const std::string id = canonical_sensor(name);
  for (const auto& r : sensor_table())
    if (id == r.id) return r;
  throw range_error("sensor: unknown sensor '" + name + "'");  // unreachable: canonical_sensor throws first
}

}  // namespace

const std::vector<SensorInfo>& sensor_table() {
  // genMTF.m (MS) and MTF_PAN.m (PAN). GF2 and 'none' take genMTF's `otherwise` branch (0.3 per band)
  // and 0.15 for the PAN (MTF_PAN's 'none' value; the toolbox has no GF2 entry there).
  static const std::vector<SensorInfo> rows = {
      {"qb", {"quickbird"}, 4, {0.34, 0.32, 0.30, 0.22}, 0.15},
      {"ikonos", {"ik"}, 4, {0.26, 0.28, 0.29, 0.28}, 0.17},
      {"geoeye1", {"ge1"}, 4, {0.23, 0.23, 0.23, 0.23}, 0.16},
      {"wv4", {"worldview4"}, 4, {0.23, 0.23, 0.23, 0.23}, 0.16},
      {"wv2", {"worldview2"}, 8, {0.35, 0.35, 0.35, 0.35, 0.35, 0.35, 0.35, 0.27}, 0.11},
      {"wv3", {"worldview3"}, 8, {0.325, 0.355, 0.360, 0.350, 0.365, 0.360, 0.335, 0.315}, 0.14},
      {"gf2", {"gaofen2"}, 4, {0.3, 0.3, 0.3, 0.3}, 0.15},
      {"none", {}, 0, {}, 0.15},
  };
  return rows;
}

std::string canonical_sensor(const std::string& name) {
  const std::string key = fold_sensor_name(name);
  for (const auto& r : sensor_table()) {
    if (key == r.id) return r.id;
    for (const char* a : r.aliases)
      if (key == a) return r.id;
  }
  throw range_error("sensor: unknown sensor '" + name + "' (known: QB, IKONOS, GeoEye1, WV4, WV2, WV3, GF2, none)");
}

int64_t sensor_band_count(const std::string& sensor) { return sensor_row(sensor).bands; }

std::vector<double> ms_gnyq(const std::string& sensor, int64_t bands) {
  const auto& r = sensor_row(sensor);
  if (bands < 1 || bands > 1024) throw range_error("bands: must be in [1, 1024], got " + std::to_string(bands));
  if (r.bands == 0) return std::vector<double>(size_t(bands), 0.3);
  if (bands != r.bands)
    throw range_error("sensor '" + std::string(r.id) + "' has " + std::to_string(r.bands) +
                      " MS bands, but the image has " + std::to_string(bands) +
                      " (use sensor 'none' for other band counts)");
  return r.ms_gnyq;
}

double pan_gnyq(const std::string& sensor) { return sensor_row(sensor).pan_gnyq; }

}  // namespace specfuse::ops
