/**
 * The protocol's errors: plain data with the numbers in them (SPEC.md §3–§5).
 *
 * Each is a `Data.TaggedError`, so it is an `Error`, can be `yield*`ed in an Effect, and is
 * matched with `Effect.catchTag`.
 *
 * @module
 */
import { Data } from "effect"

/** An announced frame length above the decoder's `maxFrameBytes` (SPEC §3). The stream cannot be resynchronised. */
export class FrameTooLarge extends Data.TaggedError("FrameTooLarge")<{
  /** The announced payload length, in bytes. */
  readonly length: number
  /** The limit it exceeded, in bytes. */
  readonly max: number
}> {
  override get message(): string {
    return `frame of ${this.length} bytes exceeds the limit of ${this.max} bytes`
  }
}

/** The stream ended inside a frame (SPEC §3). */
export class TruncatedFrame extends Data.TaggedError("TruncatedFrame")<{
  /** Bytes the incomplete frame needed: 4 while the header is incomplete, else 4 + length. */
  readonly expected: number
  /** Bytes of that frame that arrived. */
  readonly received: number
}> {
  override get message(): string {
    return `stream ended inside a frame: received ${this.received} of ${this.expected} bytes`
  }
}

/** A payload that is not a valid `Transactions` envelope (SPEC §4). */
export class MalformedEnvelope extends Data.TaggedError("MalformedEnvelope")<{
  /** Byte offset, in the payload, of the tag of the field that could not be decoded. */
  readonly offset: number
  /** What was wrong, in a few words. */
  readonly reason: string
}> {
  override get message(): string {
    return `${this.reason} at offset ${this.offset}`
  }
}

/** A response payload that is not a valid JSON response object (SPEC §5). */
export class MalformedResponse extends Data.TaggedError("MalformedResponse")<{
  readonly reason: string
}> {
  override get message(): string {
    return `malformed response: ${this.reason}`
  }
}

/** An endpoint string that is not `/abs/path`, `unix:/abs/path` or `tcp://host:port` (SPEC §1). */
export class InvalidEndpoint extends Data.TaggedError("InvalidEndpoint")<{
  readonly input: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid endpoint ${JSON.stringify(this.input)}: ${this.reason}`
  }
}

/** Every error the protocol package produces. */
export type ProtocolError = FrameTooLarge | TruncatedFrame | MalformedEnvelope | MalformedResponse | InvalidEndpoint

/**
 * An option a txlane package cannot use (the sender's, the receiver's, or a codec limit such as
 * `maxFrameBytes`). One class for every package, so `e instanceof InvalidOptions` and
 * `Effect.catchTag("InvalidOptions", …)` read the same everywhere.
 */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  /** The option's path: its name, or `parent.child` for a nested field (`reconnect.maxDelayMs`). */
  readonly option: string
  /** What is wrong with it. */
  readonly reason: string
}> {
  override get message(): string {
    return `invalid option ${this.option}: ${this.reason}`
  }
}
