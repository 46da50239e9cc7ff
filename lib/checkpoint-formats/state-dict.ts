/**
 * Finding the state dict (name -> tensor) inside an unpickled checkpoint. The rules, in order:
 *   1. the root itself, if it is a non-empty dict whose values are all tensors;
 *   2. else root[key] for the first of `keys` (default state_dict, model_state, model, state)
 *      that holds a dict of tensors - nested dicts of tensors inside it are flattened with '.';
 *   3. else the root as a nested dict of tensors, flattened with '.'.
 * Any non-tensor, non-dict value disqualifies a candidate (we do not guess which entries matter).
 * If a candidate fails because it contains something the unpickler refused to build, and no
 * candidate succeeds, the error is code 'refused' and names the global the pickle wanted to run.
 */
import type { HostArray } from '../host.js';
import { CheckpointError } from './checkpoint-errors.js';
import { Opaque, PyDict, PyObj, Refused, findRefused, typeName } from './py-values.js';
import type { PyValue } from './py-values.js';
import { OutputBudget, TorchStorage, TorchTensor } from './torch-tensor.js';

export const DEFAULT_STATE_DICT_KEYS = ['state_dict', 'model_state', 'model', 'state'] as const;

export interface ExtractOptions {
  /** Top-level keys to look under, in order. */
  keys?: readonly string[];
  /**
   * Cap on bytes allocated for the returned tensors. Default: 256 MiB or 4x the distinct storage
   * bytes the selected tensors reference, whichever is larger (expanded or aliased views can
   * legitimately exceed the storage size, but not without bound).
   */
  maxOutputBytes?: number;
}

const MAX_DEPTH = 64;
/** Entries visited while flattening; a dict shared at many paths (a DAG) must not explode. */
const MAX_ENTRIES = 1 << 21;

type Found = { ok: true; tensors: Map<string, TorchTensor> } | { ok: false; why: string; refused?: Opaque | Refused };

function collect(root: PyValue, nested: boolean): Found {
  if (!(root instanceof PyDict)) {
    const refused = root instanceof Opaque || root instanceof Refused ? root : undefined;
    return { ok: false, why: `it is a ${typeName(root)}`, ...(refused ? { refused } : {}) };
  }
  if (root.size === 0) return { ok: false, why: 'it is empty' };
  const tensors = new Map<string, TorchTensor>();
  const onPath = new Set<PyDict>();
  let visited = 0;
  // Recursive, but depth is capped at MAX_DEPTH and total work at MAX_ENTRIES.
  const walk = (dict: PyDict, prefix: string, depth: number): Found | undefined => {
    if (depth > MAX_DEPTH) return { ok: false, why: `dicts nested deeper than ${MAX_DEPTH}` };
    if (onPath.has(dict)) return { ok: false, why: 'a dict contains itself' };
    onPath.add(dict);
    for (const [k, v] of dict.entries()) {
      if (++visited > MAX_ENTRIES) return { ok: false, why: `more than ${MAX_ENTRIES} entries` };
      if (typeof k !== 'string') return { ok: false, why: `key ${typeName(k)} is not a string` };
      const name = prefix ? `${prefix}.${k}` : k;
      if (v instanceof TorchTensor) {
        if (tensors.has(name)) return { ok: false, why: `flattened name ${JSON.stringify(name)} occurs twice` };
        tensors.set(name, v);
      } else if (nested && v instanceof PyDict) {
        const r = walk(v, name, depth + 1);
        if (r) return r;
      } else {
        const refused = v instanceof PyObj ? findRefused(v) : undefined;
        return { ok: false, why: `entry ${JSON.stringify(name)} is a ${typeName(v)}`, ...(refused ? { refused } : {}) };
      }
    }
    onPath.delete(dict);
    return undefined;
  };
  const failure = walk(root, '', 0);
  return failure ?? { ok: true, tensors };
}

function refusalMessage(r: Opaque | Refused, label: string): string {
  const reason = r instanceof Refused ? r.reason : `the pickle references ${r.qualname}`;
  return `refused: ${reason} (${label}); checkpoints are read as data only and no code in them is run`;
}

function describeRoot(root: PyValue): string {
  if (!(root instanceof PyDict)) return `the file holds a ${typeName(root)}`;
  const keys = [...root.keys()].slice(0, 20).map((k) => (typeof k === 'string' ? JSON.stringify(k) : typeName(k)));
  return `the file holds a dict with keys [${keys.join(', ')}${root.size > 20 ? ', ...' : ''}]`;
}

function findStateDict(root: PyValue, keys: readonly string[]): Map<string, TorchTensor> {
  const attempts: { label: string; found: Found }[] = [];
  const attempt = (label: string, value: PyValue, nested: boolean): Map<string, TorchTensor> | undefined => {
    const found = collect(value, nested);
    attempts.push({ label, found });
    return found.ok ? found.tensors : undefined;
  };
  const flat = attempt('top level', root, false);
  if (flat) return flat;
  if (root instanceof PyDict) {
    for (const key of keys) {
      if (!root.has(key)) continue;
      const under = attempt(`under ${JSON.stringify(key)}`, root.get(key)!, true);
      if (under) return under;
    }
  }
  const nested = attempt('top level, nested', root, true);
  if (nested) return nested;
  // Prefer naming a refused global: that is the actionable (and security-relevant) reason.
  for (const a of attempts) {
    if (!a.found.ok && a.found.refused) throw new CheckpointError('refused', refusalMessage(a.found.refused, a.label));
  }
  const why = attempts.map((a) => `${a.label}: ${a.found.ok ? 'ok' : a.found.why}`).join('; ');
  throw new CheckpointError(
    'no-state-dict',
    `no state dict found: ${describeRoot(root)}; looked for a dict of tensors at the top level or under ${keys.map((k) => JSON.stringify(k)).join(', ')} (${why})`,
  );
}

export function extractStateDict(root: PyValue, options: ExtractOptions = {}): Map<string, HostArray> {
  const tensors = findStateDict(root, options.keys ?? DEFAULT_STATE_DICT_KEYS);
  const wrap = (name: string, e: unknown): unknown => (e instanceof CheckpointError ? new CheckpointError(e.code, `${name}: ${e.message}`) : e);
  // Load (and size-check) every storage first, so the default budget below rests on verified sizes.
  const storages = new Set<TorchStorage>();
  for (const [name, t] of tensors) {
    try {
      t.storage.bytes();
    } catch (e) {
      throw wrap(name, e);
    }
    storages.add(t.storage);
  }
  let storageBytes = 0;
  for (const s of storages) storageBytes += s.nbytes;
  const budget = new OutputBudget(options.maxOutputBytes ?? Math.max(256 * 1024 * 1024, 4 * storageBytes));
  const out = new Map<string, HostArray>();
  for (const [name, t] of tensors) {
    try {
      out.set(name, t.toHostArray(budget));
    } catch (e) {
      throw wrap(name, e);
    }
  }
  return out;
}
