/**
 * Where `txlane-sender` takes its batches from: a capture file or stdin (length-prefixed frames,
 * as `txlane-receiver --out` writes them), or the synthetic workload of `@txlane/protocol`.
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
import { Workload } from "@txlane/protocol/testing"
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

/** Options of {@link synthetic}. */
export interface SyntheticOptions {
  /** Batches to make; `Infinity` runs until stopped. */
  readonly batches: number
  readonly txPerBatch: number
  readonly txSize: number
  readonly seed: number
  /** Batches per second; `Infinity` = as fast as the sender takes them. */
  readonly rate: number
}

/**
 * Largest synthetic workload generated before sending starts, in payload bytes (about 16,000
 * upstream-shape batches). Even written straight into pooled buffers, the PEERS.md workload is
 * made at about 4,000 upstream-shape batches/s on one core (the SplitMix64 stream is most of it),
 * below what one sender sends, so a finite, unpaced workload is made first and the send is
 * measured alone; a larger or unbounded one is generated while sending, and the generator is
 * then the limit.
 */
export const PREGENERATE_LIMIT_BYTES = 512 * 1024 * 1024

/** Payload bytes of one synthetic batch (every batch of a workload has the same size). */
export const syntheticBatchBytes = (options: Pick<SyntheticOptions, "txPerBatch" | "txSize">): number => {
  const data = Workload.dataLength(options.txSize)
  const tx = Workload.BASE_TRANSACTION_BYTES + (data > 0 ? 1 + varintLength(data) + data : 0)
  return options.txPerBatch * (1 + varintLength(tx) + tx)
}

const varintLength = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : 4)

/** Writes the workload's next transaction, field 1 tag and length included, at `at`; returns the end. */
interface TransactionWriter {
  write(out: Uint8Array, at: number): number
}

// SplitMix64 advances its state by this constant per draw, so the state after k draws is
// seed + k·γ (mod 2^64): a generator can start anywhere in the workload.
const GAMMA = 0x9e37_79b9_7f4a_7c15n

/** PRNG draws per transaction: ceil(n/8) per random field of n bytes, one per bounded number. */
const drawsPerTransaction = (txSize: number): number => {
  const data = Workload.dataLength(txSize)
  const eights = (n: number) => Math.ceil(n / 8)
  return eights(20) + eights(8) + 3 + (data > 0 ? eights(data) : 0) + eights(65) + eights(20)
}

/** The PRNG state at transaction `index` of the workload of `seed`. */
const stateAt = (seed: number, txSize: number, index: number): bigint =>
  BigInt.asUintN(64, BigInt(seed) + BigInt(index) * BigInt(drawsPerTransaction(txSize)) * GAMMA)

/** Through `Workload.TransactionGenerator` (one array per transaction, then copied). */
class GeneratorWriter implements TransactionWriter {
  private readonly generator: Workload.TransactionGenerator
  constructor(seed: number, txSize: number, index: number) {
    this.generator = new Workload.TransactionGenerator({ seed: stateAt(seed, txSize, index), txSize })
    this.generator.index = index
  }
  write(out: Uint8Array, at: number): number {
    const tx = this.generator.next()
    out[at++] = 0x0a
    at = writeVarint(out, at, tx.length)
    out.set(tx, at)
    return at + tx.length
  }
}

const writeVarint = (out: Uint8Array, at: number, value: number): number => {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80
    value = Math.floor(value / 128)
  }
  out[at++] = value
  return at
}

/**
 * `Workload.TransactionGenerator.next`'s encoding (PEERS.md), written straight into the pool:
 * no array, `DataView` or closure per transaction. Used only after {@link directMatches} found
 * it byte-identical to the generator for the workload at hand.
 */
class DirectWriter implements TransactionWriter {
  private readonly rng: Workload.SplitMix64
  private readonly data: number
  private readonly txBytes: number
  constructor(
    seed: number,
    txSize: number,
    private index: number
  ) {
    this.rng = new Workload.SplitMix64(stateAt(seed, txSize, index))
    this.data = Workload.dataLength(txSize)
    this.txBytes = Workload.BASE_TRANSACTION_BYTES + (this.data > 0 ? 1 + varintLength(this.data) + this.data : 0)
  }
  write(out: Uint8Array, at: number): number {
    const rng = this.rng
    const data = this.data
    out[at++] = 0x0a
    at = writeVarint(out, at, this.txBytes)
    out[at++] = 0x0a // ToAddress, bytes(20)
    out[at++] = 20
    rng.fill(out, at, 20)
    at += 20
    out[at++] = 0x1a // Amount: 24 zero bytes, then bytes(8)
    out[at++] = 32
    out.fill(0, at, at + 24)
    rng.fill(out, at + 24, 8)
    at += 32
    out[at++] = 0x20 // MaxGas, MaxGasPrice, MaxTimeUse
    at = writeVarint(out, at, 21000 + rng.nextMod(1_000_000))
    out[at++] = 0x28
    at = writeVarint(out, at, 1_000_000_000 + rng.nextMod(1_000_000_000))
    out[at++] = 0x30
    at = writeVarint(out, at, 1000 + rng.nextMod(15_000))
    if (data > 0) {
      out[at++] = 0x3a // Data, bytes(d)
      at = writeVarint(out, at, data)
      rng.fill(out, at, data)
      at += data
    }
    out[at++] = 0x5a // Sign, bytes(65)
    out[at++] = 65
    rng.fill(out, at, 65)
    at += 65
    out[at++] = 0x62 // Nonce: 24 zero bytes, then the index as 8 big-endian bytes
    out[at++] = 32
    out.fill(0, at, at + 24)
    const index = this.index++
    const hi = Math.floor(index / 0x1_0000_0000)
    const lo = index >>> 0
    out[at + 24] = hi >>> 24
    out[at + 25] = hi >>> 16
    out[at + 26] = hi >>> 8
    out[at + 27] = hi
    out[at + 28] = lo >>> 24
    out[at + 29] = lo >>> 16
    out[at + 30] = lo >>> 8
    out[at + 31] = lo
    at += 32
    out[at++] = 0x6a // FromAddress, bytes(20)
    out[at++] = 20
    rng.fill(out, at, 20)
    at += 20
    out[at++] = 0x78 // ChainID = 1, Type = 2
    out[at++] = 1
    out[at++] = 0x80
    out[at++] = 0x01
    out[at++] = 2
    return at
  }
}

/**
 * True when {@link DirectWriter}, and a writer started mid-workload, make exactly the
 * generator's bytes for this seed and size (checked on a few transactions, at the start and
 * after a jump).
 */
const directMatches = (seed: number, txSize: number): boolean => {
  const size = syntheticBatchBytes({ txPerBatch: 1, txSize })
  const expected = new Uint8Array(size * 6)
  const walked = new GeneratorWriter(seed, txSize, 0)
  let end = 0
  for (let i = 0; i < 6; i++) end = walked.write(expected, end)
  const actual = new Uint8Array(size * 6)
  const direct = new DirectWriter(seed, txSize, 0)
  let at = 0
  for (let i = 0; i < 3; i++) at = direct.write(actual, at)
  const jumped = new DirectWriter(seed, txSize, 3)
  for (let i = 0; i < 3; i++) at = jumped.write(actual, at)
  return at === end && actual.every((byte, i) => byte === expected[i])
}

/** The writer for transaction `index` onwards: the direct one when it checks out. */
const writerAt = (seed: number, txSize: number, index: number): TransactionWriter =>
  directMatches(seed, txSize) ? new DirectWriter(seed, txSize, index) : new GeneratorWriter(seed, txSize, index)

/** Bytes of one pool the pre-generated payloads are written into. */
const POOL_BYTES = 64 * 1024 * 1024

/** The batches `from`..`from + count` of a workload. */
export interface Share {
  readonly seed: number
  readonly txPerBatch: number
  readonly txSize: number
  readonly from: number
  readonly count: number
}

/**
 * Writes a share of the workload into pools of about 64 MiB, one payload after the other (the
 * bytes `Envelope.encode` makes of the generator's batches), and returns them as views. Nothing
 * per transaction is allocated, so the heap stays small while the workload is made.
 */
export const generateShare = (share: Share): Array<Uint8Array> => {
  const writer = writerAt(share.seed, share.txSize, share.from * share.txPerBatch)
  const size = syntheticBatchBytes(share)
  const perPool = Math.max(1, Math.floor(POOL_BYTES / Math.max(1, size)))
  const out: Array<Uint8Array> = new Array(share.count)
  let pool = new Uint8Array(0)
  let at = 0
  for (let i = 0; i < share.count; i++) {
    if (at + size > pool.length) {
      pool = new Uint8Array(Math.min(perPool, share.count - i) * size)
      at = 0
    }
    const start = at
    for (let t = 0; t < share.txPerBatch; t++) at = writer.write(pool, at)
    out[i] = pool.subarray(start, at)
  }
  return out
}

/** The whole workload, made now on this thread (see {@link PREGENERATE_LIMIT_BYTES}). */
export const pregenerate = (options: SyntheticOptions): Array<Uint8Array> =>
  generateShare({ ...options, from: 0, count: options.batches })

/** A run already in memory, as a source. */
export const runOf = (payloads: ReadonlyArray<Uint8Array>): Source =>
  sourceOf(
    (async function* () {
      yield payloads
    })()
  )

/** The deterministic workload (PEERS.md) as batches, paced to `rate`, one run per batch. */
export const synthetic = (options: SyntheticOptions): Source => sourceOf(syntheticRuns(options))

async function* syntheticRuns(options: SyntheticOptions): AsyncGenerator<ReadonlyArray<Uint8Array>, void> {
  const writer = writerAt(options.seed, options.txSize, 0)
  const size = syntheticBatchBytes(options)
  const paced = Number.isFinite(options.rate)
  const started = performance.now()
  for (let i = 0; i < options.batches; ) {
    if (paced) {
      const due = started + (i * 1000) / options.rate
      const wait = due - performance.now()
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    }
    // Paced: one batch per run; unpaced: runs of up to 16, made into one buffer.
    const count = paced ? 1 : Math.min(16, options.batches - i)
    const pool = new Uint8Array(count * size)
    const run: Array<Uint8Array> = []
    let at = 0
    for (let b = 0; b < count; b++) {
      const start = at
      for (let t = 0; t < options.txPerBatch; t++) at = writer.write(pool, at)
      run.push(pool.subarray(start, at))
    }
    i += count
    yield run
  }
}
