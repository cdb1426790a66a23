/**
 * Framing constants and the 4-byte header (SPEC.md §2–§3).
 *
 * ```
 *  +--------+--------+--------+--------+=================================+
 *  |   length (u32, big-endian, bytes)  |  payload (length bytes)          |
 *  +--------+--------+--------+--------+=================================+
 *    byte 0   byte 1   byte 2   byte 3    byte 4 …
 * ```
 *
 * @module
 */
import { Result } from "effect"
import { FrameTooLarge, InvalidOptions } from "./errors.js"

/** Size of the length header, in bytes. */
export const HEADER_BYTES = 4

/** Default `maxFrameBytes`: 10 MiB, the deployed Rust server's limit. */
export const DEFAULT_MAX_FRAME_BYTES = 10 * 1024 * 1024

/** The largest length a 4-byte header can announce. */
export const MAX_LENGTH = 0xffff_ffff

/** Reads the big-endian length at `offset` (the caller guarantees 4 bytes are there). */
export const readLength = (bytes: Uint8Array, offset: number): number =>
  // `>>> 0` keeps the top bit from making the number negative.
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0

/** Writes `length` as a big-endian u32 at `offset`. */
export const writeLength = (target: Uint8Array, offset: number, length: number): void => {
  target[offset] = length >>> 24
  target[offset + 1] = length >>> 16
  target[offset + 2] = length >>> 8
  target[offset + 3] = length
}

/** A fresh 4-byte header announcing `length`. */
export const header = (length: number): Uint8Array => {
  const bytes = new Uint8Array(HEADER_BYTES)
  writeLength(bytes, 0, length)
  return bytes
}

/** `FrameTooLarge` when `length` exceeds `max`, else `undefined`. */
export const checkLength = (length: number, max: number): FrameTooLarge | undefined =>
  length > max ? new FrameTooLarge({ length, max }) : undefined

/**
 * Validates a `maxFrameBytes` option: a whole number of bytes from 0 to 2^32 − 1.
 * A limit is always finite here: the header cannot announce more than 2^32 − 1 bytes anyway.
 * Fails with `InvalidOptions { option: "maxFrameBytes" }`.
 */
export const validateMaxFrameBytes = (max: number): Result.Result<number, InvalidOptions> =>
  Number.isInteger(max) && max >= 0 && max <= MAX_LENGTH
    ? Result.succeed(max)
    : Result.fail(
        new InvalidOptions({
          option: "maxFrameBytes",
          reason: `must be an integer from 0 to ${MAX_LENGTH}, got ${max}`
        })
      )
