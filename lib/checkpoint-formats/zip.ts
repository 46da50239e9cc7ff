/**
 * Minimal, bounds-checked ZIP reader: enough for PyTorch's zip checkpoints (stored entries,
 * ZIP64 once an archive passes 4 GiB or 65535 entries) plus deflate for archives re-zipped by
 * other tools. It reads the central directory only (the authoritative index), checks each
 * entry's local header against it, and verifies CRC-32 when an entry is read.
 *
 * Not supported, by design: multi-disk archives, encryption, compression methods other than
 * stored/deflate. Every offset read from the file is checked before it is used.
 */
import * as zlib from 'node:zlib';
import { CheckpointError, check } from './checkpoint-errors.js';
import { plainBytes, readU64 } from './bytes.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipOptions {
  /** Upper bound on a deflated entry's output; guards against decompression bombs. Default 1 GiB. */
  maxInflatedBytes?: number;
  /** Upper bound on the number of entries. Default 1,000,000. */
  maxEntries?: number;
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE). Uses node:zlib's native crc32 where this Node has it (>= 20.15). */
export function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(data) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly maxInflated: number;
  private readonly verified = new Set<string>();

  constructor(bytes: Uint8Array, options: ZipOptions = {}) {
    this.bytes = plainBytes(bytes);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.maxInflated = options.maxInflatedBytes ?? 1024 * 1024 * 1024;
    const { count, cdOffset, cdSize } = this.findDirectory();
    check(count <= (options.maxEntries ?? 1_000_000), 'limit', `zip: ${count} entries exceeds the entry limit`);
    this.readDirectory(count, cdOffset, cdSize);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The uncompressed bytes of an entry. For stored entries this is a view into the archive
   * (no copy); callers that keep data must copy it.
   */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    check(e !== undefined, 'format', `zip: no entry named ${JSON.stringify(name)}`);
    check((e.flags & 1) === 0, 'unsupported', `zip: entry ${name} is encrypted`);
    const start = this.localDataStart(e);
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    let out: Uint8Array;
    if (e.method === 0) {
      check(e.compressedSize === e.uncompressedSize, 'corrupt', `zip: stored entry ${name} has differing sizes`);
      out = raw;
    } else if (e.method === 8) {
      check(
        e.uncompressedSize <= this.maxInflated,
        'limit',
        `zip: entry ${name} inflates to ${e.uncompressedSize} bytes, over the ${this.maxInflated}-byte limit`,
      );
      try {
        // maxOutputLength makes zlib stop (and throw) instead of growing past the declared size.
        out = plainBytes(zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.uncompressedSize) }));
      } catch (err) {
        throw new CheckpointError('corrupt', `zip: entry ${name} does not inflate (${(err as Error).message})`);
      }
      check(out.length === e.uncompressedSize, 'corrupt', `zip: entry ${name} inflated to ${out.length} bytes, expected ${e.uncompressedSize}`);
    } else {
      throw new CheckpointError('unsupported', `zip: entry ${name} uses compression method ${e.method} (only stored and deflate are read)`);
    }
    if (!this.verified.has(name)) {
      check(crc32(out) === e.crc32, 'corrupt', `zip: CRC-32 mismatch in entry ${name}`);
      this.verified.add(name);
    }
    return out;
  }

  private u16(off: number): number {
    return this.view.getUint16(off, true);
  }

  private u32(off: number): number {
    return this.view.getUint32(off, true);
  }

  private need(off: number, len: number, what: string): void {
    check(off >= 0 && len >= 0 && off + len <= this.bytes.length, 'bounds', `zip: ${what} at ${off}+${len} lies outside the ${this.bytes.length}-byte file`);
  }

  /** Locate the end-of-central-directory record (and its ZIP64 twin) by scanning backwards. */
  private findDirectory(): { count: number; cdOffset: number; cdSize: number } {
    const len = this.bytes.length;
    check(len >= 22, 'truncated', 'zip: file too short for an end-of-central-directory record');
    let eocd = -1;
    // The record is 22 bytes plus a comment of at most 65535 bytes.
    for (let p = len - 22; p >= Math.max(0, len - 22 - U16_MAX); p--) {
      if (this.u32(p) === SIG_EOCD && p + 22 + this.u16(p + 20) <= len) {
        eocd = p;
        break;
      }
    }
    check(eocd >= 0, 'format', 'zip: no end-of-central-directory record (truncated or not a zip file)');
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    const disk = this.u16(eocd + 4);
    const cdDisk = this.u16(eocd + 6);
    const onDisk = this.u16(eocd + 8);
    if (eocd >= 20 && this.u32(eocd - 20) === SIG_EOCD64_LOCATOR) {
      const loc = eocd - 20;
      check(this.u32(loc + 16) <= 1, 'unsupported', 'zip: multi-disk archives are not supported');
      const rec = readU64(this.view, loc + 8, 'zip64 end record offset');
      this.need(rec, 56, 'zip64 end-of-central-directory record');
      check(this.u32(rec) === SIG_EOCD64, 'format', 'zip: bad zip64 end-of-central-directory signature');
      check(this.u32(rec + 16) === 0 && this.u32(rec + 20) === 0, 'unsupported', 'zip: multi-disk archives are not supported');
      const onDisk64 = readU64(this.view, rec + 24, 'zip64 entry count');
      count = readU64(this.view, rec + 32, 'zip64 entry count');
      check(onDisk64 === count, 'unsupported', 'zip: multi-disk archives are not supported');
      cdSize = readU64(this.view, rec + 40, 'zip64 directory size');
      cdOffset = readU64(this.view, rec + 48, 'zip64 directory offset');
    } else {
      check(disk === 0 && cdDisk === 0 && onDisk === count, 'unsupported', 'zip: multi-disk archives are not supported');
    }
    this.need(cdOffset, cdSize, 'central directory');
    check(cdOffset + cdSize <= eocd, 'bounds', 'zip: central directory overlaps its end record');
    // Each central header is at least 46 bytes; a larger count cannot be honest.
    check(count * 46 <= cdSize, 'corrupt', `zip: ${count} entries cannot fit in a ${cdSize}-byte central directory`);
    return { count, cdOffset, cdSize };
  }

  private readDirectory(count: number, cdOffset: number, cdSize: number): void {
    const end = cdOffset + cdSize;
    const decoder = new TextDecoder('utf-8');
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      check(p + 46 <= end, 'bounds', `zip: central header ${i} runs past the directory`);
      check(this.u32(p) === SIG_CENTRAL, 'format', `zip: bad central header signature for entry ${i}`);
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const crc = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let uncompressedSize = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let diskStart = this.u16(p + 34);
      let localHeaderOffset = this.u32(p + 42);
      const next = p + 46 + nameLen + extraLen + commentLen;
      check(next <= end, 'bounds', `zip: central header ${i} runs past the directory`);
      const name = decoder.decode(this.bytes.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: 64-bit values, present only for fields saturated at their max.
      let q = p + 46 + nameLen;
      const extraEnd = q + extraLen;
      while (q + 4 <= extraEnd) {
        const id = this.u16(q);
        const size = this.u16(q + 2);
        check(q + 4 + size <= extraEnd, 'bounds', `zip: extra field of ${name} runs past its header`);
        if (id === 0x0001) {
          let r = q + 4;
          const take = (what: string): number => {
            check(r + 8 <= q + 4 + size, 'corrupt', `zip: zip64 field of ${name} is missing ${what}`);
            const v = readU64(this.view, r, `zip64 ${what}`);
            r += 8;
            return v;
          };
          if (uncompressedSize === U32_MAX) uncompressedSize = take('uncompressed size');
          if (compressedSize === U32_MAX) compressedSize = take('compressed size');
          if (localHeaderOffset === U32_MAX) localHeaderOffset = take('header offset');
          if (diskStart === U16_MAX) {
            check(r + 4 <= q + 4 + size, 'corrupt', `zip: zip64 field of ${name} is missing disk number`);
            diskStart = this.u32(r);
          }
        }
        q += 4 + size;
      }
      check(diskStart === 0, 'unsupported', 'zip: multi-disk archives are not supported');
      check(!this.entries.has(name), 'corrupt', `zip: duplicate entry ${JSON.stringify(name)}`);
      this.need(localHeaderOffset, 30, `local header of ${name}`);
      check(localHeaderOffset + 30 <= cdOffset, 'bounds', `zip: local header of ${name} is inside the central directory`);
      this.entries.set(name, { name, method, flags, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset });
      p = next;
    }
  }

  /** Where an entry's data starts, after checking the local header agrees with the directory. */
  private localDataStart(e: ZipEntry): number {
    const off = e.localHeaderOffset;
    check(this.u32(off) === SIG_LOCAL, 'format', `zip: bad local header signature for ${e.name}`);
    const nameLen = this.u16(off + 26);
    const extraLen = this.u16(off + 28);
    const start = off + 30 + nameLen + extraLen;
    this.need(off + 30, nameLen + extraLen, `local header of ${e.name}`);
    const localName = this.bytes.subarray(off + 30, off + 30 + nameLen);
    check(new TextDecoder('utf-8').decode(localName) === e.name, 'corrupt', `zip: local header name differs from directory for ${e.name}`);
    this.need(start, e.compressedSize, `data of ${e.name}`);
    return start;
  }
}
