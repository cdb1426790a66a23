/**
 * Reference decoders for the fuzzer: SPEC.md §2–§4 written out as plainly as possible, with
 * no shared code with `src/` (no `@bufbuild/protobuf`, BigInt varints, whole-stream input).
 * They are slow and simple on purpose: the fuzzer checks that the fast, streaming
 * implementation agrees with them on every input.
 *
 * @module
 */

/** The outcome of decoding a whole stream: the frames before the error, and the error. */
export interface FramesOutcome {
  readonly frames: Array<Uint8Array>
  readonly error:
    | { readonly kind: "FrameTooLarge"; readonly length: number; readonly max: number }
    | { readonly kind: "TruncatedFrame"; readonly expected: number; readonly received: number }
    | undefined
}

/** SPEC §2–§3: frames of a complete stream (end of stream after its last byte). */
export const referenceFrames = (stream: Uint8Array, max: number): FramesOutcome => {
  const frames: Array<Uint8Array> = []
  let pos = 0
  for (;;) {
    const left = stream.length - pos
    if (left === 0) return { frames, error: undefined }
    if (left < 4) return { frames, error: { kind: "TruncatedFrame", expected: 4, received: left } }
    const length = stream[pos]! * 2 ** 24 + stream[pos + 1]! * 2 ** 16 + stream[pos + 2]! * 2 ** 8 + stream[pos + 3]!
    if (length > max) return { frames, error: { kind: "FrameTooLarge", length, max } }
    if (left - 4 < length) {
      return { frames, error: { kind: "TruncatedFrame", expected: 4 + length, received: left } }
    }
    frames.push(stream.slice(pos + 4, pos + 4 + length))
    pos += 4 + length
  }
}

/** The outcome of decoding an envelope: its transactions, or the offset of the failing top-level tag. */
export type EnvelopeOutcome =
  | { readonly ok: true; readonly transactions: Array<Uint8Array> }
  | { readonly ok: false; readonly offset: number }

class Bad extends Error {}

// A varint of at most 10 bytes; anything longer, or running off the end, is malformed.
const varint = (buf: Uint8Array, at: number): { value: bigint; next: number } => {
  let value = 0n
  for (let i = 0; i < 10; i++) {
    if (at + i >= buf.length) throw new Bad("truncated varint")
    const byte = buf[at + i]!
    value |= BigInt(byte & 0x7f) << BigInt(7 * i)
    if ((byte & 0x80) === 0) return { value, next: at + i + 1 }
  }
  throw new Bad("varint longer than 10 bytes")
}

const MAX_DEPTH = 64

// SPEC §4: "a tag whose varint does not fit 32 bits" is malformed; field 0 and wire types 6, 7
// are illegal. Read as the reference implementation (protobuf-es) reads it: a tag varint longer
// than 5 bytes does not fit, even when padded with zeros (the 5-byte maximum of a uint32 varint).
const tag = (buf: Uint8Array, at: number): { field: bigint; wire: number; next: number } => {
  const { value, next } = varint(buf, at)
  if (value > 0xffff_ffffn || next - at > 5) throw new Bad("tag beyond 32 bits")
  const field = value >> 3n
  const wire = Number(value & 7n)
  if (field === 0n || wire > 5) throw new Bad("illegal tag")
  return { field, wire, next }
}

// Skips one field's value starting at `at`; returns the position after it.
const skip = (buf: Uint8Array, at: number, field: bigint, wire: number, depth: number): number => {
  switch (wire) {
    case 0:
      return varint(buf, at).next
    case 1:
    case 5: {
      const next = at + (wire === 1 ? 8 : 4)
      if (next > buf.length) throw new Bad("truncated fixed")
      return next
    }
    case 2: {
      const { value, next } = varint(buf, at)
      if (value > BigInt(buf.length - next)) throw new Bad("length overrun")
      return next + Number(value)
    }
    case 3: {
      if (depth > MAX_DEPTH) throw new Bad("too deep")
      let pos = at
      for (;;) {
        if (pos >= buf.length) throw new Bad("group not closed")
        const inner = tag(buf, pos)
        if (inner.wire === 4) {
          if (inner.field !== field) throw new Bad("mismatched end group")
          return inner.next
        }
        pos = skip(buf, inner.next, inner.field, inner.wire, depth + 1)
      }
    }
    default:
      throw new Bad("end group without start")
  }
}

/** SPEC §4: the transactions (copies) of a `Transactions` payload, or the offset of the failing tag. */
export const referenceEnvelope = (buf: Uint8Array): EnvelopeOutcome => {
  const transactions: Array<Uint8Array> = []
  let pos = 0
  while (pos < buf.length) {
    const start = pos
    try {
      const t = tag(buf, pos)
      if (t.field === 1n) {
        if (t.wire !== 2) throw new Bad("field 1 not length-delimited")
        const { value, next } = varint(buf, t.next)
        if (value > BigInt(buf.length - next)) throw new Bad("length overrun")
        transactions.push(buf.slice(next, next + Number(value)))
        pos = next + Number(value)
      } else {
        pos = skip(buf, t.next, t.field, t.wire, 1)
      }
    } catch (error) {
      if (error instanceof Bad) return { ok: false, offset: start }
      throw error
    }
  }
  return { ok: true, transactions }
}
