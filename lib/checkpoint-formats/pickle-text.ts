/**
 * Decoders for the text forms of pickle protocols 0/1 (INT/LONG/FLOAT literals, Python-repr
 * STRING literals, raw-unicode-escape UNICODE) and for LONG1/LONG4 two's-complement ints.
 * All are bounded: integer literals are capped at 4300 digits (as CPython does) so BigInt
 * parsing stays cheap.
 */
import { check } from './checkpoint-errors.js';

export const utf8 = new TextDecoder('utf-8');

/** Bytes as latin-1 text (one char per byte), chunked to stay clear of argument-count limits. */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

export function parseIntText(text: string, what: string): number | bigint {
  const t = text.trim();
  check(/^[+-]?\d{1,4300}$/.test(t), 'pickle', `${what}: bad integer literal`);
  const b = BigInt(t);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** Two's-complement little-endian bytes (LONG1/LONG4) to number|bigint. */
export function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let hex = '';
  for (let i = b.length - 1; i >= 0; i--) hex += b[i]!.toString(16).padStart(2, '0');
  let v = BigInt(`0x${hex}`);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Decode the body of a protocol-0 STRING literal (Python repr with escapes) to latin-1 text. */
export function decodeStringLiteral(line: string): string {
  const q = line[0];
  check(line.length >= 2 && (q === '"' || q === "'") && line[line.length - 1] === q, 'pickle', 'STRING: not a quoted literal');
  const body = line.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    check(n !== undefined, 'pickle', 'STRING: dangling backslash');
    const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
    if (n in simple) out += simple[n];
    else if (n === 'x') {
      const h = body.slice(i + 1, i + 3);
      check(/^[0-9a-fA-F]{2}$/.test(h), 'pickle', 'STRING: bad \\x escape');
      out += String.fromCharCode(parseInt(h, 16));
      i += 2;
    } else if (/[0-7]/.test(n)) {
      let oct = n;
      while (oct.length < 3 && /[0-7]/.test(body[i + 1] ?? '')) oct += body[++i];
      out += String.fromCharCode(parseInt(oct, 8) & 0xff);
    } else out += `\\${n}`;
  }
  return out;
}

/** raw-unicode-escape (protocol-0 UNICODE): only \uXXXX and \UXXXXXXXX are escapes. */
export function decodeRawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    check(cp <= 0x10ffff, 'pickle', 'UNICODE: code point out of range');
    return String.fromCodePoint(cp);
  });
}
