/**
 * What the harness expects, computed by itself from the workload parameters with the
 * `Workload` and `Digest` modules of `@txlane/protocol` — never taken from a peer.
 *
 * @module
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { Envelope, FrameDecoder } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { Result } from "effect"

/** The workload flags of PEERS.md. */
export interface WorkloadParams {
  readonly seed: bigint
  readonly batches: number
  readonly txPerBatch: number
  readonly txSize: number
}

/** The expected totals of a workload. */
export interface Expectation {
  readonly transactions: number
  readonly digest: string
  /** Envelope payload bytes of all batches. */
  readonly bytes: number
  /** Envelope payload size of one batch (every batch has the same size). */
  readonly batchPayloadBytes: number
}

const cache = new Map<string, Expectation>()

/** The expected digest and totals of a workload (memoised: cells share workloads). */
export const expectation = (params: WorkloadParams): Expectation => {
  const key = `${params.seed}/${params.batches}/${params.txPerBatch}/${params.txSize}`
  const hit = cache.get(key)
  if (hit) return hit
  const digest = Digest.make()
  let bytes = 0
  let batchPayloadBytes = 0
  for (const batch of Workload.batches({ ...params })) {
    digest.addAll(batch)
    batchPayloadBytes = Envelope.encode(batch).length
    bytes += batchPayloadBytes
  }
  const result: Expectation = { transactions: digest.count, digest: digest.value, bytes, batchPayloadBytes }
  cache.set(key, result)
  return result
}

/** A transaction's identity for multiset comparisons. */
export const key = (tx: Uint8Array): string => createHash("sha256").update(tx).digest("base64")

/** Every transaction of a workload, as keys in order. */
export const keys = (params: WorkloadParams): Array<string> => {
  const out: Array<string> = []
  for (const batch of Workload.batches({ ...params })) for (const tx of batch) out.push(key(tx))
  return out
}

/** The transactions in a `--record` file (length-prefixed frames, each a `Transactions` envelope). */
export interface Recorded {
  readonly frames: number
  readonly transactions: Array<Uint8Array>
  /** The transactions of each frame that decoded, in file order. */
  readonly batches: Array<ReadonlyArray<Uint8Array>>
  /** The file ends in a frame cut short, tolerated because its receiver was `killed`. */
  readonly tornTail: boolean
  /** Why the file did not decode completely, if it did not. */
  readonly error: string | undefined
}

/** Reads a `--record` file; a missing file is an empty record. */
export const readRecord = (path: string, options: { readonly killed?: boolean } = {}): Recorded => {
  let bytes: Uint8Array
  try {
    bytes = fs.readFileSync(path)
  } catch {
    return { frames: 0, transactions: [], batches: [], tornTail: false, error: undefined }
  }
  const { frames, error } = FrameDecoder.decodeAll(bytes)
  const transactions: Array<Uint8Array> = []
  const batches: Array<ReadonlyArray<Uint8Array>> = []
  let envelopeError: string | undefined
  for (const [index, frame] of frames.entries()) {
    const decoded = Envelope.decode(frame)
    if (Result.isFailure(decoded)) {
      envelopeError ??= `record frame ${index} is a malformed envelope: ${decoded.failure.message}`
      continue
    }
    batches.push(decoded.success)
    transactions.push(...decoded.success)
  }
  // SIGKILL can cut the receiver's last record write short. That frame was never answered (the
  // record is written before the response), so a truncated tail of a killed receiver is not an error.
  const tolerated = options.killed === true && error?._tag === "TruncatedFrame"
  return {
    frames: frames.length,
    transactions,
    batches,
    tornTail: tolerated,
    // A bad envelope first: frames read out of step (after a torn frame) show up as one.
    error: envelopeError ?? (error && !tolerated ? `record file: ${error.message}` : undefined)
  }
}

/** Compares a received multiset with the expected set: what is missing, duplicated, or foreign. */
export interface Coverage {
  readonly missing: number
  /** Extra copies of expected transactions (receiving one twice counts 1). */
  readonly duplicates: number
  /** Transactions that are not in the workload at all. */
  readonly unexpected: number
}

/** {@link Coverage} of `received` against `expected` keys. */
export const coverage = (expected: ReadonlyArray<string>, received: Iterable<Uint8Array>): Coverage => {
  const counts = new Map<string, number>()
  for (const k of expected) counts.set(k, 0)
  let unexpected = 0
  for (const tx of received) {
    const k = key(tx)
    const c = counts.get(k)
    if (c === undefined) unexpected++
    else counts.set(k, c + 1)
  }
  let missing = 0
  let duplicates = 0
  for (const c of counts.values()) {
    if (c === 0) missing++
    else duplicates += c - 1
  }
  return { missing, duplicates, unexpected }
}
