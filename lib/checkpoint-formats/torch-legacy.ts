/**
 * The pre-1.6 ("legacy", non-zip) torch.save format, still written with
 * `_use_new_zipfile_serialization=False`. It is a sequence of pickles followed by raw data:
 *   pickle(MAGIC_NUMBER) pickle(PROTOCOL_VERSION=1001) pickle(sys_info)
 *   pickle(obj)                      - storages as persistent ids, see torch-storages.ts
 *   pickle(sorted storage keys)
 *   per key: u64 LE element count, then count * itemsize bytes (little-endian)
 * torch writes the data little-endian whatever the host, so sys_info's flag is not needed.
 * The even older tar-based format is refused with instructions.
 */
import { CheckpointError, check } from './checkpoint-errors.js';
import { plainBytes, readU64, safeMul } from './bytes.js';
import { unpickleAt } from './pickle.js';
import type { UnpickleOptions } from './pickle.js';
import { PyList, typeName } from './py-values.js';
import type { PyValue } from './py-values.js';
import { torchGlobals, pidString } from './torch-globals.js';
import { StorageTable } from './torch-storages.js';

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

export const CONVERT_HINT = "convert it with PyTorch: python -c \"import torch; sd=torch.load('f', map_location='cpu'); torch.save(sd, 'f2')\"";

/** The tar container of torch < 0.4 (ustar magic at 257). */
export function isLegacyTar(bytes: Uint8Array): boolean {
  const magic = [0x75, 0x73, 0x74, 0x61, 0x72]; // "ustar"
  return bytes.length > 262 && magic.every((b, i) => bytes[257 + i] === b);
}

export function isLegacyPickle(bytes: Uint8Array): boolean {
  // A pickle that opens with PROTO 2..5 (torch.save's pickle_protocol; default 2). The magic
  // number pickle that follows is checked by the reader, with a clearer error.
  return bytes.length > 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5;
}

export function readLegacyCheckpoint(input: Uint8Array, pickleOptions: UnpickleOptions = {}): PyValue {
  const bytes = plainBytes(input);
  check(!isLegacyTar(bytes), 'unsupported', `torch checkpoint: the tar-based format of torch < 0.4 is not supported; ${CONVERT_HINT}`);
  const sections = new Map<string, Uint8Array>();
  const table = new StorageTable((key) => {
    const data = sections.get(key);
    check(data !== undefined, 'corrupt', `legacy checkpoint: storage ${key} has no data section`);
    return data;
  }, true);
  let pos = 0;
  const next = (opts: UnpickleOptions = {}): PyValue => {
    const r = unpickleAt(bytes, pos, { ...pickleOptions, ...opts });
    pos = r.end;
    return r.value;
  };
  const magic = next();
  check(magic === MAGIC_NUMBER, 'format', 'legacy checkpoint: bad magic number (not a torch.save file)');
  const version = next();
  check(version === PROTOCOL_VERSION, 'unsupported', `legacy checkpoint: protocol version ${String(version)} (expected ${PROTOCOL_VERSION}); ${CONVERT_HINT}`);
  next(); // sys_info: only informational, see header comment
  const root = next({ globals: torchGlobals(), persistentLoad: table.persistentLoad });
  const keys = next();
  check(keys instanceof PyList, 'corrupt', `legacy checkpoint: storage key list is a ${typeName(keys)}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const k of keys.items) {
    const key = pidString(k, 'storage key');
    const storage = table.storages.get(key);
    check(storage !== undefined, 'corrupt', `legacy checkpoint: data for storage ${key}, which the pickle never uses`);
    check(pos + 8 <= bytes.length, 'truncated', `legacy checkpoint: storage ${key} header runs past the end`);
    const count = readU64(view, pos, `storage ${key} size`);
    check(count === storage.numel, 'corrupt', `legacy checkpoint: storage ${key} holds ${count} elements, the pickle declared ${storage.numel}`);
    const nbytes = safeMul(count, storage.type.info.itemsize, `storage ${key}`);
    check(pos + 8 + nbytes <= bytes.length, 'truncated', `legacy checkpoint: storage ${key} data runs past the end`);
    if (sections.has(key)) throw new CheckpointError('corrupt', `legacy checkpoint: storage ${key} written twice`);
    sections.set(key, bytes.subarray(pos + 8, pos + 8 + nbytes));
    pos += 8 + nbytes;
  }
  return root;
}
