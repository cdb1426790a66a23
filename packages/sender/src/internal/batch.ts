/**
 * A queued batch and the sender's plain counters: the two pieces of state every hot-path step
 * touches, kept as plain classes so a batch costs one object plus its 4-byte header.
 *
 * @module
 */
import { Envelope, Frame } from "@txlane/protocol"
import { Deferred, type Duration, type Exit, type Pull, type Tracer } from "effect"
import type { AckTimeout, Rejected, RetriesExhausted, SenderClosed } from "../errors.js"
import { allocateFrame } from "./framePool.js"

/** Why an acknowledged batch's `send` can fail after it was queued. */
export type AckError = Rejected | AckTimeout | RetriesExhausted | SenderClosed

/** An acknowledged batch's end, told to a plain callback (the Promise API's resolve and reject). */
export type Settle = (exit: Exit.Exit<number, AckError>) => void

/**
 * How the caller of an acknowledged `send` learns its batch's end: a `Deferred` that the Effect
 * API awaits, or a callback. The Promise API passes the callback: awaiting the `Deferred` through
 * `Effect.runPromise` cost a fiber per batch, then the largest garbage of an acknowledged send.
 */
export type Done = Deferred.Deferred<number, AckError> | Settle

/** Completes a batch's {@link Done}. */
export const complete = (done: Done, exit: Exit.Exit<number, AckError>): void => {
  if (typeof done === "function") done(exit)
  else Deferred.doneUnsafe(done, exit)
}

/** One frame's worth of work: header, payload, and where it stands. */
export class Batch {
  /** Times written to a socket. */
  attempts = 0
  /** `performance.now()` of the latest write (tracked connections: latency and ack timeout). */
  sentAt = 0
  /**
   * Writes that do not count against the `retries` budget: resends after a transient answer, or
   * after the close that followed one (the peer was not ready; the batch was never judged).
   */
  free = 0
  /** A transient rejection's retry: `performance.now()` before which it is not written again. */
  retryAt = 0
  /** The `transientRetry` schedule's step function, made at the batch's first transient answer. */
  retryStep: TransientStep | undefined = undefined
  /** The latest transient answer's text (what the batch fails with when the schedule ends). */
  lastError = ""
  /** Its `txlane.send` span, when the sender has a tracer (span.ts). */
  span: Tracer.Span | undefined = undefined
  /**
   * The frame header, for a payload encoded without one (`sendPayload`). A pooled `Buffer`
   * slice: cheaper than a fresh typed array, and sockets take Buffers without conversion.
   */
  readonly header: Buffer | undefined

  constructor(
    readonly payload: Uint8Array,
    /** Transactions in the batch (0 for opaque payloads). */
    readonly transactions: number,
    /** Acknowledged mode only: completed with the peer's count or the batch's failure. */
    readonly done: Done | undefined,
    /** The whole frame, header included, when `payload` is a view into it ({@link encodeFrame}): written in one piece. */
    readonly frame: Uint8Array | undefined = undefined
  ) {
    if (frame === undefined) {
      this.header = Buffer.allocUnsafe(Frame.HEADER_BYTES)
      Frame.writeLength(this.header, 0, payload.length)
    } else this.header = undefined
  }
}

/**
 * `send(transactions)`'s encoding: header and `Transactions` envelope in one buffer from the
 * frame pool (framePool.ts: reused slab memory, no zero fill), written in one piece, instead of
 * a fresh envelope plus a separate header.
 */
export const encodeFrame = (transactions: ReadonlyArray<Uint8Array>): Uint8Array =>
  Envelope.encodeFrame(transactions, allocateFrame)

/** The payload of a frame from {@link encodeFrame}: a plain view (a `Buffer#subarray` costs a species lookup). */
export const payloadOf = (frame: Uint8Array): Uint8Array =>
  new Uint8Array(frame.buffer, frame.byteOffset + Frame.HEADER_BYTES, frame.length - Frame.HEADER_BYTES)

/** One step of a `transientRetry` schedule: the delay before the next retry, or done. */
export type TransientStep = (now: number, input: string) => Pull.Pull<[unknown, Duration.Duration], never, unknown>

/** Monotonic counters, read by `stats()` and by the metric hooks at scrape time. */
export class Counters {
  accepted = 0
  batchesSent = 0
  transactionsSent = 0
  bytesSent = 0
  delivered = 0
  responses = 0
  acknowledged = 0
  rejected = 0
  malformedResponses = 0
  dropped = 0
  queueFull = 0
  retries = 0
  failed = 0
  unanswered = 0
  connects = 0
  reconnects = 0
  connectFailures = 0
  connectionErrors = 0
  ackTimeouts = 0
  transientRejections = 0
  outOfStep = 0
  untrackedAnswers = 0
}
