/**
 * What connections and the receiver share: the job a decoded frame becomes, the settings a
 * connection needs, and the receiver's side of their contract.
 *
 * @module
 */
import type { Envelope } from "@txlane/protocol"
import type { InputError, InputErrorKind } from "../errors.js"
import type { Connection } from "./connection.js"
import type { Counters } from "./counters.js"
import type { CoarseClock } from "./sweeper.js"

/** One decoded frame on its way to a handler. */
export interface Job {
  readonly conn: Connection
  /** Position among this connection's frames: responses are written in this order. */
  readonly seq: number
  readonly payload: Uint8Array
  /**
   * The envelope, decoded when the frame was read (see `DECODE_AHEAD_LIMIT`); undefined if it is
   * to be decoded when a handler takes the frame. Its outcome is reported only then, in order.
   */
  readonly decoded: ReturnType<typeof Envelope.decode> | undefined
}

/**
 * How many transactions queued frames may hold decoded ahead of their handler, receiver-wide.
 * A frame is decoded as it is read, while its bytes are still in the CPU cache: one that waits
 * behind busy handlers is otherwise decoded from cold memory, which cost the receiver 2–4 µs per
 * 32 KiB frame with an async `submit` (bench/PROFILE.md, 2026-12-02 10:15–). Its transaction
 * views then wait with it, a few dozen bytes each whatever their size, so a client sending
 * frames of tiny transactions could make them many times the bytes buffered; past this bound
 * (about 5 MB of views) frames are decoded when a handler takes them, as before. It is above
 * what the default `queueCapacity` holds of ordinary frames (1,024 × 50 transactions).
 */
export const DECODE_AHEAD_LIMIT = 65_536

/** The receiver-wide settings a connection needs (numbers; `Infinity` where "unbounded"). */
export interface Settings {
  readonly maxFrameBytes: number
  readonly ordering: "per-connection" | "none"
  /** `"raw"`: the payload is submitted as it is, without decoding an envelope. */
  readonly payload: "transactions" | "raw"
  readonly respond: "none" | "json"
  readonly frameTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly maxBufferedBytes: number
  readonly queueCapacity: number
  readonly connectionQueueCapacity: number
  readonly lingerMs: number
  /** Large frames are assembled into pooled buffers, reused once their `submit` settles (`reuseFrameBuffers`). */
  readonly reuseFrameBuffers: boolean
}

/** What a connection needs from the receiver. */
export interface Core {
  readonly settings: Settings
  readonly stats: Counters
  /** The receiver's coarse now, set by its sweeper: what connections stamp events with. */
  readonly clock: CoarseClock
  /** Connections paused because the receiver-wide budget is spent. */
  readonly pausedForRoom: Set<Connection>
  /**
   * Hands a job to the handler pool (never blocks: admission is controlled by pausing reads).
   * With ordering "none" the job is the connection's turn: the handler that takes it asks the
   * connection for its earliest waiting frame (`Connection.taken`).
   */
  dispatch(job: Job): void
  /** Counts, logs and forwards one bad input. */
  report(error: InputError, connectionId: number): void
  /**
   * Counts one bad input of `kind`; builds the error (without a stack trace) only if it is to be
   * logged or forwarded. The cheap path for inputs a client can repeat at wire speed.
   */
  reportCheap(kind: InputErrorKind, make: () => InputError, connectionId: number): void
  /** Called after a job finished: budget may have been freed. */
  roomChanged(): void
  /** Called once when the socket has closed. */
  closed(conn: Connection): void
}

/**
 * Every connection may hold this much (of a partial frame, by the capacity of the buffer
 * collecting it, plus the undecoded rest of a read) without asking the receiver-wide budget. Connections sending ordinary frames therefore keep flowing while a few huge partial
 * frames hold the budget (otherwise they could pause everyone, themselves included, and nothing
 * would ever complete); the cost is bounded by maxConnections × 64 KiB.
 */
export const FREE_PARTIAL_BYTES = 64 * 1024
