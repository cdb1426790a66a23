/**
 * The sender's errors: plain data with the numbers in them.
 *
 * Each is a `Data.TaggedError`, so it is an `Error`, can be `yield*`ed in an Effect, is matched
 * with `Effect.catchTag`, and is what the Promise facade rejects with (`e instanceof QueueFull`).
 * `FrameTooLarge`, `InvalidEndpoint` and `InvalidOptions` come from `@txlane/protocol` and are
 * re-exported here (the receiver re-exports the same classes).
 *
 * @module
 */
import { FrameTooLarge, InvalidEndpoint, InvalidOptions } from "@txlane/protocol"
import { Data } from "effect"

export { FrameTooLarge, InvalidEndpoint, InvalidOptions }

/** `send` found the queue full under the `"fail"` overflow policy (or `"drop"` in acknowledged mode). */
export class QueueFull extends Data.TaggedError("QueueFull")<{
  /** The queue's capacity, in batches. */
  readonly capacity: number
}> {
  override get message(): string {
    return `send queue is full (capacity ${this.capacity} batches)`
  }
}

/** `send` was called after `close` began, or the sender closed before the batch could be queued or acknowledged. */
export class SenderClosed extends Data.TaggedError("SenderClosed") {
  override get message(): string {
    return "sender is closed"
  }
}

/** Acknowledged mode: the peer answered the batch's frame with `{"success":false,"error":…}` (or an unreadable response). */
export class Rejected extends Data.TaggedError("Rejected")<{
  /** The peer's `error` text (or why its response could not be read). */
  readonly error: string
}> {
  override get message(): string {
    return `peer rejected the batch: ${this.error}`
  }
}

/** Acknowledged mode: no response arrived within `ackTimeout`, and the retry budget was spent. */
export class AckTimeout extends Data.TaggedError("AckTimeout")<{
  /** The `ackTimeout` that expired, in milliseconds. */
  readonly timeoutMs: number
}> {
  override get message(): string {
    return `no response within ${this.timeoutMs} ms`
  }
}

/**
 * The batch was written `attempts` times and every connection carrying it broke before it was
 * acknowledged (acknowledged mode) or flushed (fire-and-forget), or the reconnect schedule gave
 * up while a worker held it.
 */
export class RetriesExhausted extends Data.TaggedError("RetriesExhausted")<{
  /** How many times the batch was written (0 when the reconnect schedule gave up before any write). */
  readonly attempts: number
}> {
  override get message(): string {
    return `gave up after ${this.attempts} attempt(s)`
  }
}

/** Connecting to the endpoint failed (the input of the reconnect schedule; never returned by `send`). */
export class ConnectFailed extends Data.TaggedError("ConnectFailed")<{
  /** The endpoint, in its canonical string form. */
  readonly endpoint: string
  /** The system error code (`ENOENT`, `ECONNREFUSED`, `ETIMEDOUT`, …) or message. */
  readonly reason: string
}> {
  override get message(): string {
    return `cannot connect to ${this.endpoint}: ${this.reason}`
  }
}

/**
 * The Promise facade: the caller's `AbortSignal` fired. `accepted` says whether the batch was
 * already queued: if it was (the signal fired while waiting for the acknowledgement), the sender
 * still delivers it and reports it (`onOutcome`, the close report); if not, it was never queued.
 * Its `name` is `"AbortError"`, like the DOM's, so `e.name === "AbortError"` checks work.
 */
export class AbortError extends Data.TaggedError("AbortError")<{
  /** `signal.reason`. */
  readonly reason: unknown
  /** Whether the batch was queued before the abort. */
  readonly accepted: boolean
}> {
  override get message(): string {
    return this.accepted
      ? "aborted while waiting for the acknowledgement; the batch stays queued and is reported"
      : "aborted before the batch was queued"
  }
}

/** What `send` and `sendPayload` can fail with. */
export type SendError = FrameTooLarge | QueueFull | SenderClosed | Rejected | AckTimeout | RetriesExhausted

/** What building a sender can fail with. */
export type MakeError = InvalidEndpoint | InvalidOptions
