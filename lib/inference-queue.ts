/**
 * InferenceQueue: forward requests for one model from a busy program (a service answering many
 * callers), with a bound, back-pressure and cancellation.
 *
 * The addon already runs work one task at a time on its compute thread; what a service lacks is a
 * limit. Without one, every request's input tensors sit in memory until its turn, however many
 * arrive, and a caller that gave up still costs a forward. Here at most `concurrency` forwards are
 * handed to the addon at once, at most `maxQueued` more wait, a full queue refuses at once
 * (`QueueFullError`) and `ready()` tells a producer when there is room again. A request owns its
 * inputs: they are disposed when its forward is done, when it is cancelled (AbortSignal) while
 * waiting, or when it is refused, so a cancelled request frees its memory at once.
 */
import type { Module } from './module.js';
import type { Tensor } from './tensor.js';

export interface InferenceQueueOptions {
  /** Forwards handed to the addon at once (default 1: they run one at a time on its compute thread anyway). */
  concurrency?: number;
  /** Requests waiting beyond those (default 16); more are refused with QueueFullError. */
  maxQueued?: number;
}

export interface InferenceRequestOptions {
  /** Cancels the request: while waiting it leaves the queue and its inputs are disposed at once. */
  signal?: AbortSignal;
  stage?: number;
}

/** The queue holds `maxQueued` waiting requests already; await `ready()` and try again. */
export class QueueFullError extends Error {
  readonly code = 'SPECFUSE_QUEUE_FULL';
  constructor(maxQueued: number) {
    super(`inference queue is full (${maxQueued} requests waiting): await queue.ready() before adding more`);
    this.name = 'QueueFullError';
  }
}

/** The queue was closed; requests still waiting were cancelled. */
export class QueueClosedError extends Error {
  readonly code = 'SPECFUSE_QUEUE_CLOSED';
  constructor() {
    super('inference queue is closed');
    this.name = 'QueueClosedError';
  }
}

interface Request {
  inputs: Record<string, Tensor>;
  stage: number | undefined;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  resolve: (t: Tensor) => void;
  reject: (e: unknown) => void;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function disposeAll(inputs: Record<string, Tensor>): void {
  for (const t of Object.values(inputs)) t.dispose();
}

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what}: expected an integer >= 1, got ${v}`);
  return v;
}

export class InferenceQueue {
  readonly #model: Module;
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #waiting: Request[] = [];
  #running = 0;
  #closed = false;
  #roomWaiters: Array<() => void> = [];

  constructor(model: Module, options: InferenceQueueOptions = {}) {
    this.#model = model;
    this.#concurrency = positiveInt(options.concurrency ?? 1, 'concurrency');
    this.#maxQueued = positiveInt(options.maxQueued ?? 16, 'maxQueued');
  }

  /** Requests waiting for their turn. */
  get queued(): number {
    return this.#waiting.length;
  }
  /** Forwards handed to the addon and not yet settled. */
  get running(): number {
    return this.#running;
  }

  /**
   * Queues a forward of `inputs`, which the queue now owns (disposed when the request ends, however
   * it ends). Rejects with QueueFullError when `maxQueued` requests are waiting, with the signal's
   * reason when cancelled, and with QueueClosedError after close().
   */
  forward(inputs: Record<string, Tensor>, options: InferenceRequestOptions = {}): Promise<Tensor> {
    const { signal, stage } = options;
    if (this.#closed) {
      disposeAll(inputs);
      return Promise.reject(new QueueClosedError());
    }
    if (signal?.aborted) {
      disposeAll(inputs);
      return Promise.reject(abortReason(signal));
    }
    if (this.#running >= this.#concurrency && this.#waiting.length >= this.#maxQueued) {
      disposeAll(inputs);
      return Promise.reject(new QueueFullError(this.#maxQueued));
    }
    return new Promise<Tensor>((resolve, reject) => {
      const req: Request = { inputs, stage, signal, resolve, reject, onAbort: () => this.#cancel(req) };
      signal?.addEventListener('abort', req.onAbort, { once: true });
      this.#waiting.push(req);
      this.#pump();
    });
  }

  /** Resolves when a request can be queued without QueueFullError (at once if it can now). */
  ready(): Promise<void> {
    if (this.#hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Cancels every waiting request (their inputs are disposed); forwards already running finish. */
  close(): void {
    this.#closed = true;
    for (const req of this.#waiting.splice(0)) this.#end(req, () => req.reject(new QueueClosedError()));
    this.#notifyRoom();
  }

  #hasRoom(): boolean {
    return this.#closed || this.#running < this.#concurrency || this.#waiting.length < this.#maxQueued;
  }

  #notifyRoom(): void {
    while (this.#roomWaiters.length > 0 && this.#hasRoom()) this.#roomWaiters.shift()!();
  }

  #cancel(req: Request): void {
    const i = this.#waiting.indexOf(req);
    if (i < 0) return; // already running: its result is disposed when it arrives (see #run)
    this.#waiting.splice(i, 1);
    this.#end(req, () => req.reject(abortReason(req.signal!)));
    this.#notifyRoom();
  }

  /** Frees what the request owns and settles it. */
  #end(req: Request, settle: () => void): void {
    req.signal?.removeEventListener('abort', req.onAbort);
    disposeAll(req.inputs);
    settle();
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#waiting.length > 0) void this.#run(this.#waiting.shift()!);
    this.#notifyRoom();
  }

  async #run(req: Request): Promise<void> {
    this.#running++;
    // A request cancelled while running rejects at once; the forward itself cannot be interrupted
    // (its inputs stay pinned until it ends), so its inputs and output are disposed when it ends.
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      req.reject(abortReason(req.signal!));
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const out = await this.#model.forward(req.inputs, req.stage === undefined ? {} : { stage: req.stage });
      if (settled) out.dispose();
      else {
        settled = true;
        req.resolve(out);
      }
    } catch (e) {
      if (!settled) {
        settled = true;
        req.reject(e);
      }
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      req.signal?.removeEventListener('abort', req.onAbort);
      disposeAll(req.inputs);
      this.#running--;
      this.#pump();
    }
  }
}

/** A bounded, cancellable request queue in front of `model.forward` (see InferenceQueue). */
export function createInferenceQueue(model: Module, options: InferenceQueueOptions = {}): InferenceQueue {
  return new InferenceQueue(model, options);
}
