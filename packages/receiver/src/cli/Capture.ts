/**
 * `--out FILE`: appends every submitted batch to a capture file as a length-prefixed frame
 * (SPEC §2, the same framing as the wire), so `txlane-sender --input FILE` can replay it.
 *
 * Each frame is written with one synchronous `writev` (header + payload, no copy) before the
 * batch is acknowledged, so a frame answered `success` is in the kernel's page cache even if
 * the receiver crashes right after; frames from concurrent handlers never interleave because
 * each write is a single call on the one JavaScript thread. Not `fsync`ed: a machine crash can
 * lose the tail.
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
    const append = (payload: Uint8Array) =>
      Effect.try({
        try: () => {
          const header = Frame.header(payload.length)
          let written = Fs.writevSync(fd, [header, payload])
          // A short write (disk full is the usual reason) would corrupt the stream: finish it or fail.
          const total = header.length + payload.length
          while (written < total) {
            const rest = Buffer.concat([header, payload]).subarray(written)
            written += Fs.writeSync(fd, rest)
          }
          frames++
          bytes += total
        },
        catch: (error) => new CaptureError({ path, reason: reasonOf(error) })
      })
    return { path, append, frames: () => frames, bytes: () => bytes }
  })
