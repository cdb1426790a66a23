/**
 * The hex helpers every vector kind is written with, and the shape of one vectors file. Shared so
 * that a header, a frame or a transaction is spelled the same way in every file.
 *
 * @module
 */

/** One `vectors/*.json` file: its name, its `kind`, what it tests, and the vectors. */
export interface VectorFile {
  readonly file: string
  readonly kind: string
  readonly description: string
  readonly vectors: ReadonlyArray<object>
}

/** Bytes as lowercase hex, the encoding of every byte string in the vectors. */
export const hex = (bytes: Uint8Array | Array<number>): string => Buffer.from(bytes).toString("hex")
/** A 4-byte big-endian frame header announcing `n` bytes. */
export const u32 = (n: number): string => n.toString(16).padStart(8, "0")
/** One frame: header, then the payload. */
export const frame = (payloadHex: string): string => u32(payloadHex.length / 2) + payloadHex
/** UTF-8 text as hex. */
export const ascii = (text: string): string => Buffer.from(text, "utf8").toString("hex")
/** `n` bytes counting up from `from` (mod 256): a payload whose every offset is recognisable. */
export const pattern = (n: number, from = 0): string => hex(Array.from({ length: n }, (_, i) => (from + i) % 256))
/** The default `maxFrameBytes` (SPEC §3). */
export const MAX = 10 * 1024 * 1024
/** One `Transactions` field-1 entry holding transaction `h`. */
export const tx = (h: string): string => `0a${(h.length / 2).toString(16).padStart(2, "0")}${h}` // field 1, length < 128
