/**
 * The sender's options, their defaults, and their validation.
 *
 * Every limit is an option with a documented default; the only limit that may be turned off is
 * the retry budget, and it is turned off with the explicit word `"unbounded"`, never with 0.
 *
 * @module
 */
import { Endpoint, Frame } from "@txlane/protocol"
import { Duration, Result, Schedule } from "effect"
import { type ConnectFailed, type InvalidEndpoint, InvalidOption } from "./errors.js"

/**
 * What `send` does when the queue is full.
 * - `"suspend"`: waits for room (backpressure on the producer).
 * - `"fail"`: fails at once with `QueueFull { capacity }`.
 * - `"drop"`: discards the batch and counts it (`stats().dropped`, `txlane_sender_dropped_total`,
 *   the close report). In acknowledged mode a dropped batch's `send` fails with `QueueFull`,
 *   since there will be no acknowledgement to resolve it with.
 */
export type Overflow = "suspend" | "fail" | "drop"

/**
 * How batches are delivered.
 * - `"fire-and-forget"`: `send` resolves once the batch is queued; responses are read and
 *   counted but not waited for (at-most-once, except the documented resend duplicate).
 * - `"acknowledged"`: `send` resolves with the peer's `count` once its response arrives, or
 *   fails with `Rejected`; unacknowledged batches are resent on reconnect (at-least-once).
 */
export type Delivery = "fire-and-forget" | "acknowledged"

/** Options of a sender. Only `endpoint` is required. */
export interface Options {
  /** Where to connect: `/abs/path.sock`, `unix:/abs/path.sock` or `tcp://host:port`. */
  readonly endpoint: string
  /**
   * Worker fibers, each owning one persistent connection. Default 4. More connections let a
   * multi-threaded receiver work in parallel and hide round trips in acknowledged mode, but
   * all workers share this process's one JavaScript thread; the benchmark issue tunes it.
   */
  readonly workers?: number | undefined
  /** Capacity of the send queue, in batches. Default 1000 (the seed's buffer). */
  readonly queueCapacity?: number | undefined
  /** What `send` does on a full queue. Default `"suspend"`. */
  readonly overflow?: Overflow | undefined
  /** Delivery mode. Default `"fire-and-forget"` (the seed's behaviour). */
  readonly delivery?: Delivery | undefined
  /**
   * Largest payload `send` accepts, in bytes. Default 10,485,760 (10 MiB, the deployed
   * server's limit). A larger batch fails at `send` with `FrameTooLarge` and is never queued.
   */
  readonly maxFrameBytes?: number | undefined
  /** Largest number of batches a worker takes from the queue and writes in one corked write. Default 64. */
  readonly maxBatchesPerWrite?: number | undefined
  /** Acknowledged mode: frames written but not yet answered, per connection. Default 64. */
  readonly maxInFlight?: number | undefined
  /**
   * Acknowledged mode: how long a written frame may wait for its response. Default 30 seconds.
   * Past it the connection is presumed stuck: it is closed and its unanswered batches are
   * resent on a new one; a batch whose retry budget is spent fails with `AckTimeout`.
   */
  readonly ackTimeout?: Duration.Input | undefined
  /**
   * Retry budget: how many times one batch may be written again after a connection carrying it
   * broke (or timed out). Default 10. `"unbounded"` never gives up. Past it the batch fails with
   * `RetriesExhausted` (acknowledged) or is counted as failed and logged (fire-and-forget).
   */
  readonly retries?: number | "unbounded" | undefined
  /**
   * When to retry a failed connect, per outage (restarted after every successful connect).
   * Default {@link defaultReconnect}: exponential from 20 ms ×2, capped at 1 s, ±20 % jitter,
   * forever. A finite schedule makes a worker give up the batches it holds (failing them with
   * `RetriesExhausted`) when it ends, then start a new outage cycle.
   */
  readonly reconnect?: Schedule.Schedule<unknown, ConnectFailed> | undefined
  /** Limit on one connect attempt. Default 5 seconds. */
  readonly connectTimeout?: Duration.Input | undefined
  /**
   * Default deadline of a graceful close (also used when the owning scope closes). Default
   * 10 seconds. What is not delivered by then is listed in the close report.
   */
  readonly closeTimeout?: Duration.Input | undefined
  /**
   * Name of this sender in metrics (the `sender` attribute). Default `"sender-N"`, N counting
   * the senders made in this process, so several senders never overwrite each other's series.
   */
  readonly name?: string | undefined
}

/** Default `workers`. */
export const DEFAULT_WORKERS = 4
/** Default `queueCapacity`, in batches: the seed's channel buffer. */
export const DEFAULT_QUEUE_CAPACITY = 1000
/** Default `maxBatchesPerWrite`: enough to amortise a syscall, small enough to keep latency flat. */
export const DEFAULT_MAX_BATCHES_PER_WRITE = 64
/** Default `maxInFlight` per connection (acknowledged mode). */
export const DEFAULT_MAX_IN_FLIGHT = 64
/** Default `ackTimeout`, in milliseconds: a consensus node under load may take seconds to answer. */
export const DEFAULT_ACK_TIMEOUT_MS = 30_000
/** Default retry budget per batch. */
export const DEFAULT_RETRIES = 10
/** Default `connectTimeout`, in milliseconds. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
/** Default `closeTimeout`, in milliseconds. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000

/**
 * The default reconnect schedule: 20 ms, 40 ms, 80 ms … capped at 1 s, each delay multiplied
 * by a random factor in [0.8, 1.2], forever. A local receiver that restarts is found again
 * within about a second, and a missing one costs at most one connect attempt per second per worker.
 */
export const defaultReconnect: Schedule.Schedule<unknown, ConnectFailed> = Schedule.min([
  Schedule.exponential("20 millis", 2),
  Schedule.spaced("1 second")
]).pipe(Schedule.jittered)

/**
 * Builds a reconnect schedule: exponential from `base` by `factor`, capped at `cap`, jittered
 * (±20 %), and limited to `maxRetries` retries per outage when given (default: forever).
 */
export const reconnectSchedule = (options: {
  readonly base: Duration.Input
  readonly factor?: number | undefined
  readonly cap: Duration.Input
  readonly maxRetries?: number | undefined
}): Schedule.Schedule<unknown, ConnectFailed> => {
  const capped = Schedule.min([Schedule.exponential(options.base, options.factor ?? 2), Schedule.spaced(options.cap)])
  const jittered = Schedule.jittered(capped)
  return options.maxRetries === undefined ? jittered : jittered.pipe(Schedule.upTo({ times: options.maxRetries }))
}

/** Options with every default applied and every value checked. */
export interface Resolved {
  readonly endpoint: Endpoint.Endpoint
  readonly endpointText: string
  readonly workers: number
  readonly queueCapacity: number
  readonly overflow: Overflow
  readonly acknowledged: boolean
  readonly maxFrameBytes: number
  readonly maxBatchesPerWrite: number
  readonly maxInFlight: number
  readonly ackTimeoutMs: number
  /** `Infinity` for `"unbounded"`. */
  readonly retries: number
  readonly reconnect: Schedule.Schedule<unknown, ConnectFailed>
  readonly connectTimeoutMs: number
  readonly closeTimeoutMs: number
  readonly name: string
}

let instances = 0

const positiveInt = (option: string, value: number | undefined, fallback: number): number => {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < 1)
    throw new InvalidOption({ option, reason: `must be a positive integer, got ${v}` })
  return v
}

const millis = (option: string, value: Duration.Input | undefined, fallback: number): number => {
  if (value === undefined) return fallback
  let ms: number
  try {
    ms = Duration.toMillis(value)
  } catch {
    throw new InvalidOption({ option, reason: `not a duration: ${String(value)}` })
  }
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new InvalidOption({ option, reason: `must be a positive, finite duration, got ${ms} ms` })
  }
  return ms
}

/** Applies the defaults and checks every option. */
export const resolve = (options: Options): Result.Result<Resolved, InvalidEndpoint | InvalidOption> => {
  const endpoint = Endpoint.parse(options.endpoint)
  if (Result.isFailure(endpoint)) return Result.fail(endpoint.failure)
  try {
    const overflow = options.overflow ?? "suspend"
    if (overflow !== "suspend" && overflow !== "fail" && overflow !== "drop") {
      throw new InvalidOption({ option: "overflow", reason: `must be "suspend", "fail" or "drop", got ${overflow}` })
    }
    const delivery = options.delivery ?? "fire-and-forget"
    if (delivery !== "fire-and-forget" && delivery !== "acknowledged") {
      throw new InvalidOption({
        option: "delivery",
        reason: `must be "fire-and-forget" or "acknowledged", got ${delivery}`
      })
    }
    const maxFrameBytes = options.maxFrameBytes ?? Frame.DEFAULT_MAX_FRAME_BYTES
    try {
      Frame.validateMaxFrameBytes(maxFrameBytes)
    } catch (e) {
      throw new InvalidOption({ option: "maxFrameBytes", reason: e instanceof Error ? e.message : String(e) })
    }
    const retries =
      options.retries === "unbounded"
        ? Number.POSITIVE_INFINITY
        : options.retries === undefined
          ? DEFAULT_RETRIES
          : Number.isSafeInteger(options.retries) && options.retries >= 0
            ? options.retries
            : (() => {
                throw new InvalidOption({
                  option: "retries",
                  reason: `must be a non-negative integer or "unbounded", got ${options.retries}`
                })
              })()
    instances++
    return Result.succeed({
      endpoint: endpoint.success,
      endpointText: Endpoint.format(endpoint.success),
      workers: positiveInt("workers", options.workers, DEFAULT_WORKERS),
      queueCapacity: positiveInt("queueCapacity", options.queueCapacity, DEFAULT_QUEUE_CAPACITY),
      overflow,
      acknowledged: delivery === "acknowledged",
      maxFrameBytes,
      maxBatchesPerWrite: positiveInt("maxBatchesPerWrite", options.maxBatchesPerWrite, DEFAULT_MAX_BATCHES_PER_WRITE),
      maxInFlight: positiveInt("maxInFlight", options.maxInFlight, DEFAULT_MAX_IN_FLIGHT),
      ackTimeoutMs: millis("ackTimeout", options.ackTimeout, DEFAULT_ACK_TIMEOUT_MS),
      retries,
      reconnect: options.reconnect ?? defaultReconnect,
      connectTimeoutMs: millis("connectTimeout", options.connectTimeout, DEFAULT_CONNECT_TIMEOUT_MS),
      closeTimeoutMs: millis("closeTimeout", options.closeTimeout, DEFAULT_CLOSE_TIMEOUT_MS),
      name: options.name ?? `sender-${instances}`
    })
  } catch (e) {
    if (e instanceof InvalidOption) return Result.fail(e)
    throw e
  }
}
