/**
 * TensorBoard event files, written without TensorFlow: a TFRecord stream (each record: the length
 * as uint64 LE, its masked CRC32C, the bytes, their masked CRC32C) of protobuf `Event` messages.
 * Only the few fields TensorBoard reads for scalars and images are encoded, by hand:
 *
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }
 *   Value   { string tag = 1; float simple_value = 2; Image image = 4; }
 *   Image   { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4; }
 */

// ---- CRC32C (Castagnoli), as TFRecord frames use it --------------------------------------------
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant (so CRCs of CRCs stay distinct). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord frame around `data`. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---- protobuf wire format: the four field kinds used here -------------------------------------
class ProtoWriter {
  private readonly parts: number[] = [];
  private varint(v: bigint): void {
    // negative int64 values are written as their two's complement (10 bytes), as protobuf does
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }
  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }
  int(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.varint(BigInt(v));
    return this;
  }
  double(field: number, v: number): this {
    this.key(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  bytes(field: number, v: Uint8Array | string): this {
    const b = typeof v === 'string' ? new TextEncoder().encode(v) : v;
    this.key(field, 2);
    this.varint(BigInt(b.length));
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]!);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export type SummaryValue = { tag: string; scalar: number } | { tag: string; image: { width: number; height: number; png: Uint8Array; channels: 3 | 4 } };

function summaryValue(v: SummaryValue): Uint8Array {
  const w = new ProtoWriter().bytes(1, v.tag);
  if ('scalar' in v) return w.float(2, v.scalar).finish();
  const img = new ProtoWriter().int(1, v.image.height).int(2, v.image.width).int(3, v.image.channels).bytes(4, v.image.png).finish();
  return w.bytes(4, img).finish();
}

/** An Event holding a Summary of `values` at `step`. */
export function summaryEvent(step: number, values: readonly SummaryValue[], wallTime = Date.now() / 1000): Uint8Array {
  const summary = new ProtoWriter();
  for (const v of values) summary.bytes(1, summaryValue(v));
  return new ProtoWriter().double(1, wallTime).int(2, step).bytes(5, summary.finish()).finish();
}

/** The first event of every file: tells readers the format version. */
export function fileVersionEvent(wallTime = Date.now() / 1000): Uint8Array {
  return new ProtoWriter().double(1, wallTime).bytes(3, 'brain.Event:2').finish();
}

/**
 * A SessionLog START at `step`: TensorBoard drops every event of this run at `step` or later that it
 * read before this one (how a resumed run replaces the steps it redoes).
 */
export function sessionStartEvent(step: number, wallTime = Date.now() / 1000): Uint8Array {
  const START = 1;
  return new ProtoWriter().double(1, wallTime).int(2, step).bytes(7, new ProtoWriter().int(1, START).finish()).finish();
}
