/**
 * The `Transactions` envelope (SPEC.md §4):
 *
 * ```proto
 * package transaction;
 * message Transactions { repeated Transaction transactions = 1; }
 * ```
 *
 * Transactions travel as opaque, already-encoded byte strings; this module never parses them.
 * Wire primitives come from `@bufbuild/protobuf/wire`.
 *
 * @module
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire"
import { Result } from "effect"
import { MalformedEnvelope } from "./errors.js"
import { HEADER_BYTES, writeLength } from "./Frame.js"
import { varintLength } from "./internal/varint.js"

/** Field number of `Transactions.transactions`. */
export const TRANSACTIONS_FIELD = 1

// Deep enough for any real encoder; bounds recursion on hostile nested groups.
const MAX_GROUP_DEPTH = 64

// Tag of field 1 with wire type 2: (1 << 3) | 2.
const TRANSACTIONS_TAG = 0x0a

/** Payload bytes of the `Transactions` envelope of `transactions` (what {@link encode} returns). */
export const encodedLength = (transactions: ReadonlyArray<Uint8Array>): number => {
  let size = 0
  for (const tx of transactions) size += 1 + varintLength(tx.length) + tx.length
  return size
}

/**
 * Writes the envelope of `transactions` into `out` from `offset` (which must have
 * {@link encodedLength} bytes of room); returns the offset after it.
 */
export const encodeInto = (transactions: ReadonlyArray<Uint8Array>, out: Uint8Array, offset: number): number => {
  let pos = offset
  for (const tx of transactions) {
    out[pos++] = TRANSACTIONS_TAG
    let n = tx.length
    while (n >= 0x80) {
      out[pos++] = (n & 0x7f) | 0x80
      n >>>= 7
    }
    out[pos++] = n
    out.set(tx, pos)
    pos += tx.length
  }
  return pos
}

/**
 * Encodes transactions as a `Transactions` payload: field 1, once per transaction, in order.
 *
 * This is the sender's per-batch hot path, so it sizes the output first and copies each
 * transaction exactly once. `BinaryWriter` (which `encodeSlow` uses) grows its buffer and
 * copies it again in `finish()`: measured 3.5–6× slower for 50 × 650 B (bench/codec.bench.ts).
 * The two are checked byte-for-byte against each other in test/Envelope.test.ts.
 */
export const encode = (transactions: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(encodedLength(transactions))
  encodeInto(transactions, out, 0)
  return out
}

/**
 * Encodes a whole frame: the 4-byte length header (SPEC.md §2) followed by the `Transactions`
 * payload, in one buffer from `allocate` (default: a zeroed `Uint8Array`; a sender passes
 * `Buffer.allocUnsafe`, since every byte is written). One allocation and one socket write per
 * batch instead of two of each; the payload is `frame.subarray(Frame.HEADER_BYTES)`.
 */
export const encodeFrame = (
  transactions: ReadonlyArray<Uint8Array>,
  allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size)
): Uint8Array => {
  const size = encodedLength(transactions)
  const frame = allocate(HEADER_BYTES + size)
  writeLength(frame, 0, size)
  encodeInto(transactions, frame, HEADER_BYTES)
  return frame
}

/** {@link encode} through `@bufbuild/protobuf`'s `BinaryWriter`: the reference the fast path is tested against. */
export const encodeSlow = (transactions: ReadonlyArray<Uint8Array>): Uint8Array => {
  const writer = new BinaryWriter()
  for (const tx of transactions) writer.tag(TRANSACTIONS_FIELD, WireType.LengthDelimited).bytes(tx)
  return writer.finish()
}

/**
 * Decodes a `Transactions` payload into its transactions, as views into `payload` (no copies).
 * Unknown fields of every valid wire type are skipped; anything else is `MalformedEnvelope`
 * with the offset of the offending field's tag.
 */
export const decode = (payload: Uint8Array): Result.Result<Array<Uint8Array>, MalformedEnvelope> => {
  const reader = new BinaryReader(payload)
  const transactions: Array<Uint8Array> = []
  while (reader.pos < reader.len) {
    const offset = reader.pos
    try {
      // A transaction's tag (field 1, length-delimited) is the one byte 0x0A: taken in place,
      // since `reader.tag()` returns a fresh [field, type] array (50 per frame, a fifth of a
      // receiver's garbage). Any other tag goes through `tag()` and its checks.
      if (payload[offset] === TRANSACTIONS_TAG) {
        reader.pos++
        transactions.push(readBytes(reader, payload))
        continue
      }
      const [fieldNo, wireType] = reader.tag()
      if (fieldNo === TRANSACTIONS_FIELD) {
        if (wireType !== WireType.LengthDelimited) {
          return Result.fail(new MalformedEnvelope({ offset, reason: `field 1 has wire type ${wireType}, want 2` }))
        }
        transactions.push(readBytes(reader, payload))
      } else {
        skipField(reader, payload, fieldNo, wireType, MAX_GROUP_DEPTH)
      }
    } catch (cause) {
      return Result.fail(new MalformedEnvelope({ offset, reason: reasonOf(cause) }))
    }
  }
  return Result.succeed(transactions)
}

// The reader signals every malformation by throwing; we turn that into data at one place.
class Malformation extends Error {}

const reasonOf = (cause: unknown): string =>
  cause instanceof Malformation
    ? cause.message
    : cause instanceof RangeError
      ? "unexpected end of payload"
      : cause instanceof Error
        ? cause.message
        : String(cause)

// A length varint that does not fit 32 bits would be silently truncated by `uint32()`; any such
// length runs past a payload that is itself below 4 GiB, so it is an overrun.
const readLength = (reader: BinaryReader, buf: Uint8Array): number => {
  const start = reader.pos
  const length = reader.uint32()
  const width = reader.pos - start
  if (width >= 5) {
    let high = buf[start + 4]! & 0x70
    for (let i = start + 5; i < reader.pos; i++) high |= buf[i]! & 0x7f
    if (high !== 0) throw new Malformation("length overruns the payload")
  }
  if (length > reader.len - reader.pos) throw new Malformation("length overruns the payload")
  return length
}

// A plain `Uint8Array` view. `subarray` on a Node `Buffer` (what sockets deliver) builds another
// `Buffer` through its species constructor, measurably slower at 50 views per frame.
const view = (buf: Uint8Array, start: number, length: number): Uint8Array =>
  new Uint8Array(buf.buffer, buf.byteOffset + start, length)

const readBytes = (reader: BinaryReader, buf: Uint8Array): Uint8Array => {
  const length = readLength(reader, buf)
  const start = reader.pos
  reader.pos += length
  return view(buf, start, length)
}

const skipField = (reader: BinaryReader, buf: Uint8Array, fieldNo: number, wireType: WireType, depth: number): void => {
  switch (wireType) {
    case WireType.Varint:
      // `uint32()` reads (and bounds) a full 10-byte varint; the value is not needed.
      reader.uint32()
      return
    case WireType.Bit64:
    case WireType.Bit32:
      reader.skip(wireType)
      return
    case WireType.LengthDelimited:
      readBytes(reader, buf)
      return
    case WireType.StartGroup:
      if (depth === 0) throw new Malformation("groups nested too deeply")
      for (;;) {
        if (reader.pos >= reader.len) throw new Malformation(`group ${fieldNo} not closed`)
        const [innerNo, innerType] = reader.tag()
        if (innerType === WireType.EndGroup) {
          if (innerNo !== fieldNo) throw new Malformation(`end group ${innerNo} does not close group ${fieldNo}`)
          return
        }
        skipField(reader, buf, innerNo, innerType, depth - 1)
      }
    case WireType.EndGroup:
      throw new Malformation(`end group ${fieldNo} without a start group`)
  }
}
