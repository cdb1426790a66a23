/**
 * Frame encoding: a header plus the caller's payload, never copied (SPEC.md §2).
 *
 * The pair form is what socket writers want: hand both pieces to a corked or vectored write
 * (`writev`) and the payload is sent straight from the caller's buffer.
 *
 * @module
 */
import { Result } from "effect"
import type { FrameTooLarge } from "./errors.js"
import { checkLength, DEFAULT_MAX_FRAME_BYTES, HEADER_BYTES, header, writeLength } from "./Frame.js"

/** A frame as two buffers: the 4-byte header and the payload itself (not a copy). */
export type EncodedFrame = readonly [header: Uint8Array, payload: Uint8Array]

/**
 * Encodes `payload` as `[header, payload]` without copying it.
 * Fails with `FrameTooLarge` when the payload exceeds `maxFrameBytes` (default 10 MiB).
 */
export const encode = (
  payload: Uint8Array,
  maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES
): Result.Result<EncodedFrame, FrameTooLarge> => {
  const tooLarge = checkLength(payload.length, maxFrameBytes)
  return tooLarge ? Result.fail(tooLarge) : Result.succeed([header(payload.length), payload])
}

/**
 * Encodes frames into one contiguous buffer (one copy of each payload). Meant for tests,
 * captures and small messages; use {@link encode} on hot paths. Does not enforce a limit
 * beyond what a header can express.
 */
export const concat = (payloads: ReadonlyArray<Uint8Array>): Uint8Array => {
  let size = 0
  for (const p of payloads) size += HEADER_BYTES + p.length
  const out = new Uint8Array(size)
  let offset = 0
  for (const p of payloads) {
    writeLength(out, offset, p.length)
    out.set(p, offset + HEADER_BYTES)
    offset += HEADER_BYTES + p.length
  }
  return out
}
