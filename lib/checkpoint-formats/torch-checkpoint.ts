/**
 * Reading torch.save checkpoints without running them, and the one-call loader for any
 * checkpoint file (safetensors, torch zip, torch legacy).
 *
 * Zip format (torch >= 1.6): <prefix>/data.pkl is the pickled object, whose storages are
 * persistent ids resolved to <prefix>/data/<key>; <prefix>/byteorder says "little" or "big"
 * (absent in older files, meaning little). <prefix> is whatever directory the first entry
 * is in ("archive" for current torch, the file's stem for some older versions).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { HostArray } from '../host.js';
import { CheckpointError, check } from './checkpoint-errors.js';
import { plainBytes } from './bytes.js';
import { unpickle } from './pickle.js';
import type { PyValue } from './py-values.js';
import { isSafetensors, readSafetensors } from './safetensors.js';
import { extractStateDict } from './state-dict.js';
import type { ExtractOptions } from './state-dict.js';
import { torchGlobals } from './torch-globals.js';
import { isLegacyPickle, isLegacyTar, readLegacyCheckpoint } from './torch-legacy.js';
import { StorageTable } from './torch-storages.js';
import { ZipArchive, isZip } from './zip.js';

export { extractStateDict, DEFAULT_STATE_DICT_KEYS } from './state-dict.js';
export type { ExtractOptions } from './state-dict.js';

export interface TorchCheckpoint {
  format: 'zip' | 'legacy';
  /**
   * The unpickled object. Tensors are TorchTensor values (materialised on demand by
   * extractStateDict or TorchTensor.toHostArray); globals outside the allow-list appear as
   * Opaque, and anything the pickle wanted to call or instantiate with them as Refused.
   */
  root: PyValue;
}

const VALID_KEY = /^[A-Za-z0-9_.-]{1,256}$/;

function readZipCheckpoint(bytes: Uint8Array): TorchCheckpoint {
  const zip = new ZipArchive(bytes);
  const first = zip.names()[0];
  check(first !== undefined, 'format', 'torch checkpoint: the zip archive is empty');
  const slash = first.indexOf('/');
  check(slash > 0, 'format', `torch checkpoint: entry ${JSON.stringify(first)} is not inside an archive directory`);
  const prefix = first.slice(0, slash);
  check(zip.has(`${prefix}/data.pkl`), 'format', `torch checkpoint: no ${prefix}/data.pkl in the zip (not a torch.save file?)`);
  let littleEndian = true;
  if (zip.has(`${prefix}/byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}/byteorder`)).trim();
    check(order === 'little' || order === 'big', 'corrupt', `torch checkpoint: byteorder record says ${JSON.stringify(order.slice(0, 32))}`);
    littleEndian = order === 'little';
  }
  const table = new StorageTable((key) => {
    check(VALID_KEY.test(key), 'corrupt', `torch checkpoint: storage key ${JSON.stringify(key.slice(0, 64))} is malformed`);
    const name = `${prefix}/data/${key}`;
    check(zip.has(name), 'corrupt', `torch checkpoint: storage ${key} has no ${name} entry`);
    return zip.read(name);
  }, littleEndian);
  const root = unpickle(zip.read(`${prefix}/data.pkl`), { globals: torchGlobals(), persistentLoad: table.persistentLoad });
  return { format: 'zip', root };
}

/** Parse a torch.save file (zip or legacy) into its object graph, reading tensor data lazily. */
export function readTorchCheckpoint(input: Uint8Array): TorchCheckpoint {
  const bytes = plainBytes(input);
  if (isZip(bytes)) return readZipCheckpoint(bytes);
  if (isLegacyTar(bytes)) return { format: 'legacy', root: readLegacyCheckpoint(bytes) };
  if (isLegacyPickle(bytes)) return { format: 'legacy', root: readLegacyCheckpoint(bytes) };
  throw new CheckpointError('format', 'not a torch checkpoint (neither a zip archive nor a legacy torch.save pickle)');
}

export type CheckpointFormat = 'safetensors' | 'torch-zip' | 'torch-legacy';

export function sniffCheckpoint(bytes: Uint8Array): CheckpointFormat | undefined {
  if (isZip(bytes)) return 'torch-zip';
  if (isSafetensors(bytes)) return 'safetensors';
  if (isLegacyPickle(bytes) || isLegacyTar(bytes)) return 'torch-legacy';
  return undefined;
}

/** Tensors of a checkpoint held in memory, whatever its format. */
export function loadCheckpoint(bytes: Uint8Array, options: ExtractOptions = {}): Map<string, HostArray> {
  return loadOwnedCheckpoint(bytes, options, false);
}

/** `shareBuffer`: the bytes are ours alone (a file just read), so safetensors data may be viewed, not copied. */
function loadOwnedCheckpoint(bytes: Uint8Array, options: ExtractOptions, shareBuffer: boolean): Map<string, HostArray> {
  const format = sniffCheckpoint(bytes);
  if (format === 'safetensors') return readSafetensors(bytes, { shareBuffer }).tensors;
  if (format === undefined) {
    throw new CheckpointError('format', 'not a checkpoint we recognise (expected safetensors, or a torch.save zip or legacy file)');
  }
  return extractStateDict(readTorchCheckpoint(bytes).root, options);
}

function withPath<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(e.code, `${path}: ${e.message}`);
    throw e;
  }
}

/** fs errors pass through (a missing file is not a bad checkpoint), except Node's 2 GiB read cap. */
function tooLarge(path: string, e: unknown): unknown {
  return (e as { code?: string } | null)?.code === 'ERR_FS_FILE_TOO_LARGE'
    ? new CheckpointError('limit', `${path}: larger than the 2 GiB Node can read into one buffer`)
    : e;
}

/** Read a checkpoint file (safetensors / torch zip / torch legacy, sniffed from its bytes). */
export async function loadCheckpointFile(path: string, options: ExtractOptions = {}): Promise<Map<string, HostArray>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw tooLarge(path, e);
  }
  return withPath(path, () => loadOwnedCheckpoint(bytes, options, true));
}

export function loadCheckpointFileSync(path: string, options: ExtractOptions = {}): Map<string, HostArray> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw tooLarge(path, e);
  }
  return withPath(path, () => loadOwnedCheckpoint(bytes, options, true));
}
