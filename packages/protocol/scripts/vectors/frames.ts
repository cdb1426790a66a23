/**
 * `frames.json`: framing (SPEC §2–§3). Each vector is one stream, decoded to its end: the frames
 * it holds and the error, if any, that ends it (too large, or truncated by end of stream).
 *
 * @module
 */
import { frame, MAX, pattern, u32, type VectorFile } from "./bytes.js"

const tooLarge = (length: number, max: number) => ({ kind: "FrameTooLarge", length, max })
const truncated = (expected: number, received: number) => ({ kind: "TruncatedFrame", expected, received })

export const frames: VectorFile = {
  file: "frames.json",
  kind: "frames",
  description: "Framing (SPEC §2–§3): decode `input` as one stream, then end of stream.",
  vectors: [
    { name: "empty-stream", description: "No bytes at all: no frames, no error.", input: "", frames: [], error: null },
    {
      name: "zero-length-frame",
      description: "A zero-length frame is legal framing.",
      input: "00000000",
      frames: [""],
      error: null
    },
    { name: "single-byte", description: "One frame of one byte.", input: frame("ff"), frames: ["ff"], error: null },
    {
      name: "two-frames-one-buffer",
      description: "Two frames back to back in one buffer.",
      input: frame("aabb") + frame("cc"),
      frames: ["aabb", "cc"],
      error: null
    },
    {
      name: "empty-between-frames",
      description: "A zero-length frame between two others.",
      input: frame("01") + frame("") + frame("0203"),
      frames: ["01", "", "0203"],
      error: null
    },
    {
      name: "big-endian-length",
      description: "The length is big-endian: 00 00 01 02 announces 258 bytes.",
      input: `00000102${pattern(258)}`,
      frames: [pattern(258)],
      error: null
    },
    {
      name: "max-boundary-accepted",
      description: "length == maxFrameBytes is accepted.",
      maxFrameBytes: 16,
      input: frame(pattern(16)),
      frames: [pattern(16)],
      error: null
    },
    {
      name: "max-boundary-plus-one",
      description: "length == maxFrameBytes + 1 is rejected as soon as the header is known.",
      maxFrameBytes: 16,
      input: frame(pattern(17)),
      frames: [],
      error: tooLarge(17, 16)
    },
    {
      name: "default-max-exact-header",
      description:
        "A header announcing exactly 10 MiB is accepted (the payload then never comes: truncated, not too large).",
      input: u32(MAX),
      frames: [],
      error: truncated(4 + MAX, 4)
    },
    {
      name: "default-max-plus-one-header",
      description: "A header announcing 10 MiB + 1 is rejected with the default limit.",
      input: u32(MAX + 1),
      frames: [],
      error: tooLarge(MAX + 1, MAX)
    },
    {
      name: "header-4gib",
      description: "The largest possible header (2^32 - 1 bytes) is rejected before any allocation.",
      input: "ffffffff",
      frames: [],
      error: tooLarge(0xffffffff, MAX)
    },
    {
      name: "frames-before-oversize-are-delivered",
      description: "Frames completed before an oversize header are still produced.",
      input: frame("aa") + u32(MAX + 1) + "00000001bb",
      frames: ["aa"],
      error: tooLarge(MAX + 1, MAX)
    },
    {
      name: "oversize-payload-never-read-as-header",
      description: "After an oversize header nothing is decoded, even bytes that look like a valid frame.",
      maxFrameBytes: 8,
      input: `00000009${frame("bb")}${frame("cc")}`,
      frames: [],
      error: tooLarge(9, 8)
    },
    {
      name: "truncated-header-1",
      description: "End of stream after 1 header byte.",
      input: "00",
      frames: [],
      error: truncated(4, 1)
    },
    {
      name: "truncated-header-3",
      description: "End of stream after 3 header bytes.",
      input: "000000",
      frames: [],
      error: truncated(4, 3)
    },
    {
      name: "truncated-payload",
      description: "End of stream after the header and 2 of 5 payload bytes.",
      input: "00000005aabb",
      frames: [],
      error: truncated(9, 6)
    },
    {
      name: "truncated-payload-empty",
      description: "End of stream right after a header announcing 3 bytes.",
      input: "00000003",
      frames: [],
      error: truncated(7, 4)
    },
    {
      name: "truncated-after-frames",
      description: "Complete frames before a truncated one are produced.",
      input: `${frame("aa")}00000003bb`,
      frames: ["aa"],
      error: truncated(7, 5)
    },
    {
      name: "max-zero",
      description: "With maxFrameBytes 0 only zero-length frames pass.",
      maxFrameBytes: 0,
      input: `${frame("")}${frame("aa")}`,
      frames: [""],
      error: tooLarge(1, 0)
    },
    {
      name: "many-small-frames",
      description: "Twenty frames of growing size in one buffer.",
      input: Array.from({ length: 20 }, (_, i) => frame(pattern(i, i))).join(""),
      frames: Array.from({ length: 20 }, (_, i) => pattern(i, i)),
      error: null
    },
    {
      name: "frame-4096",
      description: "A 4 KiB frame (spans chunks when cut anywhere inside).",
      input: frame(pattern(4096, 7)),
      frames: [pattern(4096, 7)],
      error: null
    }
  ]
}
