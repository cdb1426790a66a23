/**
 * Reused memory for the frames `send(transactions)` encodes (issue #14).
 *
 * A fresh 32 KiB buffer per batch makes V8 collect on *external memory pressure*: `--trace-gc`
 * on the sender showed half of its collections triggered by `ArrayBuffer` backing stores, not by
 * the JavaScript heap (which stayed near 35 MB). Frames are therefore carved out of 1 MiB slabs;
 * a slab whose frames have all been released is reused instead of collected. Frames above
 * {@link MAX_POOLED_FRAME} get a buffer of their own, as before.
 *
 * A frame is released only once nothing can read it any more: after its batch settled and the
 * `onOutcome` callback (if any) returned — and not at all when an `onOutcome` callback is set,
 * since that callback may keep the payload (see `worker.ts`). A frame that is never released
 * (a batch given back at close, an abandoned `send`) only means its slab is left to the garbage
 * collector instead of being reused: leaks cost reuse, never correctness.
 *
 * @module
 */

/** Bytes of one slab. */
export const SLAB_BYTES = 1024 * 1024
/** Frames larger than this get a buffer of their own. */
export const MAX_POOLED_FRAME = 256 * 1024
/** Free slabs kept for reuse (beyond them, an emptied slab is left to the garbage collector). */
const MAX_FREE_SLABS = 8

class Slab {
  readonly buffer = new ArrayBuffer(SLAB_BYTES)
  /** Bytes handed out since the slab was last (re)started. */
  used = 0
  /** Frames handed out and not yet released. */
  live = 0
}

const slabs = new WeakMap<ArrayBufferLike, Slab>()
const free: Array<Slab> = []
let current: Slab | undefined

const fresh = (): Slab => {
  const slab = free.pop() ?? new Slab()
  slabs.set(slab.buffer, slab)
  slab.used = 0
  slab.live = 0
  return slab
}

/** A buffer of `size` bytes for one frame (its contents are not zeroed). */
export const allocateFrame = (size: number): Uint8Array => {
  if (size > MAX_POOLED_FRAME) return Buffer.allocUnsafe(size)
  let slab = current
  if (slab === undefined || slab.used + size > SLAB_BYTES) {
    // The full slab is reused once its last frame is released (see `releaseFrame`).
    slab = current = fresh()
  }
  const frame = new Uint8Array(slab.buffer, slab.used, size)
  // 8-byte alignment keeps every frame's start word-aligned for the copies into it.
  slab.used = (slab.used + size + 7) & ~7
  slab.live++
  return frame
}

/** Gives a frame from {@link allocateFrame} back; it must not be read afterwards. */
export const releaseFrame = (frame: Uint8Array): void => {
  const slab = slabs.get(frame.buffer)
  if (slab === undefined || --slab.live > 0) return
  if (slab === current) {
    // Every frame of the slab in use is released: start it over.
    slab.used = 0
    return
  }
  slabs.delete(slab.buffer)
  if (free.length < MAX_FREE_SLABS) free.push(slab)
}
