/**
 * Where `txlane-sender` takes its batches from: a capture file or stdin (length-prefixed frames,
 * as `txlane-receiver --out` writes them), or the synthetic workload of `@txlane/protocol`.
 *
 * Both are async iterables of encoded payloads, read lazily: a file of any size is streamed
 * through the protocol's `FrameDecoder`, never loaded whole.
 *
 * @module
 */
import * as Fs from "node:fs"
import { Envelope, FrameDecoder, Workload } from "@txlane/protocol"
import { Data, Result } from "effect"

/** One batch to send. */
export interface Batch {
  /** The frame payload (normally a `Transactions` envelope). */
  readonly payload: Uint8Array
  /** Its transactions (decoded views), or `undefined` when the payload is not an envelope. */
  readonly transactions: ReadonlyArray<Uint8Array> | undefined
}

/** The input file is unreadable, or ends inside a frame / holds an oversize frame. */
export class InputError extends Data.TaggedError("InputError")<{ readonly source: string; readonly reason: string }> {
  override get message(): string {
    return `input ${this.source}: ${this.reason}`
  }
}

/** Bytes per file read: 1 MiB reads cost a sixteenth of the default 64 KiB ones in round trips to the thread pool. */
const READ_CHUNK_BYTES = 1024 * 1024

/** Reads frames from `path` (`-` = stdin); `onBytes` reports progress. */
export async function* frames(
  path: string,
  maxFrameBytes: number,
  onBytes: (n: number) => void
): AsyncGenerator<Batch> {
  const source = path === "-" ? "stdin" : path
  const stream = path === "-" ? process.stdin : Fs.createReadStream(path, { highWaterMark: READ_CHUNK_BYTES })
  const decoder = FrameDecoder.make({ maxFrameBytes })
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer
      onBytes(bytes.length)
      const { frames, error } = decoder.push(bytes)
      for (const payload of frames) yield { payload, transactions: Result.getOrUndefined(Envelope.decode(payload)) }
      if (error !== undefined) throw new InputError({ source, reason: error.message })
    }
  } catch (error) {
    if (error instanceof InputError) throw error
    throw new InputError({ source, reason: error instanceof Error ? error.message : String(error) })
  }
  const truncated = decoder.end()
  if (truncated !== undefined) throw new InputError({ source, reason: truncated.message })
}

/** Options of {@link synthetic}. */
export interface SyntheticOptions {
  /** Batches to make; `Infinity` runs until stopped. */
  readonly batches: number
  readonly txPerBatch: number
  readonly txSize: number
  readonly seed: number
  /** Batches per second; `Infinity` = as fast as the sender takes them. */
  readonly rate: number
}

/**
 * Largest synthetic workload generated before sending starts, in payload bytes (about 16,000
 * upstream-shape batches). Generating the PEERS.md workload runs at about 4,000 batches/s on one
 * core, below what one sender sends, so a finite, unpaced workload is made first and the send is
 * measured alone; a larger or unbounded one is generated while sending, and the generator is
 * then the limit.
 */
export const PREGENERATE_LIMIT_BYTES = 512 * 1024 * 1024

/** Payload bytes of one synthetic batch (every batch of a workload has the same size). */
export const syntheticBatchBytes = (options: SyntheticOptions): number => {
  const data = Workload.dataLength(options.txSize)
  const tx = Workload.BASE_TRANSACTION_BYTES + (data > 0 ? 1 + varintLength(data) + data : 0)
  return options.txPerBatch * (1 + varintLength(tx) + tx)
}

const varintLength = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : 4)

/** The whole workload, made now (see {@link PREGENERATE_LIMIT_BYTES}). */
export const pregenerate = (options: SyntheticOptions): Array<Batch> => {
  const generator = new Workload.TransactionGenerator({ seed: options.seed, txSize: options.txSize })
  const out: Array<Batch> = []
  for (let i = 0; i < options.batches; i++) {
    const transactions = generator.take(options.txPerBatch)
    out.push({ payload: Envelope.encode(transactions), transactions })
  }
  return out
}

/** The deterministic workload (PEERS.md) as batches, paced to `rate`. */
export async function* synthetic(options: SyntheticOptions): AsyncGenerator<Batch> {
  const generator = new Workload.TransactionGenerator({ seed: options.seed, txSize: options.txSize })
  const started = performance.now()
  for (let i = 0; i < options.batches; i++) {
    if (Number.isFinite(options.rate)) {
      const due = started + (i * 1000) / options.rate
      const wait = due - performance.now()
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait))
    }
    const transactions = generator.take(options.txPerBatch)
    yield { payload: Envelope.encode(transactions), transactions }
  }
}
