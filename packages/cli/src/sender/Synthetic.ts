/**
 * The synthetic workload of `txlane-sender` (PEERS.md, the same transactions in every
 * implementation for a seed): written straight into pooled buffers when the fast writer checks
 * out against `Workload`'s generator at start-up, else through the generator; paced or not;
 * pre-generated before the clock starts when it fits {@link PREGENERATE_LIMIT_BYTES}.
 *
 * @module
 */
import { Envelope } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"
import { type Source, sourceOf } from "./Input.js"

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

/**
 * One transaction of the workload for `txSize`, from the reference generator: every
 * transaction of a workload has its size, so its length and envelope size come from the
 * protocol package rather than from a second copy of the size arithmetic.
 */
const sampleTransaction = (txSize: number): Uint8Array => new Workload.TransactionGenerator({ txSize }).next()

/** Payload bytes of one synthetic batch (every batch of a workload has the same size). */
export const syntheticBatchBytes = (options: Pick<SyntheticOptions, "txPerBatch" | "txSize">): number =>
  Envelope.encodedLength(new Array<Uint8Array>(options.txPerBatch).fill(sampleTransaction(options.txSize)))

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
  // The output buffer `view` is over (see viewOf).
  private viewTarget: Uint8Array | undefined
  private view: DataView = new DataView(new ArrayBuffer(0))
  constructor(
    seed: number,
    txSize: number,
    private index: number
  ) {
    this.rng = new Workload.SplitMix64(stateAt(seed, txSize, index))
    this.data = Workload.dataLength(txSize)
    this.txBytes = sampleTransaction(txSize).length
  }

  /** A `DataView` over `out`, made once per output buffer (a pool), not once per transaction. */
  private viewOf(out: Uint8Array): DataView {
    if (this.viewTarget !== out) {
      this.view = new DataView(out.buffer, out.byteOffset, out.byteLength)
      this.viewTarget = out
    }
    return this.view
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
    const view = this.viewOf(out)
    view.setUint32(at + 24, Math.floor(index / 0x1_0000_0000))
    view.setUint32(at + 28, index >>> 0)
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
