/**
 * What a sender reports about itself: the synchronous {@link Stats} snapshot and the
 * {@link CloseReport} of a graceful close. Counts are in batches unless the name says otherwise.
 *
 * @module
 */

/** A point-in-time snapshot of a sender's counters (cheap: plain numbers, no Effect). */
export interface Stats {
  /** Batches in the send queue now. */
  readonly queued: number
  /** Capacity of the send queue. */
  readonly queueCapacity: number
  /**
   * Batches taken by workers and not settled: waiting for a connection, written but not yet
   * flushed to the kernel (fire-and-forget), or written but not yet answered (acknowledged).
   */
  readonly inFlight: number
  /** Batches accepted by `send`/`sendPayload` (queued). */
  readonly accepted: number
  /** Frame writes, resends included. */
  readonly batchesSent: number
  /** Transactions in those frames (batches from `sendPayload` count 0: their contents are opaque). */
  readonly transactionsSent: number
  /** Bytes written, 4-byte headers included. */
  readonly bytesSent: number
  /**
   * Batches settled as delivered: accepted by the peer's answer (`{"success":true}`, queued
   * included), or — against a peer that does not answer (`responses` `"none"`, or `"auto"` once it
   * proved silent) — handed to the kernel on a connection that was still open.
   */
  readonly delivered: number
  /** Answers read, in every mode. */
  readonly responses: number
  /** Batches settled by a `{"success":true}` answer. */
  readonly acknowledged: number
  /** Batches settled by a final error answer (or an unreadable one); each is also logged. */
  readonly rejected: number
  /** Answers that were not a valid JSON response (each settles its batch as rejected). */
  readonly malformedResponses: number
  /** Batches discarded by the `"drop"` overflow policy. */
  readonly dropped: number
  /** `send` calls refused with `QueueFull` by the `"fail"` policy. */
  readonly queueFull: number
  /** Resends: after a broken connection, an ack timeout, or a transient answer. */
  readonly retries: number
  /** Batches given up on (`RetriesExhausted`, `AckTimeout`). */
  readonly failed: number
  /**
   * Frames written on tracked connections (the peer answers every frame) that were closed before
   * their answer arrived, the close deadline included. Each such batch was resent, failed, or
   * listed in the close report: this counts the uncertainty, not a loss.
   */
  readonly unanswered: number
  /** Transient answers (`Node not ready…` by default): each batch is retried on `transientRetry`. */
  readonly transientRejections: number
  /**
   * Connections closed because the peer's answers stopped matching the frames: more answers than
   * frames, or a "too large" answer after which the deployed server reads out of step.
   */
  readonly outOfStep: number
  /**
   * Answers that settled nothing: the peer answered frames sent to it as to a silent peer
   * (`responses` `"none"`, or `"auto"` after it looked silent). Non-zero means `responses` is wrong.
   */
  readonly untrackedAnswers: number
  /** Successful connects. */
  readonly connects: number
  /** Successful connects after a worker's first (a connection had broken or been closed). */
  readonly reconnects: number
  /** Failed connect attempts. */
  readonly connectFailures: number
  /** Connections that ended with an error or were closed by the peer while in use. */
  readonly connectionErrors: number
  /** Per worker: fraction of its lifetime spent working rather than waiting for batches (0–1). */
  readonly workerBusy: ReadonlyArray<number>
  /** True once `close` has begun. */
  readonly closed: boolean
}

/** Where an undelivered batch was when the close deadline passed. */
export type UndeliveredState =
  /** Still in the send queue, never written. */
  | "queued"
  /** Taken by a worker that had no connection (or had not written it yet), never written. */
  | "unsent"
  /**
   * Fire-and-forget: written, but not confirmed flushed, or written on a connection that broke
   * and waiting to be resent; the peer may or may not have it.
   */
  | "unconfirmed"
  /**
   * Written to a peer that answers, no answer yet, or written on a connection that broke and
   * waiting to be resent; the peer may or may not have it.
   */
  | "unacknowledged"
  /** Answered as transient ("not ready") and waiting for its retry; the peer does not have it. */
  | "retrying"

/** A batch a close could not deliver, handed back so the caller can keep or resend it. */
export interface UndeliveredBatch {
  /** The frame payload (the encoded `Transactions` envelope, or the `sendPayload` bytes). */
  readonly payload: Uint8Array
  /** Transactions in it (0 for `sendPayload`). */
  readonly transactions: number
  /** Where it was. */
  readonly state: UndeliveredState
}

/**
 * The outcome of a graceful close. Nothing is dropped silently: every accepted batch is in
 * exactly one of `delivered`, `rejected`, `failed` or `undelivered`, so
 * `accepted = delivered + rejected + failed + undelivered.length`.
 */
export interface CloseReport {
  /** Batches accepted over the sender's life. */
  readonly accepted: number
  /** Batches delivered (see {@link Stats.delivered}). */
  readonly delivered: number
  /** Batches accepted by a positive answer. */
  readonly acknowledged: number
  /** Batches settled by a final error answer. */
  readonly rejected: number
  /** Batches dropped by the `"drop"` policy (never accepted, so not in `accepted`). */
  readonly dropped: number
  /** Batches given up on before the close (`RetriesExhausted`, `AckTimeout`). */
  readonly failed: number
  /** Resends. */
  readonly retries: number
  /** See {@link Stats.unanswered}. */
  readonly unanswered: number
  /** See {@link Stats.transientRejections}. */
  readonly transientRejections: number
  /** See {@link Stats.outOfStep}. */
  readonly outOfStep: number
  /** Batches not delivered when the deadline passed, with their payloads. */
  readonly undelivered: ReadonlyArray<UndeliveredBatch>
  /** True when the deadline passed before every worker finished. */
  readonly timedOut: boolean
  /** How long the close took, in milliseconds. */
  readonly durationMs: number
}
