/**
 * The deterministic test workload of the peer contract (packages/conformance/PEERS.md):
 * realistic `Transaction` protobufs (the deployed system's field numbers) from a SplitMix64
 * stream, byte-identical in every implementation for the same seed and sizes.
 *
 * @module
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire"

/** Encoded size of every field except Data (see PEERS.md). */
export const BASE_TRANSACTION_BYTES = 197

/** Size of the upstream shape's transactions: a realistic transaction encodes to about 650 bytes. */
export const DEFAULT_TRANSACTION_BYTES = 650

/** Transactions per batch in the upstream shape. */
export const DEFAULT_TRANSACTIONS_PER_BATCH = 50

const ZERO_24 = new Uint8Array(24)

/**
 * SplitMix64 in 32-bit halves (a BigInt per draw would dominate generation time).
 */
export class SplitMix64 {
  private hi: number
  private lo: number

  constructor(seed: bigint) {
    const s = BigInt.asUintN(64, seed)
    this.hi = Number(s >> 32n)
    this.lo = Number(s & 0xffff_ffffn)
  }

  /** The next value as `[hi, lo]` 32-bit halves. */
  nextHalves(): [number, number] {
    // state += 0x9E3779B97F4A7C15
    const lo0 = this.lo + 0x7f4a7c15
    this.lo = lo0 >>> 0
    this.hi = (this.hi + 0x9e3779b9 + (lo0 > 0xffff_ffff ? 1 : 0)) >>> 0
    let hi = this.hi
    let lo = this.lo
    // z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    ;[hi, lo] = mul64(hi ^ (hi >>> 30), (lo ^ ((lo >>> 30) | (hi << 2))) >>> 0, 0xbf58476d, 0x1ce4e5b9)
    // z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    ;[hi, lo] = mul64(hi ^ (hi >>> 27), (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0, 0x94d049bb, 0x133111eb)
    // z ^ (z >> 31)
    return [(hi ^ (hi >>> 31)) >>> 0, (lo ^ ((lo >>> 31) | (hi << 1))) >>> 0]
  }

  /** The next value as a BigInt. */
  next(): bigint {
    const [hi, lo] = this.nextHalves()
    return (BigInt(hi) << 32n) | BigInt(lo)
  }

  /** `next() mod m` for a modulus below 2^32 (exact: computed from both halves). */
  nextMod(m: number): number {
    const [hi, lo] = this.nextHalves()
    // (hi * 2^32 + lo) mod m, without leaving exact double arithmetic.
    return ((((hi % m) * (0x1_0000_0000 % m)) % m) + (lo % m)) % m
  }

  /** `n` bytes: ceil(n/8) draws, each 8 big-endian bytes, truncated to n. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(Math.ceil(n / 8) * 8)
    const view = new DataView(out.buffer)
    for (let i = 0; i < out.length; i += 8) {
      const [hi, lo] = this.nextHalves()
      view.setUint32(i, hi)
      view.setUint32(i + 4, lo)
    }
    return out.subarray(0, n)
  }
}

// The low 64 bits of (ahi:alo) * (bhi:blo).
const mul64 = (ahi: number, alo: number, bhi: number, blo: number): [number, number] => {
  const a0 = alo & 0xffff
  const a1 = alo >>> 16
  const b0 = blo & 0xffff
  const b1 = blo >>> 16
  const p00 = a0 * b0
  const p01 = a0 * b1
  const p10 = a1 * b0
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  const lo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0
  const carry = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)
  const hi = (carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) >>> 0
  return [hi, lo]
}

const varintLength = (n: number): number => {
  let len = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    len++
  }
  return len
}

/** Length of the Data field's content for a target size, or 0 when there is no Data field. */
export const dataLength = (txSize: number): number => {
  const room = txSize - BASE_TRANSACTION_BYTES
  if (room < 3) return 0
  let d = room - 2
  while (d >= 1 && 1 + varintLength(d) + d > room) d--
  return d
}

/** Options of a workload. */
export interface Options {
  /** PRNG seed (unsigned 64-bit). Default 1. */
  readonly seed?: bigint | number | undefined
  /** Target encoded size of each transaction, in bytes. Default 650. */
  readonly txSize?: number | undefined
}

/** Generates the workload's transactions in order. */
export class TransactionGenerator {
  private readonly rng: SplitMix64
  private readonly data: number
  /** Index of the next transaction. */
  index = 0

  constructor(options: Options = {}) {
    this.rng = new SplitMix64(BigInt(options.seed ?? 1))
    this.data = dataLength(options.txSize ?? DEFAULT_TRANSACTION_BYTES)
  }

  /** The next transaction's encoding. */
  next(): Uint8Array {
    const rng = this.rng
    const w = new BinaryWriter()
    w.tag(1, WireType.LengthDelimited).bytes(rng.bytes(20))
    const amount = new Uint8Array(32)
    amount.set(rng.bytes(8), 24)
    w.tag(3, WireType.LengthDelimited).bytes(amount)
    w.tag(4, WireType.Varint).uint32(21000 + rng.nextMod(1_000_000))
    w.tag(5, WireType.Varint).uint32(1_000_000_000 + rng.nextMod(1_000_000_000))
    w.tag(6, WireType.Varint).uint32(1000 + rng.nextMod(15_000))
    if (this.data > 0) w.tag(7, WireType.LengthDelimited).bytes(rng.bytes(this.data))
    w.tag(11, WireType.LengthDelimited).bytes(rng.bytes(65))
    const nonce = new Uint8Array(32)
    nonce.set(ZERO_24, 0)
    new DataView(nonce.buffer).setBigUint64(24, BigInt(this.index))
    w.tag(12, WireType.LengthDelimited).bytes(nonce)
    w.tag(13, WireType.LengthDelimited).bytes(rng.bytes(20))
    w.tag(15, WireType.Varint).uint32(1)
    w.tag(16, WireType.Varint).uint32(2)
    this.index++
    return w.finish()
  }

  /** The next `count` transactions. */
  take(count: number): Array<Uint8Array> {
    const out = new Array<Uint8Array>(count)
    for (let i = 0; i < count; i++) out[i] = this.next()
    return out
  }
}

/** Options of {@link batches}. */
export interface BatchOptions extends Options {
  /** Number of batches. */
  readonly batches: number
  /** Transactions per batch. Default 50. */
  readonly txPerBatch?: number | undefined
}

/** The workload as batches of transactions (batch `b` holds transactions `b*K … b*K+K-1`). */
export function* batches(options: BatchOptions): Generator<Array<Uint8Array>> {
  const generator = new TransactionGenerator(options)
  const perBatch = options.txPerBatch ?? DEFAULT_TRANSACTIONS_PER_BATCH
  for (let b = 0; b < options.batches; b++) yield generator.take(perBatch)
}
