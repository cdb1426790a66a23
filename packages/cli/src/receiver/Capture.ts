/**
 * `--out FILE`: appends every submitted batch to a capture file as a length-prefixed frame
 * (SPEC §2, the same framing as the wire), so `txlane-sender --input FILE` can replay it.
 *
 * Each frame is written with synchronous `writev` calls (header + payload, no copy) before the
 * batch is acknowledged, so a frame answered `success` is in the kernel's page cache even if
 * the receiver crashes right after; frames from concurrent handlers never interleave because
 * the writes of one frame are synchronous, on the one JavaScript thread. Whole frames only: a
 * short write (disk full, a file-size limit) is continued until the frame is complete; if the
 * rest cannot be written, the file is truncated back to where the frame began and the batch
 * fails, so the file never holds a torn frame that would put every later frame out of step.
 * The capture file must not be appended to by anyone else meanwhile. Not `fsync`ed: a machine
 * crash can lose the tail.
 *
 * @module
 */
import * as Fs from "node:fs"
import { Frame } from "@txlane/protocol"
import { Data, Effect, type Scope } from "effect"

/** The capture file could not be opened or written. */
export class CaptureError extends Data.TaggedError("CaptureError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `capture file ${this.path}: ${this.reason}`
  }
}

/** An open capture file. */
export interface Capture {
  readonly path: string
  /** Appends one frame; fails with `CaptureError` (the batch is then answered as failed). */
  readonly append: (payload: Uint8Array) => Effect.Effect<void, CaptureError>
  /** Frames written so far. */
  readonly frames: () => number
  /** Bytes written so far, headers included. */
  readonly bytes: () => number
}

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Opens `path` for appending (created with mode 0644 if missing); closed with the Scope. */
export const open = (path: string): Effect.Effect<Capture, CaptureError, Scope.Scope> =>
  Effect.gen(function* () {
    const fd = yield* Effect.acquireRelease(
      Effect.try({
        try: () => Fs.openSync(path, "a", 0o644),
        catch: (error) => new CaptureError({ path, reason: reasonOf(error) })
      }),
      (fd) => Effect.sync(() => Fs.closeSync(fd))
    )
    let frames = 0
    let bytes = 0
    // Set when a torn frame could not be taken back: every later append fails with it.
    let broken: string | undefined
    const writeFrame = (payload: Uint8Array): number => {
      const header = Frame.header(payload.length)
      const total = header.length + payload.length
      const start = Fs.fstatSync(fd).size
      let written = 0
      try {
        while (written < total) {
          const n =
            written < header.length
              ? Fs.writevSync(fd, [header.subarray(written), payload])
              : Fs.writeSync(fd, payload, written - header.length)
          if (n <= 0) throw new Error(`write made no progress after ${written} of ${total} bytes`)
          written += n
        }
      } catch (error) {
        if (written > 0) {
          try {
            Fs.ftruncateSync(fd, start)
          } catch (truncate) {
            broken = `a torn frame could not be removed (${reasonOf(truncate)}) after: ${reasonOf(error)}`
          }
        }
        throw error
      }
      return total
    }
    const append = (payload: Uint8Array) =>
      Effect.try({
        try: () => {
          if (broken !== undefined) throw new Error(broken)
          bytes += writeFrame(payload)
          frames++
        },
        catch: (error) => new CaptureError({ path, reason: reasonOf(error) })
      })
    return { path, append, frames: () => frames, bytes: () => bytes }
  })
