/**
 * The streaming frame decoder (SPEC.md §2–§3).
 *
 * Feed it chunks of any size, cut anywhere; it returns the frames each chunk completes.
 *
 * - A frame that lies inside one chunk is returned as a view of that chunk (zero copy), so
 *   callers must not reuse a chunk's memory after pushing it (Node's socket chunks are fresh).
 * - A frame that spans chunks is assembled with exactly one copy, when its last byte arrives:
 *   the pieces are kept as views until then, so memory held is what actually arrived — never
 *   the announced length (a peer cannot make us allocate 10 MiB by sending 4 bytes).
 * - The announced length is checked against `maxFrameBytes` as soon as the header is known,
 *   before anything is buffered for the payload.
 *
 * Errors are returned, not thrown: the frames a chunk completed before an oversize header are
 * still delivered, and the caller decides what to do next.
 *
 * @module
 */
import { FrameTooLarge, TruncatedFrame } from "./errors.js"
import { DEFAULT_MAX_FRAME_BYTES, HEADER_BYTES, readLength, validateMaxFrameBytes } from "./Frame.js"

/** Options of {@link FrameDecoder}. */
export interface Options {
  /** Largest payload accepted, in bytes. Default 10,485,760 (10 MiB). */
  readonly maxFrameBytes?: number | undefined
}

/** What one {@link FrameDecoder.push} produced. */
export interface PushResult {
  /** Frames completed by this chunk, in order. */
  readonly frames: Array<Uint8Array>
  /** Set when an oversize header was found; the decoder is then failed for good. */
  readonly error: FrameTooLarge | undefined
}

const EMPTY = new Uint8Array(0)

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
  private pieces: Array<Uint8Array> = []
  private collected = 0
  private failure: FrameTooLarge | undefined = undefined

  constructor(options: Options = {}) {
    this.maxFrameBytes = validateMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
  }

  /** Bytes of the incomplete frame received so far, header included (0 between frames). */
  get bufferedBytes(): number {
    return this.length >= 0 ? HEADER_BYTES + this.collected : this.headerFill
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
    if (this.failure !== undefined) return { frames, error: this.failure }
    const end = chunk.length
    let offset = 0
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
          return { frames, error: this.failure }
        }
        if (end - offset >= length) {
          // The whole payload is in this chunk: hand out a view.
          frames.push(length === 0 ? EMPTY : view(chunk, offset, length))
          offset += length
          continue
        }
        this.length = length
      }
      const take = Math.min(this.length - this.collected, end - offset)
      this.pieces.push(view(chunk, offset, take))
      this.collected += take
      offset += take
      if (this.collected === this.length) frames.push(this.assemble())
    }
    return { frames, error: undefined }
  }

  /**
   * Declares the end of the stream. Returns `TruncatedFrame` if it ended inside a frame (the
   * partial frame is discarded), else `undefined`. The decoder can be reused afterwards.
   */
  end(): TruncatedFrame | undefined {
    let truncated: TruncatedFrame | undefined
    if (this.headerFill > 0) {
      truncated = new TruncatedFrame({ expected: HEADER_BYTES, received: this.headerFill })
    } else if (this.length >= 0) {
      truncated = new TruncatedFrame({ expected: HEADER_BYTES + this.length, received: HEADER_BYTES + this.collected })
    }
    this.headerFill = 0
    this.reset()
    return truncated
  }

  private assemble(): Uint8Array {
    const frame = new Uint8Array(this.length)
    let at = 0
    for (const piece of this.pieces) {
      frame.set(piece, at)
      at += piece.length
    }
    this.reset()
    return frame
  }

  private reset(): void {
    this.length = -1
    this.pieces = []
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
