/**
 * Where `txlane-sender` takes its batches from: a capture file or stdin (length-prefixed frames,
 * as `txlane-receiver --out` writes them), or the synthetic workload (`Synthetic.ts`).
 *
 * Every source is an async iterable of *runs* of encoded payloads: all the frames one read
 * completed (views into that read, no copies), or the whole pre-generated workload. The send
 * loop submits a run synchronously, so the per-batch cost is the sender's own, and one await is
 * paid per read, not per batch. A file of any size is streamed through the protocol's
 * `FrameDecoder`, never loaded whole. Transactions are not decoded here: the command counts
 * (and digests) them only for the batches the peer accepted.
 *
 * @module
 */
import * as Fs from "node:fs"
import { Envelope, FrameDecoder } from "@txlane/protocol"
import { Data, Result } from "effect"

/** The input file is unreadable, or ends inside a frame / holds an oversize frame. */
export class InputError extends Data.TaggedError("InputError")<{ readonly source: string; readonly reason: string }> {
  override get message(): string {
    return `input ${this.source}: ${this.reason}`
  }
}

/** Bytes per file read: a 4 MiB read completes about 128 upstream-shape frames at once. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024

/** A source of runs of payloads. */
export interface Source extends AsyncIterator<ReadonlyArray<Uint8Array>, void> {
  /**
   * Declares that the sender is done with `payload` (it settled, or was refused): the memory it
   * views may be reused. Call it at most once per payload handed out; not calling it is safe.
   */
  readonly release: (payload: Uint8Array) => void
}

/** Reads frames from `path` (`-` = stdin); `onBytes` reports progress. */
export const frames = (path: string, maxFrameBytes: number, onBytes: (n: number) => void): Source =>
  path === "-"
    ? withoutRelease(streamFrames(process.stdin, "stdin", maxFrameBytes, onBytes))
    : new FileFrames(path, maxFrameBytes, onBytes)

const withoutRelease = (iterator: AsyncGenerator<ReadonlyArray<Uint8Array>, void>): Source =>
  Object.assign(iterator, { release: (_: Uint8Array) => {} })

/** A source over an iterator of runs, with nothing to release. */
export const sourceOf = (iterator: AsyncGenerator<ReadonlyArray<Uint8Array>, void>): Source => withoutRelease(iterator)

const inputError = (source: string, error: unknown): InputError =>
  error instanceof InputError
    ? error
    : new InputError({ source, reason: error instanceof Error ? error.message : String(error) })

async function* streamFrames(
  stream: AsyncIterable<unknown>,
  source: string,
  maxFrameBytes: number,
  onBytes: (n: number) => void
): AsyncGenerator<ReadonlyArray<Uint8Array>, void> {
  const decoder = FrameDecoder.make({ maxFrameBytes })
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer
      onBytes(bytes.length)
      const { frames, error } = decoder.push(bytes)
      if (frames.length > 0) yield frames
      if (error !== undefined) throw new InputError({ source, reason: error.message })
    }
  } catch (error) {
    throw inputError(source, error)
  }
  const truncated = decoder.end()
  if (truncated !== undefined) throw new InputError({ source, reason: truncated.message })
}

/** One read buffer and how many holders it has (frames not yet released, the decoder, the reader). */
interface Chunk {
  readonly bytes: Uint8Array
  holders: number
}

/**
 * Frames of a file, read into a pool of 4 MiB buffers that are reused once every frame viewing
 * them was released (and the decoder holds no piece of them), with the next read already under
 * way while a run is sent. Reading a large capture into fresh buffers made the garbage collector
 * run a full collection every 64 MiB or so (V8 counts buffers as external memory).
 */
class FileFrames implements Source {
  private readonly decoder: FrameDecoder.FrameDecoder
  private readonly chunks = new Map<ArrayBufferLike, Chunk>()
  private readonly free: Array<Chunk> = []
  // Chunks the decoder may hold a piece of (the frame it is collecting began in them).
  private held: Array<Chunk> = []
  private handle: Promise<Fs.promises.FileHandle> | undefined
  private ahead: Promise<{ chunk: Chunk; length: number }> | undefined
  private done = false

  constructor(
    private readonly path: string,
    maxFrameBytes: number,
    private readonly onBytes: (n: number) => void
  ) {
    this.decoder = FrameDecoder.make({ maxFrameBytes })
  }

  readonly release = (payload: Uint8Array): void => {
    const chunk = this.chunks.get(payload.buffer)
    if (chunk !== undefined) this.drop(chunk)
  }

  private drop(chunk: Chunk): void {
    if (--chunk.holders === 0) this.free.push(chunk)
  }

  private read(): Promise<{ chunk: Chunk; length: number }> {
    let chunk = this.free.pop()
    if (chunk === undefined) {
      const bytes = new Uint8Array(READ_CHUNK_BYTES)
      chunk = { bytes, holders: 0 }
      this.chunks.set(bytes.buffer, chunk)
    }
    chunk.holders = 1 // the reader, until the chunk is decoded
    const target = chunk
    this.handle ??= Fs.promises.open(this.path, "r")
    return this.handle.then((handle) =>
      handle
        .read(target.bytes, 0, READ_CHUNK_BYTES, null)
        .then(({ bytesRead }) => ({ chunk: target, length: bytesRead }))
    )
  }

  async next(): Promise<IteratorResult<ReadonlyArray<Uint8Array>, void>> {
    try {
      for (;;) {
        if (this.done) return { done: true, value: undefined }
        const { chunk, length } = await (this.ahead ?? this.read())
        this.ahead = undefined
        if (length === 0) {
          this.drop(chunk)
          await this.finish()
          const truncated = this.decoder.end()
          if (truncated !== undefined) throw new InputError({ source: this.path, reason: truncated.message })
          return { done: true, value: undefined }
        }
        this.onBytes(length)
        const { frames, error } = this.decoder.push(chunk.bytes.subarray(0, length))
        if (error !== undefined) throw new InputError({ source: this.path, reason: error.message })
        for (const frame of frames) {
          const owner = this.chunks.get(frame.buffer)
          if (owner !== undefined) owner.holders++
        }
        // A completed frame means the one being collected before is done: its pieces are let go.
        if (frames.length > 0) {
          for (const c of this.held) this.drop(c)
          this.held = []
        }
        if (this.decoder.inFrame) {
          chunk.holders++
          this.held.push(chunk)
        }
        this.drop(chunk)
        this.ahead = this.read()
        // Swallowed here, reported by the next call's await.
        this.ahead.catch(() => undefined)
        if (frames.length > 0) return { done: false, value: frames }
      }
    } catch (error) {
      await this.finish()
      throw inputError(this.path, error)
    }
  }

  async return(): Promise<IteratorResult<ReadonlyArray<Uint8Array>, void>> {
    await this.finish()
    return { done: true, value: undefined }
  }

  private async finish(): Promise<void> {
    if (this.done) return
    this.done = true
    const ahead = this.ahead
    this.ahead = undefined
    await ahead?.catch(() => undefined)
    const handle = this.handle
    this.handle = undefined
    if (handle !== undefined) await handle.then((h) => h.close()).catch(() => undefined)
  }
}

/**
 * Transactions in a `Transactions` payload (0 when it is not one), without decoding it: the
 * canonical shape (only field 1, minimal lengths) is walked in place; anything else goes through
 * `Envelope.decode`, which gives the same answer.
 */
export const countTransactions = (payload: Uint8Array): number => {
  const end = payload.length
  let at = 0
  let n = 0
  while (at < end) {
    if (payload[at] !== 0x0a) return decodedCount(payload)
    at++
    let size = 0
    let scale = 1
    for (;;) {
      if (at >= end || scale > 2 ** 28) return decodedCount(payload)
      const b = payload[at++]!
      size += (b & 0x7f) * scale
      if (b < 0x80) break
      scale *= 128
    }
    at += size
    n++
  }
  return at === end ? n : decodedCount(payload)
}

const decodedCount = (payload: Uint8Array): number => {
  const decoded = Envelope.decode(payload)
  return Result.isSuccess(decoded) ? decoded.success.length : 0
}

/** A payload's transactions (views into it), or `undefined` when it is not a `Transactions` envelope. */
export const transactionsOf = (payload: Uint8Array): ReadonlyArray<Uint8Array> | undefined =>
  Result.getOrUndefined(Envelope.decode(payload))

/** A run already in memory, as a source. */
export const runOf = (payloads: ReadonlyArray<Uint8Array>): Source =>
  sourceOf(
    (async function* () {
      yield payloads
    })()
  )
