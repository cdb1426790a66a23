/**
 * What a running receiver reports: the synchronous {@link Stats} snapshot and the
 * {@link CloseReport} of a graceful close.
 *
 * @module
 */
import type { InputErrorKind } from "./errors.js"

/** A synchronous snapshot of the receiver's numbers (cheap: copies fields). */
export interface Stats {
  readonly address: string
  readonly connectionsOpen: number
  readonly connectionsTotal: number
  readonly connectionsRejected: number
  /** Connections whose reading is paused right now (backpressure). */
  readonly connectionsPaused: number
  readonly framesReceived: number
  readonly bytesReceived: number
  /** Transactions handed to `submit`. */
  readonly transactionsReceived: number
  /** Frames `submit` succeeded for. */
  readonly framesSubmitted: number
  /** Sum of the counts `submit` reported. */
  readonly transactionsAccepted: number
  /** Frames decoded and not yet finished. */
  readonly queuedFrames: number
  /** Bytes of queued frames plus partial frames held by decoders. */
  readonly bufferedBytes: number
  readonly handlers: number
  readonly handlersBusy: number
  /** Handler time spent on frames over handler time available, since start (0–1). */
  readonly handlerBusyRatio: number
  /** Bad inputs and refused connections, by kind. */
  readonly errors: Readonly<Record<InputErrorKind, number>>
}

/** What a graceful close did. */
export interface CloseReport {
  /** True when the deadline passed before every connection closed; the rest were destroyed. */
  readonly timedOut: boolean
  /** Frames fully received but not submitted (queued, or interrupted mid-submit, at the deadline). */
  readonly unsubmittedFrames: number
  /** Of those, submits that were running and were interrupted. */
  readonly interruptedSubmits: number
  /** Partial frames dropped when reading stopped (never submitted; the sender did not finish them). */
  readonly partialFramesDiscarded: number
  readonly durationMs: number
}
