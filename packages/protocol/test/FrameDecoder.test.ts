import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Frame, FrameDecoder, FrameEncoder, FrameTooLarge, InvalidOptions, TruncatedFrame } from "../src/index.js"

const bytes = (...values: Array<number>) => Uint8Array.from(values)

describe("FrameDecoder", () => {
  it("returns a frame inside one chunk as a view of that chunk (zero copy)", () => {
    const chunk = FrameEncoder.concat([bytes(1, 2, 3), bytes(4)])
    const { frames } = new FrameDecoder.FrameDecoder().push(chunk)
    expect(frames).toEqual([bytes(1, 2, 3), bytes(4)])
    expect(frames[0]!.buffer).toBe(chunk.buffer)
    expect(frames[0]!.byteOffset).toBe(chunk.byteOffset + 4)
  })

  it("assembles a frame spanning chunks into one fresh buffer, holding only what arrived", () => {
    const payload = Uint8Array.from({ length: 65_536 }, (_, i) => i % 251)
    const stream = FrameEncoder.concat([payload])
    const decoder = new FrameDecoder.FrameDecoder()
    const frames: Array<Uint8Array> = []
    for (let at = 0; at < stream.length; at += 1000) {
      frames.push(...decoder.push(stream.subarray(at, at + 1000)).frames)
      if (frames.length === 0) expect(decoder.bufferedBytes).toBe(Math.min(at + 1000, stream.length))
    }
    expect(frames).toHaveLength(1)
    expect(frames[0]).toEqual(payload)
    expect(frames[0]!.buffer).not.toBe(stream.buffer)
    expect(decoder.bufferedBytes).toBe(0)
    expect(decoder.inFrame).toBe(false)
  })

  it("assembles a spanning frame into the buffer its allocate option gives, and only a spanning one", () => {
    const asked: Array<number> = []
    const given = new Uint8Array(100_000)
    const decoder = new FrameDecoder.FrameDecoder({
      allocate: (length) => {
        asked.push(length)
        return given.subarray(0, length)
      }
    })
    const payload = Uint8Array.from({ length: 70_000 }, (_, i) => i % 253)
    const stream = FrameEncoder.concat([payload, bytes(7)])
    const frames: Array<Uint8Array> = []
    for (let at = 0; at < stream.length; at += 16_384)
      frames.push(...decoder.push(stream.subarray(at, at + 16_384)).frames)
    expect(frames).toEqual([payload, bytes(7)])
    expect(asked).toEqual([70_000])
    expect(frames[0]!.buffer).toBe(given.buffer)
    expect(frames[1]!.buffer).toBe(stream.buffer)
  })

  it("never allocates for the announced length: 4 header bytes of a 10 MiB frame hold 4 bytes", () => {
    const decoder = new FrameDecoder.FrameDecoder()
    expect(decoder.push(Frame.header(Frame.DEFAULT_MAX_FRAME_BYTES)).frames).toEqual([])
    expect(decoder.bufferedBytes).toBe(4)
    expect(decoder.inFrame).toBe(true)
  })

  it("reports inFrame from the first header byte", () => {
    const decoder = new FrameDecoder.FrameDecoder()
    expect(decoder.inFrame).toBe(false)
    decoder.push(bytes(0))
    expect(decoder.inFrame).toBe(true)
    expect(decoder.bufferedBytes).toBe(1)
  })

  it("checks the length before the payload arrives and stays failed afterwards", () => {
    const decoder = new FrameDecoder.FrameDecoder({ maxFrameBytes: 3 })
    const first = decoder.push(bytes(0, 0, 0, 1, 9, 0, 0, 0, 4))
    expect(first.frames).toEqual([bytes(9)])
    expect(first.error).toEqual(new FrameTooLarge({ length: 4, max: 3 }))
    expect(decoder.error).toBe(first.error)
    expect(decoder.push(bytes(0, 0, 0, 1, 7))).toEqual({ frames: [], error: first.error })
  })

  it("end() reports a truncated header or payload and resets", () => {
    const decoder = new FrameDecoder.FrameDecoder()
    decoder.push(bytes(0, 0))
    expect(decoder.end()).toEqual(new TruncatedFrame({ expected: 4, received: 2 }))
    decoder.push(bytes(0, 0, 0, 3, 1))
    expect(decoder.end()).toEqual(new TruncatedFrame({ expected: 7, received: 5 }))
    expect(decoder.end()).toBeUndefined()
    expect(decoder.push(bytes(0, 0, 0, 1, 5)).frames).toEqual([bytes(5)])
  })

  it("rejects a maxFrameBytes that is not a byte count a header can express", () => {
    expect(() => new FrameDecoder.FrameDecoder({ maxFrameBytes: -1 })).toThrow(InvalidOptions)
    expect(() => new FrameDecoder.FrameDecoder({ maxFrameBytes: 1.5 })).toThrow(InvalidOptions)
    expect(() => new FrameDecoder.FrameDecoder({ maxFrameBytes: 2 ** 32 })).toThrow(InvalidOptions)
    expect(new FrameDecoder.FrameDecoder({ maxFrameBytes: 2 ** 32 - 1 }).maxFrameBytes).toBe(2 ** 32 - 1)
  })

  it("errors carry their numbers and lowercase messages", () => {
    const e = new FrameTooLarge({ length: 11, max: 10 })
    expect(e._tag).toBe("FrameTooLarge")
    expect(e).toBeInstanceOf(Error)
    expect(e.message).toBe("frame of 11 bytes exceeds the limit of 10 bytes")
    expect(new TruncatedFrame({ expected: 9, received: 6 }).message).toBe(
      "stream ended inside a frame: received 6 of 9 bytes"
    )
  })
})

// Cuts `stream` at the given sorted offsets.
const cut = (stream: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(offsets.map((o) => o % (stream.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const p of points) {
    chunks.push(stream.subarray(from, p))
    from = p
  }
  chunks.push(stream.subarray(from))
  return chunks
}

describe("FrameDecoder properties", () => {
  it("decodes exactly the encoded payloads, however the stream is chunked", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (payloads, offsets) => {
          const decoder = new FrameDecoder.FrameDecoder({ maxFrameBytes: 300 })
          const out: Array<Uint8Array> = []
          for (const chunk of cut(FrameEncoder.concat(payloads), offsets)) {
            const r = decoder.push(chunk)
            expect(r.error).toBeUndefined()
            out.push(...r.frames)
          }
          expect(decoder.end()).toBeUndefined()
          expect(out).toEqual(payloads)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("random bytes in random chunks only ever produce the typed errors", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 0, max: 1 << 20 }),
        (stream, offsets, maxFrameBytes) => {
          const decoder = new FrameDecoder.FrameDecoder({ maxFrameBytes })
          let received = 0
          for (const chunk of cut(stream, offsets)) {
            const r = decoder.push(chunk)
            for (const f of r.frames) received += 4 + f.length
            if (r.error) {
              expect(r.error).toBeInstanceOf(FrameTooLarge)
              expect(r.error.length).toBeGreaterThan(maxFrameBytes)
              return
            }
          }
          const end = decoder.end()
          if (end) {
            expect(end).toBeInstanceOf(TruncatedFrame)
            expect(received + end.received).toBe(stream.length)
          } else expect(received).toBe(stream.length)
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("copies small reads into 16 KiB buffers of its own: fed 1 byte per read, retainedBytes ≤ received + 16 KiB", () => {
    const payload = Uint8Array.from({ length: 100_000 }, (_, i) => i % 253)
    const stream = Buffer.from(FrameEncoder.concat([payload]))
    const decoder = new FrameDecoder.FrameDecoder()
    const frames: Array<Uint8Array> = []
    for (let at = 0; at < stream.length; at++) {
      // Every read is its own allocation, as Node's socket reads are.
      frames.push(...decoder.push(Uint8Array.from(stream.subarray(at, at + 1))).frames)
      if (frames.length === 0) {
        expect(decoder.retainedBytes).toBeGreaterThanOrEqual(decoder.bufferedBytes)
        expect(decoder.retainedBytes).toBeLessThanOrEqual(decoder.bufferedBytes + FrameDecoder.SMALL_BUFFER_BYTES)
        expect(decoder.retainedBytes).toBeLessThanOrEqual(4 + payload.length)
      }
    }
    expect(frames).toEqual([payload])
    expect(frames[0]!.byteLength).toBe(frames[0]!.buffer.byteLength) // exactly the frame, no slack
    expect(decoder.retainedBytes).toBe(0)
  })

  it("keeps large pieces as views until the frame completes, charging each its whole read", () => {
    const payload = Uint8Array.from({ length: 3 * 8192 }, (_, i) => i % 249)
    const stream = FrameEncoder.concat([payload])
    const decoder = new FrameDecoder.FrameDecoder()
    const reads = [stream.slice(0, 4 + 8192), stream.slice(4 + 8192, 4 + 16_384), stream.slice(4 + 16_384)]
    expect(decoder.push(reads[0]!).frames).toEqual([])
    expect(decoder.retainedBytes).toBe(4 + reads[0]!.buffer.byteLength)
    expect(decoder.push(reads[1]!).frames).toEqual([])
    expect(decoder.retainedBytes).toBe(4 + reads[0]!.buffer.byteLength + reads[1]!.buffer.byteLength)
    expect(decoder.push(reads[2]!).frames).toEqual([payload])
    expect(decoder.retainedBytes).toBe(0)
  })

  it("feed + next hand out one frame at a time and leave the rest of the chunk undecoded", () => {
    const chunk = FrameEncoder.concat([bytes(1), bytes(), bytes(2, 3), bytes(4, 5, 6)])
    const decoder = new FrameDecoder.FrameDecoder()
    decoder.feed(chunk.subarray(0, chunk.length - 1))
    expect(decoder.next()).toEqual(bytes(1))
    expect(decoder.pendingBytes).toBe(chunk.length - 1 - 5)
    expect(() => decoder.feed(bytes(0))).toThrow()
    expect(decoder.next()).toEqual(bytes())
    expect(decoder.next()).toEqual(bytes(2, 3))
    expect(decoder.next()).toBeUndefined() // the last frame lacks a byte
    expect(decoder.pendingBytes).toBe(0)
    expect(decoder.bufferedBytes).toBe(6)
    decoder.feed(chunk.subarray(chunk.length - 1))
    expect(decoder.next()).toEqual(bytes(4, 5, 6))
    expect(decoder.next()).toBeUndefined()
    expect(decoder.inFrame).toBe(false)
  })

  it("end() drops the undecoded rest of a fed chunk", () => {
    const decoder = new FrameDecoder.FrameDecoder()
    decoder.feed(FrameEncoder.concat([bytes(1), bytes(2)]))
    expect(decoder.next()).toEqual(bytes(1))
    expect(decoder.end()).toBeUndefined()
    expect(decoder.pendingBytes).toBe(0)
    expect(decoder.next()).toBeUndefined()
  })
})
