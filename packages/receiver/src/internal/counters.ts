/**
 * The receiver's live numbers, as plain fields.
 *
 * The hot path bumps these (a field increment costs nothing); `stats()` copies them and the
 * Effect metrics read them when a snapshot is taken (see `internal/metrics.ts`), so no metric
 * update runs per frame except the submit-latency histogram.
 *
 * @module
 */
import type { InputErrorKind } from "../errors.js"

export class Counters {
  connectionsOpen = 0
  connectionsTotal = 0
  connectionsRejected = 0
  /** Connections whose reading is paused right now (backpressure). */
  connectionsPaused = 0
  framesReceived = 0
  bytesReceived = 0
  /** Transactions found in frames that were handed to `submit`. */
  transactionsReceived = 0
  framesSubmitted = 0
  /** Sum of the counts `submit` reported. */
  transactionsAccepted = 0
  submitFailures = 0
  /** Frames decoded and not yet finished (waiting, or being handled). */
  queuedFrames = 0
  /** Transactions of queued frames whose envelope was decoded as they were read (`DECODE_AHEAD_LIMIT`). */
  transactionsDecodedAhead = 0
  /**
   * Memory held for frames: payload bytes of queued frames, plus what decoders hold (the buffer
   * collecting a partial frame, by its capacity, and the undecoded rest of a socket read).
   */
  bufferedBytes = 0
  handlersBusy = 0
  /** Total time handlers spent on frames, in milliseconds. */
  handlerBusyMs = 0
  readonly errors: Record<InputErrorKind, number> = {
    FrameTooLarge: 0,
    TruncatedFrame: 0,
    MalformedEnvelope: 0,
    EmptyFrame: 0,
    FrameTimeout: 0,
    IdleTimeout: 0,
    IdleEvicted: 0,
    SubmitFailed: 0,
    ConnectionRejected: 0
  }
}
