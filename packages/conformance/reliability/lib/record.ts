/**
 * Reads a receiver's record file (PEERS.md `--record`: length-prefixed frames, one per
 * accepted frame) and compares it with what a sender says was acknowledged.
 *
 * @module
 */
import * as Fs from "node:fs"
import { Envelope, FrameDecoder } from "@txlane/protocol"
import { Result } from "effect"

/** Key of a batch: its first transaction, in hex (workload transactions are unique). */
export const batchKey = (txs: ReadonlyArray<Uint8Array>): string =>
  Buffer.from(txs[0] ?? new Uint8Array()).toString("hex")

/** Per batch key, how many times the receiver accepted that batch; plus totals. */
export interface Recorded {
  readonly counts: Map<string, number>
  readonly frames: number
  /** A trailing partial frame (a SIGKILL can cut nothing: each frame is one `write`; any is a bug). */
  readonly truncated: boolean
}

/** Parses a record file. Every frame must hold a valid envelope. */
export const readRecord = (path: string): Recorded => {
  const bytes = Fs.existsSync(path) ? Fs.readFileSync(path) : Buffer.alloc(0)
  const { frames, error } = FrameDecoder.decodeAll(bytes)
  const counts = new Map<string, number>()
  for (const f of frames) {
    const txs = Envelope.decode(f)
    if (Result.isFailure(txs)) throw new Error(`record holds a malformed envelope: ${txs.failure.message}`)
    const key = batchKey(txs.success)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return { counts, frames: frames.length, truncated: error !== undefined }
}

/** Lost = acknowledged batches the receiver never recorded; duplicates = recorded more than once. */
export const compare = (acknowledged: Iterable<string>, recorded: Recorded) => {
  let lost = 0
  let ackedCount = 0
  for (const key of acknowledged) {
    ackedCount++
    if (!recorded.counts.has(key)) lost++
  }
  let duplicates = 0
  for (const n of recorded.counts.values()) duplicates += n - 1
  return {
    acknowledged: ackedCount,
    recordedFrames: recorded.frames,
    uniqueRecorded: recorded.counts.size,
    lost,
    duplicates
  }
}
