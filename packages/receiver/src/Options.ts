/**
 * The receiver's options: every limit with its default and what happens past it, and their
 * validation into the numbers the internals use (`Infinity` where "unbounded").
 *
 * Durations are `Duration.Input` (a number is milliseconds); the Promise facade takes `…Ms`
 * numbers instead. One Effect Schema ({@link schema}) checks every option and applies the
 * defaults; {@link validate} turns its failures into `InvalidOptions` with the field's path.
 *
 * @module
 */
import { Frame } from "@txlane/protocol"
import { duration, durationLimit, fn, invalidOptions } from "@txlane/protocol/internal"
import { Duration, Effect, Result, Schema } from "effect"
import type { InputError, InvalidOptions } from "./errors.js"
import type { Settings } from "./internal/connection.js"

/** Default number of handlers: enough parallel submits for 16 sender connections (the seed's 10–20 workers); benchmarks tune it (issue 6). */
export const DEFAULT_HANDLERS = 16
/** Default socket file mode: owner only (SPEC §7). */
export const DEFAULT_SOCKET_MODE = 0o600
/** Default connection limit: the usual per-process open-file limit. */
export const DEFAULT_MAX_CONNECTIONS = 1024
/** Default time a frame may take from its first byte to its last: 10 MiB arrives in milliseconds locally, so only a stalled peer hits it. */
export const DEFAULT_FRAME_TIMEOUT_MS = 10_000
/** Default budget for frames held in memory: ~2,000 upstream-shape (32 KiB) frames. */
export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024
/** Default receiver-wide limit on decoded, unfinished frames. */
export const DEFAULT_QUEUE_CAPACITY = 1024
/**
 * Default per-connection limit on decoded, unfinished frames: keeps one fast sender from taking
 * the whole queue. 16, not 64: frames that wait in the queue live through more collections and
 * are decoded more slowly (their memory gone cold in the cache, we infer). With a sender's 4
 * connections at 64 each (256 frames, 8 MiB of upstream-shape frames) the receiver spent ~15% more
 * CPU per frame than at 16 each (bench/PROFILE.md, "2026-12-02"); a single connection ran alike at
 * 16, 32 and 64.
 */
export const DEFAULT_CONNECTION_QUEUE_CAPACITY = 16
/** Default time we keep reading (and dropping) after our FIN, so a TCP close never resets unread responses. */
export const DEFAULT_LINGER_MS = 1000
/**
 * Default longest silence between frames: 60 s. Idle connections cost a slot of
 * `maxConnections` each, so an unbounded default let 100 idle connections lock every client out
 * of a receiver with `maxConnections: 100`. txlane's sender reconnects transparently (~20 ms) when
 * it next has a batch, so closing a connection silent for a minute costs a legitimate sender one
 * reconnect; the price is one more connect per quiet minute per connection.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000
/**
 * Default idle time after which, when `maxConnections` are open, a connection may be closed to
 * admit a new one (the longest-idle goes first). Short enough that idle connections cannot lock
 * clients out for long; long enough that a sender pausing between batches is not churned.
 */
export const DEFAULT_EVICT_IDLE_AFTER_MS = 5_000
/** Default deadline of the graceful close run when the Scope closes. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000

/** One frame's batch, as given to `submit`. */
export interface Batch {
  /**
   * The encoded transactions, in order (`payload: "transactions"`), or `[payload]` (`"raw"`).
   * They are views into the received bytes, never reused by the receiver: safe to keep, but
   * keeping them keeps their socket chunk alive.
   */
  readonly transactions: ReadonlyArray<Uint8Array>
  /** The whole frame payload. */
  readonly payload: Uint8Array
  /** Process-unique id of the connection the frame came from (as in the logs). */
  readonly connectionId: number
}

/** What `submit` reports; `count` defaults to `transactions.length`. */
export interface SubmitResult {
  readonly count?: number | undefined
}

/** A limit that can be turned off. */
export type Limit = number | "unbounded"

/** Options of `Receiver.make`. Every limit has a default; what happens past it is said on each. */
export interface Options<E = unknown> {
  /** Where to listen: `/abs/path.sock`, `unix:/abs/path.sock` or `tcp://HOST:PORT` (port 0: any free port). */
  readonly listen: string
  /**
   * Hands one frame's transactions to the application. A failure, a thrown exception or a
   * defect is answered with `Transaction submission failed: REASON` (json mode) and counted;
   * the connection and the receiver keep running.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a submit that returns nothing must type-check (count defaults)
  readonly submit: (batch: Batch) => Effect.Effect<SubmitResult | undefined | void, E>
  /** Submits running at once (plain callbacks; handler fibers when a tracer is installed). Default {@link DEFAULT_HANDLERS} (16). */
  readonly handlers?: number | undefined
  /** `"json"` (default: one response per frame, like the deployed server) or `"none"` (fire-and-forget). */
  readonly respond?: "json" | "none" | undefined
  /** `"transactions"` (default: decode the `Transactions` envelope) or `"raw"` (submit the payload as is). */
  readonly payload?: "transactions" | "raw" | undefined
  /**
   * `"none"` (default, like the deployed Rust server): a connection's frames may be submitted in
   * parallel. `"per-connection"`: they are submitted one at a time, in order; with an async
   * `submit`, a connection then advances by one frame per settled `submit`. Responses are in
   * request order, and connections are served round-robin, either way.
   */
  readonly ordering?: "per-connection" | "none" | undefined
  /** Mode of the socket file, set before the file is reachable. Default `0o600`. Ignored for TCP. */
  readonly socketMode?: number | undefined
  /** Largest frame payload. Default 10 MiB. Past it: error response (json), then the connection is closed. */
  readonly maxFrameBytes?: number | undefined
  /** Connections open at once. Default 1024. Past it: a new connection is closed at once and counted. */
  readonly maxConnections?: Limit | undefined
  /** Longest time from a frame's first byte to its last. Default 10 s. Past it: the connection is closed. */
  readonly frameTimeout?: DurationLimit | undefined
  /**
   * Longest silence between frames. Default 60 s ({@link DEFAULT_IDLE_TIMEOUT_MS});
   * `"unbounded"` lets persistent connections idle for ever. Past it: the connection is closed
   * (`IdleTimeout`). Trade-off: every open connection holds a slot of `maxConnections`, so idle
   * ones can lock clients out; a closed txlane sender reconnects on its next batch (a frame it
   * writes in the very moment of the close is resent in acknowledged mode, lost in
   * fire-and-forget mode, like any connection loss).
   */
  readonly idleTimeout?: DurationLimit | undefined
  /**
   * When `maxConnections` are open, a new connection replaces the connection idle longest, if it
   * has been idle (between frames, nothing queued) for at least this long; it is
   * closed and counted as `IdleEvicted`. Default 5 s ({@link DEFAULT_EVICT_IDLE_AFTER_MS}).
   * `"unbounded"`: never evict (a new connection past the limit is rejected). A connection that
   * sends frames is never evicted, so busy senders keep their slots.
   */
  readonly evictIdleAfter?: DurationLimit | undefined
  /**
   * Memory held for frames across all connections, in bytes: queued frames' payloads, partial
   * frames by the allocations they pin (see `FrameDecoder.retainedBytes`), undecoded reads.
   * Default 64 MiB. When reached, connections holding queued frames or more than 64 KiB stop
   * being read (at the system call) until memory is freed. Total stays below this +
   * maxConnections × 64 KiB (plus one socket read per connection).
   */
  readonly maxBufferedBytes?: Limit | undefined
  /**
   * Decoded, unfinished frames across all connections. Default 1024. Frames are decoded out of a
   * read one at a time, each only when there is room; past it the rest of the read waits and
   * its socket is paused. A connection with nothing queued may always queue one frame (so one
   * connection's flood never delays another's first frame): the queue can exceed this by one
   * frame per connection.
   */
  readonly queueCapacity?: number | undefined
  /** Decoded, unfinished frames of one connection. Default 16. When reached, that connection's reading pauses. */
  readonly connectionQueueCapacity?: number | undefined
  /** After our last response and FIN, how long to wait for the peer to close before closing. Default 1000 ms. */
  readonly linger?: Duration.Input | undefined
  /** Deadline of the graceful close run when the Scope closes. Default 10 s. What is left then is discarded and reported. */
  readonly closeTimeout?: Duration.Input | undefined
  /**
   * Reuse the buffers of large frames (256 KiB and more) once their `submit` settles, from a
   * process-wide pool (at most 32 MiB of free buffers). Default `false`. With `true`, a large
   * frame's `payload` and `transactions` views must not be read after `submit` settled — copy
   * what you keep (an asynchronous mempool, a cache) — or they may show a later frame's bytes.
   * Worth it for large frames: a fresh 1 MiB buffer per frame costs more in page faults and
   * garbage collection than the copy (BENCHMARKS.md, 1 MiB frames). Off by default because a
   * view kept too long would then be silently wrong, not merely expensive.
   */
  readonly reuseFrameBuffers?: boolean | undefined
  /** The `receiver` attribute of every metric series. Default: the address. */
  readonly name?: string | undefined
  /** Called for every bad input or refused connection (after it is counted and logged). Must not throw. */
  readonly onInputError?: ((error: InputError, connectionId: number) => void) | undefined
  /** Called when a client connects or its connection ends (see {@link ConnectionEvent}). Must not throw. */
  readonly onConnectionEvent?: ((event: ConnectionEvent) => void) | undefined
}

/** A client connection opened or closed (given to `onConnectionEvent`; the Promise facade's `events`). */
export interface ConnectionEvent {
  /** `"connected"`: a client connection was accepted. `"disconnected"`: it is closed. */
  readonly type: "connected" | "disconnected"
  /** Process-unique id of the connection (as in the logs and `onInputError`). */
  readonly connectionId: number
  /** The receiver's address. */
  readonly address: string
}

/** A duration limit that can be turned off. */
export type DurationLimit = Duration.Input | "unbounded"

/** True for an integer in [min, max]. */
export const isInt = (n: unknown, min: number, max = Number.MAX_SAFE_INTEGER): n is number =>
  typeof n === "number" && Number.isInteger(n) && n >= min && n <= max

/** Options after validation, as numbers (`Infinity` where "unbounded"). */
export interface Validated extends Settings {
  readonly handlers: number
  readonly socketMode: number
  readonly closeTimeoutMs: number
  readonly maxConnections: number
  readonly evictIdleAfterMs: number
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(min), Schema.isLessThanOrEqualTo(max))
const limit = (min: number) =>
  Schema.Union([Schema.Finite.check(Schema.isGreaterThanOrEqualTo(min)), Schema.Literal("unbounded")])
const struct = Schema.Struct({
  listen: Schema.String,
  submit: fn<Options["submit"]>(),
  handlers: int(1, 65536).pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_HANDLERS))),
  respond: Schema.Literals(["json", "none"]).pipe(Schema.withDecodingDefault(Effect.succeed("json" as const))),
  payload: Schema.Literals(["transactions", "raw"]).pipe(
    Schema.withDecodingDefault(Effect.succeed("transactions" as const))
  ),
  ordering: Schema.Literals(["per-connection", "none"]).pipe(
    Schema.withDecodingDefault(Effect.succeed("none" as const))
  ),
  socketMode: int(0, 0o777).pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_SOCKET_MODE))),
  maxFrameBytes: int(0, Frame.MAX_LENGTH).pipe(
    Schema.withDecodingDefault(Effect.succeed(Frame.DEFAULT_MAX_FRAME_BYTES))
  ),
  maxConnections: limit(1).pipe(Schema.withDecodingDefault(Effect.succeed<Limit>(DEFAULT_MAX_CONNECTIONS))),
  frameTimeout: durationLimit(1).pipe(
    Schema.withDecodingDefault(Effect.succeed<DurationLimit>(DEFAULT_FRAME_TIMEOUT_MS))
  ),
  idleTimeout: durationLimit(1).pipe(
    Schema.withDecodingDefault(Effect.succeed<DurationLimit>(DEFAULT_IDLE_TIMEOUT_MS))
  ),
  evictIdleAfter: durationLimit(0).pipe(
    Schema.withDecodingDefault(Effect.succeed<DurationLimit>(DEFAULT_EVICT_IDLE_AFTER_MS))
  ),
  maxBufferedBytes: limit(1).pipe(Schema.withDecodingDefault(Effect.succeed<Limit>(DEFAULT_MAX_BUFFERED_BYTES))),
  queueCapacity: int(1).pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_QUEUE_CAPACITY))),
  connectionQueueCapacity: int(1).pipe(Schema.withDecodingDefault(Effect.succeed(DEFAULT_CONNECTION_QUEUE_CAPACITY))),
  linger: duration(0).pipe(Schema.withDecodingDefault(Effect.succeed<Duration.Input>(DEFAULT_LINGER_MS))),
  closeTimeout: duration(0).pipe(Schema.withDecodingDefault(Effect.succeed<Duration.Input>(DEFAULT_CLOSE_TIMEOUT_MS))),
  reuseFrameBuffers: Schema.Boolean.pipe(Schema.withDecodingDefault(Effect.succeed(false))),
  name: Schema.optional(Schema.String),
  onInputError: Schema.optional(fn<NonNullable<Options["onInputError"]>>()),
  onConnectionEvent: Schema.optional(fn<NonNullable<Options["onConnectionEvent"]>>())
})

/** {@link Options} with every default applied (durations still `Duration.Input`): what {@link schema} decodes to. */
export type Decoded = typeof struct.Type

/**
 * The schema of {@link Options}: checks every field and applies every default (durations stay
 * `Duration.Input`, limits may be `"unbounded"`). The CLI decodes its flags with it too.
 */
export const schema: Schema.Codec<Decoded, typeof struct.Encoded> = struct

const millis = (value: DurationLimit): number =>
  value === "unbounded" ? Number.POSITIVE_INFINITY : Duration.toMillis(value)
const count = (value: Limit): number => (value === "unbounded" ? Number.POSITIVE_INFINITY : value)

/** Decodes the options with {@link schema}; the first bad one is the `InvalidOptions` failure. */
export const validate = <E>(options: Options<E>): Result.Result<Validated, InvalidOptions> => {
  const decoded = Schema.decodeUnknownResult(schema)(options)
  if (Result.isFailure(decoded)) return Result.fail(invalidOptions(decoded.failure, options))
  const o = decoded.success
  return Result.succeed({
    handlers: o.handlers,
    respond: o.respond,
    payload: o.payload,
    ordering: o.ordering,
    socketMode: o.socketMode,
    maxFrameBytes: o.maxFrameBytes,
    queueCapacity: o.queueCapacity,
    connectionQueueCapacity: o.connectionQueueCapacity,
    lingerMs: millis(o.linger),
    closeTimeoutMs: millis(o.closeTimeout),
    maxConnections: count(o.maxConnections),
    frameTimeoutMs: millis(o.frameTimeout),
    idleTimeoutMs: millis(o.idleTimeout),
    evictIdleAfterMs: millis(o.evictIdleAfter),
    maxBufferedBytes: count(o.maxBufferedBytes),
    reuseFrameBuffers: o.reuseFrameBuffers
  })
}
