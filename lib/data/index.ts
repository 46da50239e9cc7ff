/**
 * specfuse data layer: readers and writers for the formats pansharpening data comes in.
 * Everything returns HostArrays (row-major typed arrays + shape, lib/host.ts) and throws
 * DataFormatError (with a `code`) for files that are truncated, corrupt or not as expected.
 */
export { DataFormatError, type DataFormatErrorCode } from './format-errors.js';
export { convertDType, permute, quantize } from './arrays.js';
export { MatFile, openMat, readMat, type MatReadOptions, type MatReader, type MatVariableInfo, type ReadMatOptions } from './mat.js';
export { Mat73File, isMat73Header, openMat73, openMatFile, readMatFile } from './mat73.js';
export { writeMat, writeMatFile, type MatValue, type WriteMatOptions } from './mat-write.js';
export {
  MAX_READ_BYTES,
  PANCOLLECTION_KEYS,
  PanCollectionFile,
  openPanCollection,
  type PanBatch,
  type PanDatasetInfo,
  type PanKey,
  type PanReadOptions,
} from './pancollection.js';
export { PanCollectionWriter, writePanCollection, type PanSamples, type PanWriterOptions } from './pancollection-write.js';
export { writeH5Array } from './h5-write.js';
export { GEO_TAGS, readGeoTiff, type GeoReference, type GeoTiffRead, type ReadGeoTiffOptions } from './geotiff.js';
export { encodeGeoTiff, writeGeoTiff, type GeoTiffDType, type WriteGeoTiffOptions } from './geotiff-write.js';
export {
  defaultRgbBands,
  encodePng,
  panel,
  percentiles,
  renderGray,
  renderPreview,
  renderRgb,
  resizeNearest,
  writePreviewPng,
  type PanelOptions,
  type RenderOptions,
  type RgbaImage,
  type StretchOptions,
} from './preview.js';
export { parseSensor, sensorBands, sensorFromPath, sensorRgbBands, sensorScale, type Sensor } from './sensors.js';
export { loadPansharpeningInput, sniffFormat, type LoadOptions, type PansharpeningInput, type TiffPaths } from './load.js';
export { listBandFiles, readBandStack, readHyperspectralCube, readMatCube, type HyperspectralCube, type ReadCubeOptions } from './hyperspectral-cube.js';
export { readImageRole, type ImageRole } from './image-roles.js';
export { IMAGE_ROLE_NAMES } from './role-names.js';
