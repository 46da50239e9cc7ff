/** The header of a .safetensors file (tensor shapes, metadata), read without reading the tensors. */
import { closeSync, openSync, readSync } from 'node:fs';

/** The header of a .safetensors file: tensor shapes and metadata, read without the tensors. */
export function safetensorsHeader(path: string): { shapes: Map<string, number[]>; metadata?: Record<string, string> } | undefined {
  if (!/\.safetensors$/i.test(path)) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) return undefined;
    const len = Number(head.readBigUInt64LE(0));
    if (!(len > 0 && len < 100 * 1024 * 1024)) return undefined;
    const json = Buffer.alloc(len);
    if (readSync(fd, json, 0, len, 8) !== len) return undefined;
    const { __metadata__: metadata, ...tensors } = JSON.parse(json.toString('utf8')) as Record<string, { shape?: unknown }> & {
      __metadata__?: Record<string, string>;
    };
    const shapes = new Map<string, number[]>();
    for (const [name, t] of Object.entries(tensors)) if (Array.isArray(t?.shape)) shapes.set(name, t.shape as number[]);
    return { shapes, metadata };
  } catch {
    return undefined; // unreadable: the real load reports it precisely
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
