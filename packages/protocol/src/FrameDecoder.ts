/**
 * The streaming frame decoder (SPEC.md §2–§3).
 *
 * Feed it chunks of any size, cut anywhere; it returns the frames each chunk completes.
 *
 * - A frame that lies inside one chunk is returned as a view of that chunk (zero copy), so
 *   callers must not reuse a chunk's memory after pushing it (Node's socket chunks are fresh).
 * - A frame that spans chunks is assembled with one copy when its last byte arrives. Until
 *   then large pieces (≥ 4 KiB) are kept as views of their reads, and small ones are copied
 *   into 16 KiB buffers of the decoder's own: a view pins its read's whole allocation (an
 *   `ArrayBuffer`, its backing store and the view: ~250 bytes of memory per byte for a peer that
 *   sends 1-byte writes), so a decoder that kept a view per small read held far more memory
 *   than it received. Memory held for a partial frame is {@link FrameDecoder.retainedBytes},
 *   counted by allocation (a kept view is charged its whole read): about what arrived, plus at
 *   most 16 KiB — a peer cannot make us allocate 10 MiB by sending 4 bytes.
 * - The announced length is checked against `maxFrameBytes` as soon as the header is known,
 *   before anything is buffered for the payload.
 * - Two ways to use it: {@link FrameDecoder.push} decodes a whole chunk at once;
 *   {@link FrameDecoder.feed} + {@link FrameDecoder.next} hand out one frame at a time, so a
 *   server can admit frames one by one and leave the rest of a chunk undecoded until it has room
 *   (a 64 KiB read can hold 16,384 empty frames).
 *
 * Errors are returned, not thrown: the frames a chunk completed before an oversize header are
 * still delivered, and the caller decides what to do next.
 *
 * @module
 */
import { Result } from "effect"
import { FrameTooLarge, TruncatedFrame } from "./errors.js"
import { DEFAULT_MAX_FRAME_BYTES, HEADER_BYTES, readLength, validateMaxFrameBytes } from "./Frame.js"

/** Options of {@link FrameDecoder}. */
export interface Options {
  /** Largest payload accepted, in bytes. Default 10,485,760 (10 MiB). The constructor throws `InvalidOptions` outside 0 … 2^32 − 1. */
  readonly maxFrameBytes?: number | undefined
  /**
   * Where a frame that spans chunks is assembled: returns a buffer of exactly `length` bytes,
   * whose contents are overwritten at once. Default: a fresh, uninitialised allocation. A server
   * can hand out buffers of a pool of its own here (and take each back when it is done with the
   * frame), so that large frames do not cost a fresh allocation each.
   */
  readonly allocate?: ((length: number) => Uint8Array) | undefined
}

/** What one {@link FrameDecoder.push} produced. */
export interface PushResult {
  /** Frames completed by this chunk, in order. */
  readonly frames: Array<Uint8Array>
  /** Set when an oversize header was found; the decoder is then failed for good. */
  readonly error: FrameTooLarge | undefined
}

const EMPTY = new Uint8Array(0)

/** Pieces of a spanning frame smaller than this are copied into a small buffer of our own. */
export const SMALL_PIECE_BYTES = 4096
/** Size of the buffers small pieces are copied into. */
export const SMALL_BUFFER_BYTES = 16 * 1024

// An uninitialised buffer where the platform has one (Node's `Buffer.allocUnsafeSlow`: no
// zero-fill of memory we overwrite at once, and not carved from a shared pool), else a plain one.
const allocate: (size: number) => Uint8Array =
  typeof Buffer === "function" && typeof Buffer.allocUnsafeSlow === "function"
    ? (size) => {
        // Handed out as a plain Uint8Array, like every frame (a Buffer's methods differ).
        const b = Buffer.allocUnsafeSlow(size)
        return new Uint8Array(b.buffer, b.byteOffset, size)
      }
    : (size) => new Uint8Array(size)

// A plain `Uint8Array` view of a chunk: `subarray` on a Node `Buffer` builds another `Buffer`
// through its species constructor, which costs more than the view itself on the hot path.
const view = (chunk: Uint8Array, offset: number, length: number): Uint8Array =>
  new Uint8Array(chunk.buffer, chunk.byteOffset + offset, length)

/** A streaming decoder for one connection's byte stream. */
export class FrameDecoder {
  /** The limit this decoder enforces, in bytes. */
  readonly maxFrameBytes: number
  // Header bytes collected so far when a header spans chunks.
  private readonly headerBytes = new Uint8Array(HEADER_BYTES)
  private headerFill = 0
  // Announced length of the frame being collected, or -1 while reading a header.
  private length = -1
  // The frame being collected across chunks: pieces in order (views of large reads, or filled
  // small buffers), then `small`, the small buffer being filled (`smallFill` bytes of it).
  private pieces: Array<Uint8Array> = []
  private small: Uint8Array = EMPTY
  private smallFill = 0
  // Memory the pieces pin (a view: its read's whole allocation), `small` not included.
  private piecesRetained = 0
  private collected = 0
  private failure: FrameTooLarge | undefined = undefined
  // The chunk given to `feed` and how far `next` has decoded it.
  private input: Uint8Array = EMPTY
  private inputOffset = 0
  private readonly allocateFrame: (length: number) => Uint8Array

  constructor(options: Options = {}) {
    this.allocateFrame = options.allocate ?? allocate
    const max = validateMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
    // A constructor cannot return a failure: a bad limit is a programming error here.
    if (Result.isFailure(max)) throw max.failure
    this.maxFrameBytes = max.success
  }

  /** Bytes of the incomplete frame received so far, header included (0 between frames). */
  get bufferedBytes(): number {
    return this.length >= 0 ? HEADER_BYTES + this.collected : this.headerFill
  }

  /**
   * Memory this decoder holds for the incomplete frame, in bytes: the header, the whole
   * allocation of every read it keeps a view of, and its small buffers (≥ {@link bufferedBytes};
   * ≤ bytes of the reads the frame came in + 16 KiB). Does not include the undecoded rest of a fed chunk
   * ({@link pendingBytes}), which is the caller's chunk.
   */
  get retainedBytes(): number {
    return this.length >= 0 ? HEADER_BYTES + this.piecesRetained + this.small.length : this.headerFill
  }

  /** Bytes of the chunk given to {@link feed} that {@link next} has not decoded yet. */
  get pendingBytes(): number {
    return this.input.length - this.inputOffset
  }

  /** True while a frame has started (at least one header byte) but not completed. */
  get inFrame(): boolean {
    return this.headerFill > 0 || this.length >= 0
  }

  /** The oversize header that failed this decoder, if any. */
  get error(): FrameTooLarge | undefined {
    return this.failure
  }

  /** Decodes `chunk`, returning the frames it completed and, possibly, the error that ended the stream. */
  push(chunk: Uint8Array): PushResult {
    const frames: Array<Uint8Array> = []
    this.feed(chunk)
    for (let frame = this.next(); frame !== undefined; frame = this.next()) frames.push(frame)
    return { frames, error: this.failure }
  }

  /**
   * Hands `chunk` to the decoder, to be decoded by {@link next}. The previous chunk must have
   * been decoded to its end first ({@link pendingBytes} 0): throws otherwise (a caller bug).
   */
  feed(chunk: Uint8Array): void {
    if (this.inputOffset < this.input.length)
      throw new Error("FrameDecoder.feed: the previous chunk is not decoded yet")
    this.input = chunk
    this.inputOffset = 0
  }

  /**
   * The next frame completed by the fed chunk, or `undefined` when the chunk is used up (its
   * tail, if any, is collected as the incomplete frame) or the decoder failed ({@link error}).
   */
  next(): Uint8Array | undefined {
    if (this.failure !== undefined) {
      this.input = EMPTY
      this.inputOffset = 0
      return undefined
    }
    const chunk = this.input
    const end = chunk.length
    let offset = this.inputOffset
    while (offset < end) {
      if (this.length < 0) {
        let length: number
        if (this.headerFill === 0 && end - offset >= HEADER_BYTES) {
          length = readLength(chunk, offset)
          offset += HEADER_BYTES
        } else {
          const take = Math.min(HEADER_BYTES - this.headerFill, end - offset)
          this.headerBytes.set(chunk.subarray(offset, offset + take), this.headerFill)
          this.headerFill += take
          offset += take
          if (this.headerFill < HEADER_BYTES) break
          this.headerFill = 0
          length = readLength(this.headerBytes, 0)
        }
        if (length > this.maxFrameBytes) {
          this.failure = new FrameTooLarge({ length, max: this.maxFrameBytes })
          this.input = EMPTY
          this.inputOffset = 0
          return undefined
        }
        if (end - offset >= length) {
          // The whole payload is in this chunk: hand out a view.
          this.inputOffset = offset + length
          return length === 0 ? EMPTY : view(chunk, offset, length)
        }
        this.length = length
      }
      const take = Math.min(this.length - this.collected, end - offset)
      this.collect(chunk, offset, take)
      offset += take
      if (this.collected === this.length) {
        this.inputOffset = offset
        return this.assemble()
      }
    }
    this.input = EMPTY
    this.inputOffset = 0
    return undefined
  }

  /**
   * Declares the end of the stream. Returns `TruncatedFrame` if it ended inside a frame (the
   * partial frame is discarded), else `undefined`. The undecoded rest of a fed chunk is dropped
   * too. The decoder can be reused afterwards.
   */
  end(): TruncatedFrame | undefined {
    let truncated: TruncatedFrame | undefined
    if (this.headerFill > 0) {
      truncated = new TruncatedFrame({ expected: HEADER_BYTES, received: this.headerFill })
    } else if (this.length >= 0) {
      truncated = new TruncatedFrame({ expected: HEADER_BYTES + this.length, received: HEADER_BYTES + this.collected })
    }
    this.headerFill = 0
    this.input = EMPTY
    this.inputOffset = 0
    this.reset()
    return truncated
  }

  // Adds `take` bytes of `chunk` to the frame being collected: a view of a large piece, a copy
  // of a small one.
  private collect(chunk: Uint8Array, offset: number, take: number): void {
    this.collected += take
    if (take >= SMALL_PIECE_BYTES) {
      this.flushSmall()
      this.pieces.push(view(chunk, offset, take))
      this.piecesRetained += chunk.buffer.byteLength
      return
    }
    let from = offset
    let left = take
    while (left > 0) {
      if (this.smallFill === this.small.length) {
        this.flushSmall()
        this.small = allocate(Math.min(SMALL_BUFFER_BYTES, this.length - this.collected + left))
      }
      const n = Math.min(left, this.small.length - this.smallFill)
      this.small.set(chunk.subarray(from, from + n), this.smallFill)
      this.smallFill += n
      from += n
      left -= n
    }
  }

  private flushSmall(): void {
    if (this.smallFill > 0) {
      this.pieces.push(this.small.subarray(0, this.smallFill))
      this.piecesRetained += this.small.length
    }
    this.small = EMPTY
    this.smallFill = 0
  }

  private assemble(): Uint8Array {
    this.flushSmall()
    const pieces = this.pieces
    // One piece that is a whole buffer of ours (a small frame): hand it out as it is.
    let frame: Uint8Array
    if (pieces.length === 1 && pieces[0]!.byteLength === pieces[0]!.buffer.byteLength) {
      frame = pieces[0]!
    } else {
      frame = this.allocateFrame(this.length)
      let at = 0
      for (const piece of pieces) {
        frame.set(piece, at)
        at += piece.length
      }
    }
    this.reset()
    return frame
  }

  private reset(): void {
    this.length = -1
    this.pieces = []
    this.small = EMPTY
    this.smallFill = 0
    this.piecesRetained = 0
    this.collected = 0
  }
}

/** A new decoder. */
export const make = (options?: Options): FrameDecoder => new FrameDecoder(options)

/** Decodes a complete stream at once: its frames, and the error that ended it, if any. */
export const decodeAll = (
  stream: Uint8Array,
  options?: Options
): { readonly frames: Array<Uint8Array>; readonly error: FrameTooLarge | TruncatedFrame | undefined } => {
  const decoder = new FrameDecoder(options)
  const { frames, error } = decoder.push(stream)
  return { frames, error: error ?? decoder.end() }
}
