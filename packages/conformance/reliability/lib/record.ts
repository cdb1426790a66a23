/**
 * Reads receivers' record files (PEERS.md `--record`: length-prefixed frames, one per accepted
 * frame, written before the frame is answered) and compares them with what a sender says was
 * acknowledged. The reading itself, with its torn-tail rule, is the harness's
 * `Expected.readRecord`; this module counts batches and throws on what a run must not see.
 *
 * A SIGKILL can cut a record `write` short: Linux checks for fatal signals between the pages of
 * a write to a regular file. The torn frame was never answered, so it is not an error — but
 * anything appended after it would be read out of step. Hence one record file per receiver
 * incarnation, and a torn tail tolerated only in the file of a receiver that was killed.
 *
 * @module
 */
import * as Expected from "../../src/harness/Expected.js"

/** Key of a batch: its first transaction, in hex (workload transactions are unique). */
export const batchKey = (txs: ReadonlyArray<Uint8Array>): string =>
  Buffer.from(txs[0] ?? new Uint8Array()).toString("hex")

/** Per batch key, how many times the receivers accepted that batch; plus totals. */
export interface Recorded {
  readonly counts: Map<string, number>
  readonly frames: number
  /** Record files that end in a frame cut short by a SIGKILL (only killed receivers' files may). */
  readonly tornTails: number
}

/**
 * Parses a record file; throws if a frame is not a valid envelope, or if the file ends in a
 * partial frame and its receiver was not `killed`.
 */
export const readRecord = (path: string, options: { readonly killed: boolean }): Recorded => {
  const record = Expected.readRecord(path, options)
  if (record.error !== undefined) throw new Error(`record ${path}: ${record.error}`)
  const counts = new Map<string, number>()
  for (const txs of record.batches) {
    const key = batchKey(txs)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return { counts, frames: record.frames, tornTails: record.tornTail ? 1 : 0 }
}

/** A receiver process's life on one record file; `killed` once it was SIGKILLed. */
export interface Incarnation {
  readonly record: string
  killed: boolean
}

/** Record files for successive receivers in `dir`: `record-1.bin`, `record-2.bin`, … */
export const incarnations = (dir: string) => {
  const all: Array<Incarnation> = []
  return {
    /** A fresh record file for the next receiver. */
    next: (): Incarnation => {
      const incarnation = { record: `${dir}/record-${all.length + 1}.bin`, killed: false }
      all.push(incarnation)
      return incarnation
    },
    /** Every incarnation's record, merged. */
    read: (): Recorded => {
      const counts = new Map<string, number>()
      let frames = 0
      let tornTails = 0
      for (const { record, killed } of all) {
        const one = readRecord(record, { killed })
        for (const [key, n] of one.counts) counts.set(key, (counts.get(key) ?? 0) + n)
        frames += one.frames
        tornTails += one.tornTails
      }
      return { counts, frames, tornTails }
    }
  }
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
    tornTails: recorded.tornTails,
    lost,
    duplicates
  }
}
