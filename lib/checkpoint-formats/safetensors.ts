/**
 * safetensors reader/writer. Format: u64 LE header length N, N bytes of JSON header
 * ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}), then the
 * data section. Offsets are relative to the data section.
 *
 * The reader validates as strictly as the reference (Rust) implementation: offsets must tile the
 * data section exactly (no overlap, no holes, no trailing bytes), because a file that indexes
 * the same bytes twice or hides bytes between tensors is either broken or crafted.
 */
import type { DType, HostArray } from '../host.js';
import { BYTES_PER_ELEMENT } from '../host.js';
import { CheckpointError, check } from './checkpoint-errors.js';
import { plainBytes, checkedNumel, dataMatchesDType, hostDataFromBytes, hostDataToLEBytes, hostDataView, isDimList, readU64 } from './bytes.js';

/** Headers larger than this are refused before we try to decode them (the reference caps at 100 MB too). */
export const MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024;

const TO_DTYPE: Record<string, DType> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  U16: 'uint16',
  BOOL: 'bool',
};
const FROM_DTYPE: Record<DType, string> = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k])) as Record<DType, string>;

export interface SafetensorsFile {
  /** In data-section order. */
  tensors: Map<string, HostArray>;
  metadata: Record<string, string>;
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hi = view.getUint32(4, true);
  const n = view.getUint32(0, true);
  // The header must be JSON that starts with '{' right after the length.
  return hi === 0 && n >= 2 && n <= bytes.length - 8 && bytes[8] === 0x7b;
}

function parseHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  check(bytes.length >= 8, 'truncated', `safetensors: file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = readU64(view, 0, 'safetensors header length');
  check(n <= MAX_SAFETENSORS_HEADER, 'limit', `safetensors: header length ${n} exceeds the ${MAX_SAFETENSORS_HEADER}-byte cap`);
  check(8 + n <= bytes.length, 'truncated', `safetensors: header length ${n} runs past the end of the ${bytes.length}-byte file`);
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new CheckpointError('format', 'safetensors: header is not valid UTF-8');
  }
  try {
    json = JSON.parse(text);
  } catch (e) {
    // Includes RangeError from pathological nesting: still just a bad header.
    throw new CheckpointError('format', `safetensors: header is not valid JSON (${(e as Error).message})`);
  }
  check(isPlainObject(json), 'format', 'safetensors: header JSON is not an object');
  return { header: json, dataStart: 8 + n };
}

function parseMetadata(raw: unknown): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (raw === null || raw === undefined) return metadata;
  check(isPlainObject(raw), 'format', 'safetensors: __metadata__ is not an object');
  for (const [k, v] of Object.entries(raw)) {
    check(typeof v === 'string', 'format', `safetensors: __metadata__[${JSON.stringify(k)}] is not a string`);
    // defineProperty, not assignment: a "__proto__" key must stay data.
    Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return metadata;
}

function parseEntry(name: string, raw: unknown, dataLen: number): Entry {
  const where = `safetensors: tensor ${JSON.stringify(name)}`;
  check(isPlainObject(raw), 'format', `${where}: entry is not an object`);
  const { dtype: st, shape, data_offsets: offs } = raw;
  check(typeof st === 'string', 'format', `${where}: dtype is missing or not a string`);
  check(hasOwn(TO_DTYPE, st), 'unsupported', `${where}: dtype ${JSON.stringify(st)} is not supported (supported: ${Object.keys(TO_DTYPE).join(', ')})`);
  const dtype = TO_DTYPE[st]!;
  check(isDimList(shape), 'format', `${where}: shape must be a list of non-negative integers`);
  check(
    Array.isArray(offs) && offs.length === 2 && offs.every((o) => Number.isSafeInteger(o) && (o as number) >= 0),
    'format',
    `${where}: data_offsets must be [begin, end] non-negative integers`,
  );
  const [begin, end] = offs as [number, number];
  check(begin <= end, 'format', `${where}: data_offsets begin ${begin} > end ${end}`);
  check(end <= dataLen, 'bounds', `${where}: data_offsets end ${end} is past the ${dataLen}-byte data section`);
  const expected = checkedNumel(shape, where) * BYTES_PER_ELEMENT[dtype];
  check(end - begin === expected, 'corrupt', `${where}: ${end - begin} data bytes, but shape [${shape.join(', ')}] of ${st} needs ${expected}`);
  return { name, dtype, shape: [...shape], begin, end };
}

export interface ReadSafetensorsOptions {
  /**
   * Return the tensors as views into `input` where alignment allows, instead of copies. For a
   * buffer the caller owns alone (a file just read): copying a 640 MB checkpoint element by element
   * held the JS thread for 314 ms; views cost nothing. Default false (the input stays the caller's).
   */
  shareBuffer?: boolean;
}

export function readSafetensors(input: Uint8Array, options: ReadSafetensorsOptions = {}): SafetensorsFile {
  const bytes = plainBytes(input);
  const { header, dataStart } = parseHeader(bytes);
  const dataLen = bytes.length - dataStart;
  const entries: Entry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') metadata = parseMetadata(raw);
    else entries.push(parseEntry(name, raw, dataLen));
  }
  // Tile check: sorted by begin (zero-size entries first at equal begins), each must start where the last ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    check(e.begin >= cursor, 'corrupt', `safetensors: tensor ${JSON.stringify(e.name)} overlaps the previous tensor's data`);
    check(e.begin === cursor, 'corrupt', `safetensors: unindexed bytes ${cursor}..${e.begin} before tensor ${JSON.stringify(e.name)}`);
    cursor = e.end;
  }
  check(cursor === dataLen, 'corrupt', `safetensors: ${dataLen - cursor} unindexed bytes after the last tensor`);
  const tensors = new Map<string, HostArray>();
  for (const e of entries) {
    const slice = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    const data = (options.shareBuffer ? hostDataView(e.dtype, slice) : undefined) ?? hostDataFromBytes(e.dtype, slice);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

export function writeSafetensors(tensors: Map<string, HostArray> | Record<string, HostArray>, metadata?: Record<string, string>): Uint8Array {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  // Null prototype: a tensor called "__proto__" must become a key, not a prototype change.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) {
    const meta: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(metadata)) {
      check(typeof v === 'string', 'invalid', `writeSafetensors: metadata[${JSON.stringify(k)}] is not a string`);
      meta[k] = v;
    }
    header['__metadata__'] = meta;
  }
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [name, t] of list) {
    const where = `writeSafetensors: tensor ${JSON.stringify(name)}`;
    check(name !== '__metadata__', 'invalid', `${where}: the name is reserved`);
    check(!(name in header), 'invalid', `${where}: duplicate name`);
    check(hasOwn(FROM_DTYPE, t.dtype), 'invalid', `${where}: unknown dtype ${String(t.dtype)}`);
    check(isDimList(t.shape), 'invalid', `${where}: shape must be non-negative integers`);
    check(dataMatchesDType(t.dtype, t.data), 'invalid', `${where}: data is a ${t.data.constructor.name}, wrong for ${t.dtype}`);
    const n = checkedNumel(t.shape, where);
    check(t.data.length === n, 'invalid', `${where}: data has ${t.data.length} elements, shape needs ${n}`);
    const bytes = hostDataToLEBytes(t.dtype, t.data);
    header[name] = { dtype: FROM_DTYPE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8; // pad so the data section starts 8-byte aligned
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen % 0x100000000, true);
  view.setUint32(4, Math.floor(headerLen / 0x100000000), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}
