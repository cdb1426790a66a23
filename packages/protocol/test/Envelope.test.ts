import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Envelope, FrameEncoder, MalformedEnvelope } from "../src/index.js"

describe("Envelope", () => {
  it("returns transactions as views into the payload", () => {
    const payload = Envelope.encode([Uint8Array.of(1, 2), Uint8Array.of(3)])
    const txs = Result.getOrThrow(Envelope.decode(payload))
    expect(txs).toEqual([Uint8Array.of(1, 2), Uint8Array.of(3)])
    expect(txs[0]!.buffer).toBe(payload.buffer)
  })

  it("reports malformations as MalformedEnvelope with the offset and a reason", () => {
    const result = Envelope.decode(Uint8Array.of(0x0a, 0x01, 0xaa, 0x08, 0x01))
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) {
      expect(result.failure).toBeInstanceOf(MalformedEnvelope)
      expect(result.failure.offset).toBe(3)
      expect(result.failure.message).toBe("field 1 has wire type 0, want 2 at offset 3")
    }
  })

  it("bounds group nesting instead of recursing without limit", () => {
    const deep = new Uint8Array(200).fill(0x1b) // 200 nested start-groups of field 3
    const result = Envelope.decode(deep)
    expect(Result.isFailure(result) && result.failure.reason).toBe("groups nested too deeply")
  })

  it("the fast encoder is byte-identical to BinaryWriter's", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20_000 }), { maxLength: 20 }), (txs) => {
        expect(Envelope.encode(txs)).toEqual(Envelope.encodeSlow(txs))
      }),
      { numRuns: 200 }
    )
    const big = new Uint8Array(3 * 1024 * 1024)
    expect(Envelope.encode([big])).toEqual(Envelope.encodeSlow([big]))
  })

  it("encodeFrame is the frame header followed by encode's payload, into the buffer allocate gives", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2_000 }), { maxLength: 20 }), (txs) => {
        const payload = Envelope.encode(txs)
        expect(Envelope.encodedLength(txs)).toBe(payload.length)
        // A dirty buffer: every byte must be written, none left from before.
        const frame = Envelope.encodeFrame(txs, (size) => new Uint8Array(size).fill(0xee))
        expect(frame).toEqual(FrameEncoder.concat([payload]))
      }),
      { numRuns: 200 }
    )
    expect(Envelope.encodeFrame([])).toEqual(Uint8Array.of(0, 0, 0, 0))
  })

  it("decode(encode(x)) = x", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 60 }), (txs) => {
        expect(Result.getOrThrow(Envelope.decode(Envelope.encode(txs)))).toEqual(txs)
      }),
      { numRuns: 500 }
    )
  })

  it("random bytes decode or fail with MalformedEnvelope, never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (payload) => {
        const result = Envelope.decode(payload)
        if (Result.isFailure(result)) {
          expect(result.failure).toBeInstanceOf(MalformedEnvelope)
          expect(result.failure.offset).toBeGreaterThanOrEqual(0)
          expect(result.failure.offset).toBeLessThan(payload.length)
        } else {
          for (const tx of result.success) expect(tx.buffer).toBe(payload.buffer)
        }
      }),
      { numRuns: 3000 }
    )
  })
})
