/**
 * Buffers for large frames, reused: a frame that spans socket reads is assembled into a buffer
 * taken here (see `FrameDecoder`'s `allocate`), and the buffer comes back when the frame's
 * `submit` has settled (`Connection.complete`).
 *
 * Why: a fresh 1 MiB allocation per frame is memory the kernel must map and zero page by page,
 * and V8 counts it as external memory, whose growth forces garbage collections ("external memory
 * pressure"). Profiles of 1 MiB frames showed the copy into fresh memory and the collector as
 * the receiver's two largest costs (bench/PROFILE.md).
 *
 * - Only frames of at least {@link MIN_POOLED_BYTES} are pooled: below that a fresh allocation
 *   is cheap, and a frame is handed out as a view of its read anyway when it fits in one.
 * - Buffers come in power-of-two size classes, so one buffer serves every length of its class.
 * - The pool keeps at most {@link MAX_FREE_BYTES} of free buffers; a buffer returned beyond that
 *   is left to the garbage collector. Buffers in use are the queued frames, which the receiver
 *   already bounds and counts (`maxBufferedBytes`), each by the size of its whole buffer
 *   ({@link FramePool.heldBytes}: up to twice its payload).
 *
 * @module
 */

/** Smallest frame assembled into a pooled buffer. */
export const MIN_POOLED_BYTES = 256 * 1024
/** Free buffers kept for reuse, in bytes (a few 1 MiB frames' worth per handler is enough). */
export const MAX_FREE_BYTES = 32 * 1024 * 1024

const classOf = (length: number): number => 2 ** Math.ceil(Math.log2(length))

/** A pool of frame buffers. */
export class FramePool {
  private readonly free = new Map<number, Array<ArrayBuffer>>()
  private freeBytes = 0
  // The buffers this pool handed out: only those come back (a frame that fit in one read is a
  // view of that read, not ours).
  private readonly ours = new WeakSet<ArrayBuffer>()

  /** A buffer of exactly `length` bytes, uninitialised (for `FrameDecoder`'s `allocate`). */
  readonly take = (length: number): Uint8Array => {
    if (length < MIN_POOLED_BYTES) return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length)
    const size = classOf(length)
    const buffer = this.free.get(size)?.pop()
    if (buffer !== undefined) {
      this.freeBytes -= size
      return new Uint8Array(buffer, 0, length)
    }
    const fresh = Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer
    this.ours.add(fresh)
    return new Uint8Array(fresh, 0, length)
  }

  /**
   * The memory `frame` holds, for the receiver's accounting: its pooled buffer's whole size, or
   * its length for a frame that is not ours. The same for a frame from `take` to `release`.
   */
  heldBytes(frame: Uint8Array): number {
    if (frame.byteLength < MIN_POOLED_BYTES || !this.ours.has(frame.buffer as ArrayBuffer)) return frame.byteLength
    return frame.buffer.byteLength
  }

  /** Takes `frame`'s buffer back if it is one of ours; `frame` must not be used afterwards. */
  release(frame: Uint8Array): void {
    const buffer = frame.buffer as ArrayBuffer
    if (frame.byteLength < MIN_POOLED_BYTES || !this.ours.has(buffer)) return
    const size = buffer.byteLength
    if (this.freeBytes + size > MAX_FREE_BYTES) return
    let list = this.free.get(size)
    if (list === undefined) {
      list = []
      this.free.set(size, list)
    }
    list.push(buffer)
    this.freeBytes += size
  }
}

/**
 * The process's pool, shared by every receiver in it: the free buffers are bounded once for the
 * process (like Node's own `Buffer` pool), not once per receiver or connection.
 */
export const shared = new FramePool()
