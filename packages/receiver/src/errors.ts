/**
 * The receiver's errors, as data with the numbers in them.
 *
 * Two families:
 * - {@link ListenError}: the receiver could not start (bad options, the address is taken, the
 *   path holds something that is not a socket). `make` fails with these.
 * - {@link InputError}: one connection sent something the receiver had to refuse. These never
 *   fail the receiver: each is answered (json mode) or counted, logged with the connection id,
 *   counted in `txlane_receiver_errors_total{kind}`, and passed to `onInputError`.
 *   `FrameTooLarge`, `TruncatedFrame` and `MalformedEnvelope` come from `@txlane/protocol`.
 *
 * @module
 */
import {
  type FrameTooLarge,
  InvalidEndpoint,
  InvalidOptions,
  type MalformedEnvelope,
  type TruncatedFrame
} from "@txlane/protocol"
import { Data } from "effect"

/** An option the receiver cannot use (the same class as the sender's, from `@txlane/protocol`). */
/** A `listen` address that is not `/abs/path`, `unix:/abs/path` or `tcp://host:port` (the sender's class, from `@txlane/protocol`). */
export { InvalidEndpoint, InvalidOptions }

/** Something is already listening at the address (SPEC §7): a connect to it succeeded. */
export class AddressInUse extends Data.TaggedError("AddressInUse")<{
  /** The endpoint, as given. */
  readonly address: string
}> {
  override get message(): string {
    return `address in use: ${this.address}`
  }
}

/** The socket path holds something that is not a socket; it is left untouched (SPEC §7). */
export class PathNotSocket extends Data.TaggedError("PathNotSocket")<{
  readonly path: string
  /** What is there (`lstat`, so a symlink is reported as a symlink, never followed). */
  readonly kind: "file" | "directory" | "symlink" | "other"
}> {
  override get message(): string {
    return `refusing to replace ${this.path}: it is a ${this.kind}, not a socket`
  }
}

/** Any other failure to listen (permissions, a missing directory, a path too long, …). */
export class ListenFailed extends Data.TaggedError("ListenFailed")<{
  readonly address: string
  /** The system error code when there is one (`EACCES`, `ENOENT`, …). */
  readonly code: string | undefined
  readonly reason: string
}> {
  override get message(): string {
    return `cannot listen on ${this.address}: ${this.reason}`
  }
}

/** Why `make` failed. */
export type ListenError = InvalidOptions | InvalidEndpoint | AddressInUse | PathNotSocket | ListenFailed

/** A zero-length frame, or an envelope with zero transactions (SPEC §6). */
export class EmptyFrame extends Data.TaggedError("EmptyFrame")<{
  /** Payload length in bytes (0 for a zero-length frame). */
  readonly length: number
}> {
  override get message(): string {
    return `empty frame (${this.length} payload bytes, 0 transactions)`
  }
}

/** A connection stayed inside one frame longer than `frameTimeoutMs` (slow-loris); it is closed. */
export class FrameTimeout extends Data.TaggedError("FrameTimeout")<{
  readonly timeoutMs: number
  /** Bytes of the frame that had arrived (header included). */
  readonly received: number
}> {
  override get message(): string {
    return `frame not completed within ${this.timeoutMs} ms (${this.received} bytes received)`
  }
}

/** A connection sent nothing between frames for longer than `idleTimeoutMs`; it is closed. */
export class IdleTimeout extends Data.TaggedError("IdleTimeout")<{
  readonly timeoutMs: number
}> {
  override get message(): string {
    return `idle for more than ${this.timeoutMs} ms`
  }
}

/**
 * `maxConnections` were open and a new connection arrived: this connection, idle (between
 * frames, nothing queued) for at least `evictIdleAfterMs`, was closed to make room for it.
 */
export class IdleEvicted extends Data.TaggedError("IdleEvicted")<{
  /** How long it had been idle, in milliseconds. */
  readonly idleMs: number
  readonly maxConnections: number
}> {
  override get message(): string {
    return `closed after ${this.idleMs} ms idle to admit a new connection (${this.maxConnections} open)`
  }
}

/** The application's `submit` failed, threw or died for one frame; the frame is answered with an error. */
export class SubmitFailed extends Data.TaggedError("SubmitFailed")<{
  /** The text that follows `Transaction submission failed: ` in the response. */
  readonly reason: string
  /** What `submit` failed with. */
  readonly cause: unknown
}> {
  override get message(): string {
    return `submit failed: ${this.reason}`
  }
}

/** A connection arrived while `maxConnections` were open; it was closed at once. */
export class ConnectionRejected extends Data.TaggedError("ConnectionRejected")<{
  readonly maxConnections: number
}> {
  override get message(): string {
    return `connection rejected: ${this.maxConnections} connections already open`
  }
}

/** Bad input or a refused connection; one connection's problem, never the receiver's. */
export type InputError =
  | FrameTooLarge
  | TruncatedFrame
  | MalformedEnvelope
  | EmptyFrame
  | FrameTimeout
  | IdleTimeout
  | IdleEvicted
  | SubmitFailed
  | ConnectionRejected

/** The `_tag`s of {@link InputError}: the `kind` label of `txlane_receiver_errors_total`. */
export type InputErrorKind = InputError["_tag"]

/** Every {@link InputErrorKind}, in a fixed order. */
export const inputErrorKinds: ReadonlyArray<InputErrorKind> = [
  "FrameTooLarge",
  "TruncatedFrame",
  "MalformedEnvelope",
  "EmptyFrame",
  "FrameTimeout",
  "IdleTimeout",
  "IdleEvicted",
  "SubmitFailed",
  "ConnectionRejected"
]
