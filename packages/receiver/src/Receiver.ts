/**
 * The txlane receiver: a Unix-socket (or TCP) server that accepts many persistent connections,
 * decodes frames with `@txlane/protocol`, and hands each batch to the application's `submit`
 * through a bounded pool of handler fibers — with backpressure to the senders, per-connection
 * ordering, one JSON response per frame, and a graceful, deadline-bounded shutdown.
 *
 * ```
 *  socket 'data' ─▶ FrameDecoder ─▶ per-connection FIFO ─▶ ready queue ─▶ `handlers` fibers ─▶ submit
 *        ▲                                                                        │
 *        └──── pause()/resume(): budget spent, own backlog full, peer not reading ◀┘ responses, in order
 * ```
 *
 * - `make(options)` listens now and returns the {@link Receiver} service value; closing its
 *   Scope shuts it down gracefully (`shutdownTimeoutMs`). `layer(options)` provides it.
 * - Admission is by pausing reads, never by queueing without bound: a connection stops being
 *   read when its own backlog reaches `connectionQueueCapacity`, when the receiver holds
 *   `queueCapacity` frames or `maxBufferedBytes` bytes, or when its peer does not read its
 *   responses. The kernel's socket buffers then push back on the sender.
 *
 * @module
 */
import * as Net from "node:net"
import { Endpoint, Envelope, Frame, LogThrottle, Response } from "@txlane/protocol"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Layer, Pull, Queue, Result, type Scope } from "effect"
import { PrometheusMetrics } from "effect/observability"
import {
  ConnectionRejected,
  EmptyFrame,
  type InputError,
  type InputErrorKind,
  InvalidOptions,
  type ListenError,
  ListenFailed,
  SubmitFailed
} from "./errors.js"
import { Connection, type Core, type Job, type Settings } from "./internal/connection.js"
import { Counters } from "./internal/counters.js"
import { bind, stopListening } from "./internal/listen.js"
import * as Metrics from "./internal/metrics.js"
import * as Responses from "./internal/responses.js"

/** Default number of handler fibers: enough parallel submits for 16 sender connections (the seed's 10–20 workers); benchmarks tune it (issue 6). */
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
/** Default per-connection limit on decoded, unfinished frames: keeps one fast sender from taking the whole queue. */
export const DEFAULT_CONNECTION_QUEUE_CAPACITY = 64
/** Default time we keep reading (and dropping) after our FIN, so a TCP close never resets unread responses. */
export const DEFAULT_LINGER_MS = 1000
/** Frames a handler takes on in a row from one connection before returning to the shared queue. */
const MAX_STREAK = 16
/** Default deadline of the graceful shutdown run when the Scope closes. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

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

/** Options of {@link make}. Every limit has a default; what happens past it is said on each. */
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
  /** Handler fibers, i.e. submits running at once. Default {@link DEFAULT_HANDLERS} (16). */
  readonly handlers?: number | undefined
  /** `"json"` (default: one response per frame, like the deployed server) or `"none"` (fire-and-forget). */
  readonly respond?: "json" | "none" | undefined
  /** `"transactions"` (default: decode the `Transactions` envelope) or `"raw"` (submit the payload as is). */
  readonly payload?: "transactions" | "raw" | undefined
  /**
   * `"per-connection"` (default): a connection's frames are submitted one at a time, in order.
   * `"none"`: its frames may be submitted in parallel. Responses are in request order either way.
   */
  readonly ordering?: "per-connection" | "none" | undefined
  /** Mode of the socket file, set before the file is reachable. Default `0o600`. Ignored for TCP. */
  readonly socketMode?: number | undefined
  /** Largest frame payload. Default 10 MiB. Past it: error response (json), then the connection is closed. */
  readonly maxFrameBytes?: number | undefined
  /** Connections open at once. Default 1024. Past it: a new connection is closed at once and counted. */
  readonly maxConnections?: Limit | undefined
  /** Longest time from a frame's first byte to its last. Default 10 s. Past it: the connection is closed. */
  readonly frameTimeoutMs?: Limit | undefined
  /** Longest silence between frames. Default `"unbounded"` (persistent connections may idle). Past it: closed. */
  readonly idleTimeoutMs?: Limit | undefined
  /**
   * Bytes held across all connections (queued frames + partial frames). Default 64 MiB. When
   * reached, connections holding queued frames or more than 64 KiB of a partial frame stop being
   * read until bytes are freed. Total memory stays below this + maxConnections × 64 KiB (plus
   * one socket chunk per connection).
   */
  readonly maxBufferedBytes?: Limit | undefined
  /** Decoded, unfinished frames across all connections. Default 1024. When reached, reading pauses. */
  readonly queueCapacity?: number | undefined
  /** Decoded, unfinished frames of one connection. Default 64. When reached, that connection's reading pauses. */
  readonly connectionQueueCapacity?: number | undefined
  /** After our last response and FIN, how long to wait for the peer to close before closing. Default 1000 ms. */
  readonly lingerMs?: number | undefined
  /** Deadline of the graceful shutdown run when the Scope closes. Default 10 s. */
  readonly shutdownTimeoutMs?: number | undefined
  /** The `receiver` attribute of every metric series. Default: the address. */
  readonly name?: string | undefined
  /** Called for every bad input or refused connection (after it is counted and logged). Must not throw. */
  readonly onInputError?: ((error: InputError, connectionId: number) => void) | undefined
}

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

/** What a shutdown did. */
export interface ShutdownReport {
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

/** Options of {@link ReceiverApi.shutdown}. */
export interface ShutdownOptions {
  /** Deadline; default `shutdownTimeoutMs` (10 s). At the deadline, the rest is discarded and reported. */
  readonly timeoutMs?: number | undefined
}

/** A running receiver. */
export interface ReceiverApi {
  /** The actual endpoint: the socket path, or `tcp://host:port` with the port the kernel chose. */
  readonly address: string
  /** A synchronous snapshot of the numbers. */
  readonly stats: () => Stats
  /**
   * Graceful shutdown: stop accepting, stop reading, submit every frame already decoded, flush
   * responses, close connections, remove the socket file. Idempotent; later calls return the
   * first call's report. Scope closure runs it too.
   */
  readonly shutdown: (options?: ShutdownOptions) => Effect.Effect<ShutdownReport>
}

/** The receiver as a service (provided by {@link layer}). */
export class Receiver extends Context.Service<Receiver, ReceiverApi>()("@txlane/receiver/Receiver") {}

// Process-wide, so ids stay unique when several receivers share a process and a log.
let nextConnectionId = 1

const isInt = (n: unknown, min: number, max = Number.MAX_SAFE_INTEGER): n is number =>
  typeof n === "number" && Number.isInteger(n) && n >= min && n <= max

interface Validated extends Settings {
  readonly handlers: number
  readonly payload: "transactions" | "raw"
  readonly socketMode: number
  readonly shutdownTimeoutMs: number
  readonly maxConnections: number
}

const validate = <E>(options: Options<E>): Result.Result<Validated, InvalidOptions> => {
  const bad = (option: string, reason: string) => Result.fail(new InvalidOptions({ option, reason }))
  const limit = (name: string, value: Limit | undefined, fallback: Limit, min: number): number | InvalidOptions => {
    const v = value ?? fallback
    if (v === "unbounded") return Number.POSITIVE_INFINITY
    if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
      return new InvalidOptions({ option: name, reason: `must be a number >= ${min} or "unbounded", got ${String(v)}` })
    }
    return v
  }
  if (typeof options.submit !== "function") return bad("submit", "must be a function")
  const handlers = options.handlers ?? DEFAULT_HANDLERS
  if (!isInt(handlers, 1, 65536)) return bad("handlers", `must be an integer from 1 to 65536, got ${handlers}`)
  const respond = options.respond ?? "json"
  if (respond !== "json" && respond !== "none") return bad("respond", `must be "json" or "none"`)
  const payload = options.payload ?? "transactions"
  if (payload !== "transactions" && payload !== "raw") return bad("payload", `must be "transactions" or "raw"`)
  const ordering = options.ordering ?? "per-connection"
  if (ordering !== "per-connection" && ordering !== "none") return bad("ordering", `must be "per-connection" or "none"`)
  const socketMode = options.socketMode ?? DEFAULT_SOCKET_MODE
  if (!isInt(socketMode, 0, 0o777)) return bad("socketMode", `must be a permission mode from 0 to 0o777`)
  const maxFrameBytes = options.maxFrameBytes ?? Frame.DEFAULT_MAX_FRAME_BYTES
  if (!isInt(maxFrameBytes, 0, Frame.MAX_LENGTH))
    return bad("maxFrameBytes", `must be an integer from 0 to ${Frame.MAX_LENGTH}`)
  const queueCapacity = options.queueCapacity ?? DEFAULT_QUEUE_CAPACITY
  if (!isInt(queueCapacity, 1)) return bad("queueCapacity", "must be an integer >= 1")
  const connectionQueueCapacity = options.connectionQueueCapacity ?? DEFAULT_CONNECTION_QUEUE_CAPACITY
  if (!isInt(connectionQueueCapacity, 1)) return bad("connectionQueueCapacity", "must be an integer >= 1")
  const lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS
  if (!isInt(lingerMs, 0)) return bad("lingerMs", "must be an integer >= 0")
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  if (!isInt(shutdownTimeoutMs, 0)) return bad("shutdownTimeoutMs", "must be an integer >= 0")
  const maxConnections = limit("maxConnections", options.maxConnections, DEFAULT_MAX_CONNECTIONS, 1)
  const frameTimeoutMs = limit("frameTimeoutMs", options.frameTimeoutMs, DEFAULT_FRAME_TIMEOUT_MS, 1)
  const idleTimeoutMs = limit("idleTimeoutMs", options.idleTimeoutMs, "unbounded", 1)
  const maxBufferedBytes = limit("maxBufferedBytes", options.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES, 1)
  for (const v of [maxConnections, frameTimeoutMs, idleTimeoutMs, maxBufferedBytes]) {
    if (v instanceof InvalidOptions) return Result.fail(v)
  }
  return Result.succeed({
    handlers,
    respond,
    payload,
    ordering,
    socketMode,
    maxFrameBytes,
    queueCapacity,
    connectionQueueCapacity,
    lingerMs,
    shutdownTimeoutMs,
    maxConnections: maxConnections as number,
    frameTimeoutMs: frameTimeoutMs as number,
    idleTimeoutMs: idleTimeoutMs as number,
    maxBufferedBytes: maxBufferedBytes as number
  })
}

const reasonOf = (cause: Cause.Cause<unknown>): { reason: string; error: unknown } => {
  if (Cause.hasInterruptsOnly(cause)) return { reason: "interrupted", error: cause }
  const error = Cause.squash(cause)
  if (error instanceof Error) return { reason: error.message, error }
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return { reason: error.message, error }
  }
  return { reason: String(error), error }
}

// How often timeouts are checked, from the shortest timeout: a quarter of it, 5 ms to 1 s.
const sweepIntervalMs = (settings: Settings): number =>
  Math.max(
    5,
    Math.min(1000, Math.floor(Math.min(settings.frameTimeoutMs, settings.idleTimeoutMs, settings.lingerMs || 1000) / 4))
  )

/**
 * Starts a receiver: validates options, binds (SPEC §7 rules for socket files), starts the
 * handler fibers, and returns the running {@link ReceiverApi}. The Scope owns everything:
 * closing it runs a graceful {@link ReceiverApi.shutdown} bounded by `shutdownTimeoutMs`.
 *
 * Fails with `InvalidOptions`, `AddressInUse`, `PathNotSocket` or `ListenFailed`.
 */
export const make = <E>(options: Options<E>): Effect.Effect<ReceiverApi, ListenError, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* Effect.fromResult(validate(options))
    const endpoint = yield* Effect.fromResult(
      Result.mapError(
        Endpoint.parse(options.listen),
        (e) => new InvalidOptions({ option: "listen", reason: e.message })
      )
    )
    const context = yield* Effect.context<never>()
    const stats = new Counters()
    const ready = yield* Queue.unbounded<Job, Cause.Done>()
    const connections = new Set<Connection>()
    const allDone = yield* Deferred.make<void>()
    let closing = false
    let name = options.name ?? options.listen
    const runLog = Effect.runForkWith(context)

    // Any client can trigger these at wire speed (a flood of bad frames or connections): at
    // most one per kind per second reaches the log; `stats().errors` counts every one.
    const throttle = new LogThrottle()
    const log = (message: string, connectionId: number, kind: string) => {
      const text = throttle.admit(kind, message)
      if (text !== undefined)
        runLog(Effect.logWarning(text).pipe(Effect.annotateLogs({ receiver: name, connectionId, kind })))
    }
    const checkAllDone = () => {
      if (closing && connections.size === 0 && stats.queuedFrames === 0) Deferred.doneUnsafe(allDone, Effect.void)
    }
    const core: Core = {
      settings,
      stats,
      pausedForRoom: new Set(),
      dispatch: (job) => {
        Queue.offerUnsafe(ready, job)
      },
      report: (error, connectionId) => {
        stats.errors[error._tag]++
        log(`connection ${connectionId}: ${error.message}`, connectionId, error._tag)
        if (options.onInputError !== undefined) {
          try {
            options.onInputError(error, connectionId)
          } catch {
            // A throwing callback must not take the connection down with it.
          }
        }
      },
      roomChanged: () => {
        const paused = core.pausedForRoom
        if (
          paused.size > 0 &&
          stats.queuedFrames < settings.queueCapacity &&
          stats.bufferedBytes < settings.maxBufferedBytes
        ) {
          for (const conn of Array.from(paused)) conn.updateFlow()
        }
        if (closing) checkAllDone()
      },
      closed: (conn) => {
        connections.delete(conn)
        stats.connectionsOpen--
        if (closing) checkAllDone()
      }
    }

    const server = Net.createServer({ allowHalfOpen: true, noDelay: true })
    server.on("connection", (socket) => {
      if (closing) {
        socket.destroy()
        return
      }
      if (connections.size >= settings.maxConnections) {
        stats.connectionsRejected++
        socket.destroy()
        core.report(new ConnectionRejected({ maxConnections: settings.maxConnections }), nextConnectionId++)
        return
      }
      stats.connectionsTotal++
      stats.connectionsOpen++
      connections.add(new Connection(nextConnectionId++, socket, core))
    })
    // Errors of the listening socket after bind (e.g. EMFILE on accept) are survivable: log them.
    server.on("error", (error) => log(`listener error: ${error.message}`, 0, "ListenerError"))

    const bound = yield* Effect.tryPromise({
      try: () => bind(server, endpoint, settings.socketMode, options.listen),
      catch: (error) =>
        typeof error === "object" && error !== null && "_tag" in error
          ? (error as ListenError)
          : new ListenFailed({ address: options.listen, code: undefined, reason: String(error) })
    })
    const address = bound.address
    if (options.name === undefined) name = address
    const startedAt = performance.now()
    const metrics = Metrics.register(stats, context, name, settings.handlers, startedAt)
    yield* Effect.addFinalizer(() => Effect.sync(metrics.remove))

    const respondJson = settings.respond === "json"
    const rawPayload = settings.payload === "raw"
    const submit = options.submit

    // Decodes and checks one frame: the batch to submit, or the answer (json) / undefined (none).
    const prepare = (job: Job): Batch | Buffer | undefined => {
      const payload = job.payload
      if (payload.length === 0) {
        core.report(new EmptyFrame({ length: 0 }), job.conn.id)
        return respondJson ? Responses.empty : undefined
      }
      let transactions: ReadonlyArray<Uint8Array>
      if (rawPayload) {
        transactions = [payload]
      } else {
        const decoded = Envelope.decode(payload)
        if (Result.isFailure(decoded)) {
          core.report(decoded.failure, job.conn.id)
          return respondJson ? Responses.failure(Response.ErrorText.invalid(decoded.failure.message)) : undefined
        }
        transactions = decoded.success
        if (transactions.length === 0) {
          core.report(new EmptyFrame({ length: payload.length }), job.conn.id)
          return respondJson ? Responses.empty : undefined
        }
      }
      stats.transactionsReceived += transactions.length
      return { transactions, payload, connectionId: job.conn.id }
    }

    const settle = (
      batch: Batch,
      // biome-ignore lint/suspicious/noConfusingVoidType: mirrors the submit option's result type
      exit: Exit.Exit<SubmitResult | undefined | void, E>,
      connectionId: number
    ): Buffer | undefined => {
      if (Exit.isSuccess(exit)) {
        const reported = exit.value?.count
        const count = isInt(reported, 0) ? reported : batch.transactions.length
        stats.framesSubmitted++
        stats.transactionsAccepted += count
        return respondJson ? Responses.success(count) : undefined
      }
      const { reason, error } = reasonOf(exit.cause)
      core.report(new SubmitFailed({ reason, cause: error }), connectionId)
      return respondJson ? Responses.failure(Response.ErrorText.submitFailed(reason)) : undefined
    }

    // A handler that finishes a frame goes straight on with the same connection's next frame
    // (per-connection ordering made it eligible only now) instead of handing it through the
    // shared queue: that hand-off — an offer, a take and a fiber wake-up per frame — was the
    // receiver's largest cost above the raw decoder in profiles. After MAX_STREAK frames in a row
    // the next one goes back to the shared queue, so one busy connection cannot keep a handler
    // from the others.
    const handler = Effect.gen(function* () {
      let job: Job | undefined
      let streak = 0
      while (true) {
        if (job === undefined) {
          job = yield* Queue.take(ready)
          streak = 0
        }
        const started = performance.now()
        stats.handlersBusy++
        const prepared = prepare(job)
        let response: Buffer | undefined
        if (prepared === undefined || prepared instanceof Uint8Array) {
          response = prepared
        } else {
          const exit = yield* Effect.exit(Effect.suspend(() => submit(prepared)))
          metrics.recordSubmit(performance.now() - started)
          response = settle(prepared, exit, job.conn.id)
        }
        stats.handlersBusy--
        stats.handlerBusyMs += performance.now() - started
        job = job.conn.complete(job, response, ++streak < MAX_STREAK)
      }
    }).pipe(Pull.catchDone(() => Effect.void))

    const handlers: Array<Fiber.Fiber<void>> = []
    for (let i = 0; i < settings.handlers; i++) handlers.push(yield* Effect.forkScoped(handler))

    const interval = sweepIntervalMs(settings)
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        while (true) {
          yield* Effect.sleep(interval)
          const now = Date.now()
          for (const conn of connections) conn.sweep(now)
        }
      })
    )

    let report: Deferred.Deferred<ShutdownReport> | undefined
    const runShutdown = (timeoutMs: number, done: Deferred.Deferred<ShutdownReport>) =>
      Effect.gen(function* () {
        const started = performance.now()
        closing = true
        yield* Effect.promise(() => stopListening(server))
        yield* Effect.promise(bound.removeSocketFile)
        let partialFramesDiscarded = 0
        for (const conn of connections) if (conn.startDrain()) partialFramesDiscarded++
        checkAllDone()
        const finished = yield* Deferred.await(allDone).pipe(Effect.timeoutOption(timeoutMs))
        const timedOut = finished._tag === "None"
        let unsubmittedFrames = 0
        let interruptedSubmits = 0
        if (timedOut) {
          unsubmittedFrames = stats.queuedFrames
          interruptedSubmits = stats.handlersBusy
          for (const conn of connections) conn.destroy()
          yield* Queue.shutdown(ready)
          yield* Fiber.interruptAll(handlers)
        } else {
          yield* Queue.end(ready)
          yield* Fiber.joinAll(handlers)
        }
        const result: ShutdownReport = {
          timedOut,
          unsubmittedFrames,
          interruptedSubmits,
          partialFramesDiscarded,
          durationMs: performance.now() - started
        }
        if (unsubmittedFrames > 0) {
          yield* Effect.logWarning(`shutdown deadline passed: ${unsubmittedFrames} frames not submitted`).pipe(
            Effect.annotateLogs({ receiver: name })
          )
        }
        yield* Deferred.succeed(done, result)
        return result
      })

    const shutdown = (shutdownOptions?: ShutdownOptions): Effect.Effect<ShutdownReport> =>
      Effect.suspend(() => {
        if (report !== undefined) return Deferred.await(report)
        const done = Deferred.makeUnsafe<ShutdownReport>()
        report = done
        const timeoutMs = shutdownOptions?.timeoutMs ?? settings.shutdownTimeoutMs
        // Shutdown runs to the end even if its caller is interrupted: a half-done drain helps nobody.
        return Effect.uninterruptible(runShutdown(timeoutMs, done))
      })

    // Registered after the handlers were forked: finalizers run in reverse, so the graceful
    // shutdown runs while the handlers are still alive to drain the queue.
    yield* Effect.addFinalizer(() => shutdown())

    const snapshot = (): Stats => ({
      address,
      connectionsOpen: stats.connectionsOpen,
      connectionsTotal: stats.connectionsTotal,
      connectionsRejected: stats.connectionsRejected,
      connectionsPaused: stats.connectionsPaused,
      framesReceived: stats.framesReceived,
      bytesReceived: stats.bytesReceived,
      transactionsReceived: stats.transactionsReceived,
      framesSubmitted: stats.framesSubmitted,
      transactionsAccepted: stats.transactionsAccepted,
      queuedFrames: stats.queuedFrames,
      bufferedBytes: stats.bufferedBytes,
      handlers: settings.handlers,
      handlersBusy: stats.handlersBusy,
      handlerBusyRatio: Metrics.busyRatio(stats, settings.handlers, startedAt, performance.now()),
      errors: { ...stats.errors }
    })

    return Receiver.of({ address, stats: snapshot, shutdown })
  })

/** A layer providing {@link Receiver}; the receiver shuts down gracefully when the layer is released. */
export const layer = <E>(options: Options<E>): Layer.Layer<Receiver, ListenError> =>
  Layer.effect(Receiver, make(options))

/**
 * The Prometheus text exposition of every metric in the current registry (the receiver's series
 * carry `receiver="NAME"`). Serve it from any HTTP handler.
 */
export const prometheus = (options?: PrometheusMetrics.FormatOptions): Effect.Effect<string> =>
  PrometheusMetrics.format(options)

/** The metric names this module registers (all prefixed `txlane_receiver_`). */
export const metricNames = Metrics.names
