import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Frame, FrameEncoder, FrameTooLarge } from "../src/index.js"

describe("FrameEncoder", () => {
  it("encodes a header and hands back the payload itself, not a copy", () => {
    const payload = Uint8Array.of(1, 2, 3)
    const [header, body] = Result.getOrThrow(FrameEncoder.encode(payload))
    expect(header).toEqual(Uint8Array.of(0, 0, 0, 3))
    expect(body).toBe(payload)
  })

  it("writes the length big-endian, up to 2^32 - 1", () => {
    expect(Frame.header(0x01020304)).toEqual(Uint8Array.of(1, 2, 3, 4))
    expect(Frame.header(0xffffffff)).toEqual(Uint8Array.of(255, 255, 255, 255))
    expect(Frame.readLength(Uint8Array.of(9, 255, 255, 255, 255), 1)).toBe(0xffffffff)
  })

  it("refuses a payload above the limit, with the numbers", () => {
    const result = FrameEncoder.encode(new Uint8Array(11), 10)
    expect(Result.isFailure(result) && result.failure).toEqual(new FrameTooLarge({ length: 11, max: 10 }))
    expect(Result.isSuccess(FrameEncoder.encode(new Uint8Array(10), 10))).toBe(true)
  })

  it("applies the 10 MiB default limit", () => {
    expect(Frame.DEFAULT_MAX_FRAME_BYTES).toBe(10_485_760)
    expect(Result.isFailure(FrameEncoder.encode(new Uint8Array(Frame.DEFAULT_MAX_FRAME_BYTES + 1)))).toBe(true)
    expect(Result.isSuccess(FrameEncoder.encode(new Uint8Array(Frame.DEFAULT_MAX_FRAME_BYTES)))).toBe(true)
  })

  it("concatenates frames into one stream", () => {
    expect(FrameEncoder.concat([Uint8Array.of(7), new Uint8Array(0)])).toEqual(Uint8Array.of(0, 0, 0, 1, 7, 0, 0, 0, 0))
  })
})
