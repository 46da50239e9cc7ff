/** Public surface of the checkpoint readers. */
export { CheckpointError } from './checkpoint-errors.js';
export type { CheckpointErrorCode } from './checkpoint-errors.js';
export { readSafetensors, writeSafetensors, isSafetensors, MAX_SAFETENSORS_HEADER } from './safetensors.js';
export type { SafetensorsFile } from './safetensors.js';
export { ZipArchive, isZip } from './zip.js';
export type { ZipEntry, ZipOptions } from './zip.js';
export { unpickle, unpickleAt, BUILTIN_GLOBALS } from './pickle.js';
export type { GlobalTable, UnpickleOptions, UnpickleResult } from './pickle.js';
export { Opaque, PyBytes, PyCallable, PyDict, PyList, PyObj, PySet, PyTuple, Refused } from './py-values.js';
export type { PyValue } from './py-values.js';
export { TorchDType, TorchStorage, TorchStorageType, TorchTensor } from './torch-tensor.js';
export {
  readTorchCheckpoint,
  extractStateDict,
  loadCheckpoint,
  loadCheckpointFile,
  loadCheckpointFileSync,
  sniffCheckpoint,
  DEFAULT_STATE_DICT_KEYS,
} from './torch-checkpoint.js';
export type { TorchCheckpoint, CheckpointFormat, ExtractOptions } from './torch-checkpoint.js';
