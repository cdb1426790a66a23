/**
 * The deterministic test workload of the peer contract (packages/conformance/PEERS.md):
 * realistic `Transaction` protobufs (the deployed system's field numbers) from a SplitMix64
 * stream, byte-identical in every implementation for the same seed and sizes.
 *
 * @module
 */
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire"
import { varintLength } from "./internal/varint.js"

/** Encoded size of every field except Data (see PEERS.md). */
export const BASE_TRANSACTION_BYTES = 197

/** Size of the upstream shape's transactions: a realistic transaction encodes to about 650 bytes. */
export const DEFAULT_TRANSACTION_BYTES = 650

/** Transactions per batch in the upstream shape. */
export const DEFAULT_TRANSACTIONS_PER_BATCH = 50

/**
 * SplitMix64 in 32-bit halves. A BigInt per draw, or even a `[hi, lo]` array per draw, would
 * dominate generation time (allocation and GC); results go through the `hi`/`lo` fields.
 */
export class SplitMix64 {
  private stateHi: number
  private stateLo: number
  /** High 32 bits of the last draw. */
  hi = 0
  /** Low 32 bits of the last draw. */
  lo = 0

  constructor(seed: bigint) {
    const s = BigInt.asUintN(64, seed)
    this.stateHi = Number(s >> 32n)
    this.stateLo = Number(s & 0xffff_ffffn)
  }

  /** Draws the next value into {@link hi} and {@link lo}. */
  draw(): void {
    // state += 0x9E3779B97F4A7C15
    const sum = this.stateLo + 0x7f4a7c15
    this.stateLo = sum >>> 0
    this.stateHi = (this.stateHi + 0x9e3779b9 + (sum > 0xffff_ffff ? 1 : 0)) >>> 0
    // z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    this.mul(
      (this.stateHi ^ (this.stateHi >>> 30)) >>> 0,
      (this.stateLo ^ ((this.stateLo >>> 30) | (this.stateHi << 2))) >>> 0,
      0xbf58476d,
      0x1ce4e5b9
    )
    // z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    const hi = this.hi
    const lo = this.lo
    this.mul((hi ^ (hi >>> 27)) >>> 0, (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0, 0x94d049bb, 0x133111eb)
    // z ^ (z >> 31)
    const zh = this.hi
    const zl = this.lo
    this.hi = (zh ^ (zh >>> 31)) >>> 0
    this.lo = (zl ^ ((zl >>> 31) | (zh << 1))) >>> 0
  }

  // The low 64 bits of (ahi:alo) * (bhi:blo), into hi/lo.
  private mul(ahi: number, alo: number, bhi: number, blo: number): void {
    const a0 = alo & 0xffff
    const a1 = alo >>> 16
    const b0 = blo & 0xffff
    const b1 = blo >>> 16
    const p00 = a0 * b0
    const p01 = a0 * b1
    const p10 = a1 * b0
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
    this.lo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0
    const carry = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)
    this.hi = (carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) >>> 0
  }

  /** The next value as a BigInt. */
  next(): bigint {
    this.draw()
    return (BigInt(this.hi) << 32n) | BigInt(this.lo)
  }

  /** `next() mod m` for a modulus below 2^32 (exact: computed from both halves). */
  nextMod(m: number): number {
    this.draw()
    // (hi * 2^32 + lo) mod m, without leaving exact double arithmetic.
    return ((((this.hi % m) * (0x1_0000_0000 % m)) % m) + (this.lo % m)) % m
  }

  /** `n` bytes: ceil(n/8) draws, each 8 big-endian bytes, truncated to n. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    this.fill(out, 0, n)
    return out
  }

  /** Writes {@link bytes}`(n)` into `target` at `offset`, without allocating. */
  fill(target: Uint8Array, offset: number, n: number): void {
    let at = offset
    const whole = offset + (n & ~7)
    while (at < whole) {
      this.draw()
      const hi = this.hi
      const lo = this.lo
      target[at] = hi >>> 24
      target[at + 1] = hi >>> 16
      target[at + 2] = hi >>> 8
      target[at + 3] = hi
      target[at + 4] = lo >>> 24
      target[at + 5] = lo >>> 16
      target[at + 6] = lo >>> 8
      target[at + 7] = lo
      at += 8
    }
    const rest = offset + n - at
    if (rest > 0) {
      this.draw()
      for (let b = 0; b < rest; b++) target[at + b] = b < 4 ? this.hi >>> (24 - 8 * b) : this.lo >>> (56 - 8 * b)
    }
  }
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

  /**
   * The next transaction's encoding.
   *
   * Every field but Data has a fixed size, so the output is sized once and filled in place:
   * the PRNG writes straight into it. (Through `BinaryWriter` with a fresh array per random
   * field, generation dominated the TypeScript peers' benchmark time.) The bytes are pinned
   * by `vectors/workload.json` and by `encodeSlow` in test/Workload.test.ts.
   */
  next(): Uint8Array {
    const rng = this.rng
    const data = this.data
    const out = new Uint8Array(BASE_TRANSACTION_BYTES + (data > 0 ? 1 + varintLength(data) + data : 0))
    let at = 0
    const varint = (value: number): void => {
      while (value >= 0x80) {
        out[at++] = (value & 0x7f) | 0x80
        value = Math.floor(value / 128)
      }
      out[at++] = value
    }
    // field 1 ToAddress, bytes(20)
    out[at++] = 0x0a
    out[at++] = 20
    rng.fill(out, at, 20)
    at += 20
    // field 3 Amount: 24 zero bytes, then bytes(8)
    out[at++] = 0x1a
    out[at++] = 32
    rng.fill(out, at + 24, 8)
    at += 32
    // fields 4, 5, 6: MaxGas, MaxGasPrice, MaxTimeUse
    out[at++] = 0x20
    varint(21000 + rng.nextMod(1_000_000))
    out[at++] = 0x28
    varint(1_000_000_000 + rng.nextMod(1_000_000_000))
    out[at++] = 0x30
    varint(1000 + rng.nextMod(15_000))
    // field 7 Data, bytes(d), only when d >= 1
    if (data > 0) {
      out[at++] = 0x3a
      varint(data)
      rng.fill(out, at, data)
      at += data
    }
    // field 11 Sign, bytes(65)
    out[at++] = 0x5a
    out[at++] = 65
    rng.fill(out, at, 65)
    at += 65
    // field 12 Nonce: 24 zero bytes, then the index as 8 big-endian bytes
    out[at++] = 0x62
    out[at++] = 32
    new DataView(out.buffer).setBigUint64(at + 24, BigInt(this.index))
    at += 32
    // field 13 FromAddress, bytes(20)
    out[at++] = 0x6a
    out[at++] = 20
    rng.fill(out, at, 20)
    at += 20
    // field 15 ChainID = 1, field 16 Type = 2 (tag 16 needs two bytes)
    out[at++] = 0x78
    out[at++] = 1
    out[at++] = 0x80
    out[at++] = 0x01
    out[at++] = 2
    this.index++
    return out
  }

  /** {@link next} through `@bufbuild/protobuf`'s `BinaryWriter`: the readable definition the fast path is tested against. */
  nextSlow(): Uint8Array {
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
