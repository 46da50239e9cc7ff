/**
 * persistent_load for torch checkpoints: turns the persistent ids torch.save writes for
 * storages into lazily-loaded TorchStorage records.
 *   zip format:    ('storage', StorageType, key, location, numel)
 *   legacy format: ('storage', StorageType, key, location, numel, view_metadata | None)
 *                  ('module', cls, source_file, source)   - whole-module pickles; yields cls
 * `numel` counts elements of the storage type. The same key always means the same storage
 * (that is how aliased tensors share data); a key reused with another type or size is corrupt.
 */
import { CheckpointError, check } from './checkpoint-errors.js';
import { safeMul } from './bytes.js';
import { PyTuple, asInt, typeName } from './py-values.js';
import type { PyValue } from './py-values.js';
import { pidString } from './torch-globals.js';
import { TorchStorage, TorchStorageType } from './torch-tensor.js';

export type StorageLoader = (key: string, nbytes: number) => Uint8Array;

export class StorageTable {
  readonly storages = new Map<string, TorchStorage>();
  constructor(
    private readonly loader: StorageLoader,
    private readonly littleEndian: boolean,
  ) {}

  /** The pickle's persistent_load hook. */
  readonly persistentLoad = (pid: PyValue): PyValue => {
    check(pid instanceof PyTuple && pid.items.length >= 1, 'pickle', `persistent id must be a tuple, got ${typeName(pid)}`);
    const kind = pidString(pid.items[0], 'kind');
    if (kind === 'module') {
      // Legacy whole-module pickles record the class (already an inert Opaque) plus its source text.
      check(pid.items.length >= 2, 'pickle', 'persistent id: module record without a class');
      return pid.items[1]!;
    }
    check(kind === 'storage', 'pickle', `persistent id: unknown kind ${JSON.stringify(kind)}`);
    const [, type, rawKey, , rawNumel, view] = pid.items;
    check(pid.items.length === 5 || pid.items.length === 6, 'pickle', `persistent id: storage record has ${pid.items.length} fields`);
    if (!(type instanceof TorchStorageType)) {
      throw new CheckpointError('unsupported', `persistent id: storage type ${typeName(type)} is not one we read`);
    }
    const key = pidString(rawKey, 'key');
    const numel = asInt(rawNumel);
    check(numel !== undefined && numel >= 0, 'pickle', `persistent id: storage ${key} has a bad size`);
    const root = this.storage(type, key, numel);
    if (view === undefined || view === null) return root;
    return this.view(root, view);
  };

  private storage(type: TorchStorageType, key: string, numel: number): TorchStorage {
    const existing = this.storages.get(key);
    if (existing) {
      check(
        existing.type.name === type.name && existing.numel === numel,
        'corrupt',
        `storage ${key} is declared both as ${existing.numel} x ${existing.type.name} and ${numel} x ${type.name}`,
      );
      return existing;
    }
    const nbytes = safeMul(numel, type.info.itemsize, `storage ${key}`);
    const s = new TorchStorage(key, type, numel, nbytes, () => this.loader(key, nbytes), this.littleEndian);
    this.storages.set(key, s);
    return s;
  }

  /** Very old legacy files: (view_key, offset, size) naming a slice of the root storage. */
  private view(root: TorchStorage, meta: PyValue): TorchStorage {
    check(meta instanceof PyTuple && meta.items.length === 3, 'pickle', 'persistent id: bad view metadata');
    const viewKey = pidString(meta.items[0], 'view key');
    const offset = asInt(meta.items[1]);
    const size = asInt(meta.items[2]);
    check(
      offset !== undefined && size !== undefined && offset >= 0 && size >= 0 && offset + size <= root.numel,
      'bounds',
      `storage view ${viewKey} lies outside storage ${root.key}`,
    );
    const existing = this.storages.get(viewKey);
    if (existing) return existing;
    const item = root.type.info.itemsize;
    const s = new TorchStorage(viewKey, root.type, size, size * item, () => root.bytes().subarray(offset * item, (offset + size) * item), root.littleEndian);
    this.storages.set(viewKey, s);
    return s;
  }
}
