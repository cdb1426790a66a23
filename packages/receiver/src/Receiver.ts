/**
 * The txlane receiver: a Unix-socket (or TCP) server that accepts many persistent connections,
 * decodes frames with `@txlane/protocol`, and hands each batch to the application's `submit`
 * through a bounded pool of handlers (plain callbacks, or fibers when frames get spans) —
 * with backpressure to the senders, round-robin service between connections, optional
 * per-connection ordering, one JSON response per frame in request order, and a graceful,
 * deadline-bounded close.
 *
 * ```
 *  socket 'data' ─▶ FrameDecoder ─▶ per-connection FIFO ─▶ ready queue (≤ 1 job per connection) ─▶ `handlers` handlers ─▶ submit
 *        ▲                                                                        │
 *        └──── pause()/resume(): budget spent, own backlog full, peer not reading ◀┘ responses, in order
 * ```
 *
 * - `make(options)` listens now and returns the {@link Receiver} service value; closing its
 *   Scope closes it gracefully (`closeTimeout`). `layer(options)` provides it.
 * - Admission is by pausing reads, never by queueing without bound: a connection stops being
 *   read when its own backlog reaches `connectionQueueCapacity`, when the receiver holds
 *   `queueCapacity` frames or `maxBufferedBytes` bytes, or when its peer does not read its
 *   responses. The kernel's socket buffers then push back on the sender.
 *
 * @module
 */
import type * as Net from "node:net"
import { Endpoint } from "@txlane/protocol"
import { LatencyHistogram, LogThrottle } from "@txlane/protocol/internal"
import {
  type Cause,
  Context,
  Deferred,
  Duration,
  Effect,
  Fiber,
  FiberSet,
  Layer,
  Option,
  Queue,
  type Scope
} from "effect"
import { ConnectionRejected, IdleEvicted, type ListenError } from "./errors.js"
import { Connection, type Core, type Job } from "./internal/connection.js"
import { Counters } from "./internal/counters.js"
import * as DirectHandlers from "./internal/directHandlers.js"
import * as EffectSubmit from "./internal/effectSubmit.js"
import * as FrameWork from "./internal/frameWork.js"
import * as Handler from "./internal/handler.js"
import { type Bound, listen, stopListening } from "./internal/listen.js"
import * as InternalMetrics from "./internal/metrics.js"
import { withoutStack } from "./internal/noStack.js"
import * as Sweeper from "./internal/sweeper.js"
import * as Tracing from "./internal/tracing.js"
import { type Options, validate } from "./Options.js"
import type { CloseReport, Stats } from "./Stats.js"

export * from "./Options.js"
export type { CloseReport, Stats } from "./Stats.js"

/** Options of {@link ReceiverService.close}. */
export interface CloseOptions {
  /**
   * Deadline; default the receiver's `closeTimeout` (10 s). At the deadline, the rest is
   * discarded and reported. `0` on a close already running cuts it short now.
   */
  readonly timeout?: Duration.Input | undefined
}

/** The operations of a running receiver. */
export interface ReceiverService {
  /** The actual endpoint: the socket path, or `tcp://host:port` with the port the kernel chose. */
  readonly address: string
  /** A snapshot of the numbers. */
  readonly stats: Effect.Effect<Stats>
  /** The same snapshot, synchronously (cheap: copies fields). */
  readonly statsUnsafe: () => Stats
  /** This receiver's series only, in the Prometheus text exposition format. */
  readonly metrics: Effect.Effect<string>
  /**
   * Graceful close: stop accepting, stop reading, submit every frame already decoded, flush
   * responses, close connections, remove the socket file. Idempotent; later calls return the
   * first call's report, and a later call with `timeout: 0` ends the wait at once. Scope closure
   * runs it too.
   */
  readonly close: (options?: CloseOptions) => Effect.Effect<CloseReport>
}

/** The receiver as a service (provided by {@link layer}). */
export class Receiver extends Context.Service<Receiver, ReceiverService>()("@txlane/receiver/Receiver") {}

// Process-wide, so ids stay unique when several receivers share a process and a log.
let nextConnectionId = 1

/**
 * Starts a receiver: validates options, makes its handlers, binds (SPEC §7 rules for socket
 * files), and returns the running {@link ReceiverService}. The Scope owns everything:
 * closing it runs a graceful {@link ReceiverService.close} bounded by `closeTimeout`.
 *
 * Fails with `InvalidOptions`, `InvalidEndpoint`, `AddressInUse`, `PathNotSocket` or `ListenFailed`.
 */
export const make = <E>(options: Options<E>): Effect.Effect<ReceiverService, ListenError, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = yield* Effect.fromResult(validate(options))
    // A bad address is an `InvalidEndpoint`, as for the sender's `endpoint`.
    const endpoint = yield* Effect.fromResult(Endpoint.parse(options.listen))
    const context = yield* Effect.context<never>()
    const stats = new Counters()
    const ready = yield* Queue.unbounded<Job, Cause.Done>()
    const connections = new Set<Connection>()
    const allDone = yield* Deferred.make<void>()
    let closing = false
    // Connections evicted and not closed yet: they no longer count against maxConnections.
    let evicting = 0
    let name = options.name ?? options.listen
    // Warnings run as fibers of the receiver's scope, not as unowned ones.
    const runLog = yield* FiberSet.makeRuntime<never, void, never>()

    // Any client can trigger these at wire speed (a flood of bad frames or connections): at
    // most one per kind per second reaches the log; `stats().errors` counts every one.
    const throttle = new LogThrottle()
    const log = (message: string, connectionId: number, kind: string) => {
      const text = throttle.admit(kind, message)
      if (text !== undefined)
        runLog(Effect.logWarning(text).pipe(Effect.annotateLogs({ receiver: name, connectionId, kind })))
    }
    // Inputs a client can repeat at wire speed: counted always; the error object (without a
    // stack trace) is built only when it will be logged or passed to onInputError.
    const MARK = "\u0000"
    const reportCheap: Core["reportCheap"] = (kind, make, connectionId) => {
      stats.errors[kind]++
      const text = throttle.admit(kind, MARK)
      if (text === undefined && options.onInputError === undefined) return
      const error = withoutStack(make)
      if (text !== undefined) {
        runLog(
          Effect.logWarning(text.replace(MARK, `connection ${connectionId}: ${error.message}`)).pipe(
            Effect.annotateLogs({ receiver: name, connectionId, kind })
          )
        )
      }
      forward(error, connectionId)
    }
    const forward = (error: Parameters<Core["report"]>[0], connectionId: number) => {
      if (options.onInputError !== undefined) {
        try {
          options.onInputError(error, connectionId)
        } catch {
          // A throwing callback must not take the connection down with it.
        }
      }
    }
    const connectionEvent = (type: "connected" | "disconnected", connectionId: number) => {
      if (options.onConnectionEvent === undefined) return
      try {
        options.onConnectionEvent({ type, connectionId, address: name })
      } catch {
        // A throwing callback must not take the connection down with it.
      }
    }
    const checkAllDone = () => {
      if (closing && connections.size === 0 && stats.queuedFrames === 0) Deferred.doneUnsafe(allDone, Effect.void)
    }
    const clock = yield* Sweeper.makeClock
    // Submits run without handler fibers unless frames get spans (directHandlers.ts): the Promise
    // API's function as given, an Effect `submit` on a fiber per frame (effectSubmit.ts).
    const traced = yield* Tracing.enabled
    const promiseSubmit = traced ? undefined : DirectHandlers.submitOf(options.submit)
    const effectSubmits = traced || promiseSubmit !== undefined ? undefined : EffectSubmit.make(options.submit, context)
    const directSubmit = promiseSubmit ?? effectSubmits?.submit
    // Set below, before the receiver listens (see there).
    let direct: DirectHandlers.DirectHandlers | undefined
    const core: Core = {
      settings,
      stats,
      clock,
      pausedForRoom: new Set(),
      dispatch: (job) => {
        if (direct === undefined) Queue.offerUnsafe(ready, job)
        else direct.dispatch(job)
      },
      report: (error, connectionId) => {
        stats.errors[error._tag]++
        log(`connection ${connectionId}: ${error.message}`, connectionId, error._tag)
        forward(error, connectionId)
      },
      reportCheap: (kind, make, connectionId) => reportCheap(kind, make, connectionId),
      roomChanged: () => {
        const paused = core.pausedForRoom
        if (
          paused.size > 0 &&
          stats.queuedFrames < settings.queueCapacity &&
          stats.bufferedBytes < settings.maxBufferedBytes
        ) {
          // In line order; a connection that gets room and still waits moves to the back.
          for (const conn of Array.from(paused)) {
            if (stats.queuedFrames >= settings.queueCapacity || stats.bufferedBytes >= settings.maxBufferedBytes) break
            conn.updateFlow()
          }
        }
        if (closing) checkAllDone()
      },
      closed: (conn) => {
        connectionEvent("disconnected", conn.id)
        if (conn.evicted) evicting--
        connections.delete(conn)
        stats.connectionsOpen--
        if (closing) checkAllDone()
      }
    }

    // The handler pool exists before the socket does: `listen` links the socket at its path and
    // then still awaits file-system calls, and a client retrying the path (a sender meeting a
    // restarted receiver) connects and sends in that gap. Its frames were once queued for
    // handlers that did not exist yet, and stayed unanswered.
    const submitDurations = new LatencyHistogram()
    let work: FrameWork.FrameWork | undefined
    if (directSubmit !== undefined) {
      direct = DirectHandlers.make(core, settings, directSubmit, submitDurations.recordMs)
    } else {
      // Another connection than `conn` has a turn in the shared queue (at most one job each).
      work = FrameWork.make(
        core,
        settings,
        submitDurations.recordMs,
        (conn) => Queue.sizeUnsafe(ready) > (conn.hasTurnQueued ? 1 : 0),
        traced
      )
    }

    // At maxConnections, the connection idle longest makes room for a new one, if it has been
    // idle for evictIdleAfterMs: idle connections must not lock clients out (a scan of the open
    // connections, only when the limit is reached).
    const evictIdle = (): boolean => {
      if (settings.evictIdleAfterMs === Number.POSITIVE_INFINITY) return false
      const now = clock.millis
      let longest: Connection | undefined
      let longestMs = -1
      for (const conn of connections) {
        const idle = conn.idleMs(now)
        if (idle > longestMs) {
          longestMs = idle
          longest = conn
        }
      }
      if (longest === undefined || longestMs < settings.evictIdleAfterMs) return false
      core.report(new IdleEvicted({ idleMs: longestMs, maxConnections: settings.maxConnections }), longest.id)
      // Its socket closes a little later (after its FIN and linger); its slot is the new one's now.
      longest.evict()
      evicting++
      return true
    }

    const onConnection = (socket: Net.Socket) => {
      if (closing) {
        socket.destroy()
        return
      }
      if (connections.size - evicting >= settings.maxConnections && !evictIdle()) {
        stats.connectionsRejected++
        socket.destroy()
        core.report(new ConnectionRejected({ maxConnections: settings.maxConnections }), nextConnectionId++)
        return
      }
      stats.connectionsTotal++
      stats.connectionsOpen++
      const id = nextConnectionId++
      connections.add(new Connection(id, socket, core))
      connectionEvent("connected", id)
    }
    // The scope owns the server and the socket file (internal/listen.ts); the graceful close
    // registered below also stops listening and removes the file when it runs (both idempotent).
    const bound: Bound = yield* listen(endpoint, {
      socketMode: settings.socketMode,
      given: options.listen,
      onConnection,
      // Errors of the listening socket after bind (e.g. EMFILE on accept) are survivable: log them.
      onError: (error) => log(`listener error: ${error.message}`, 0, "ListenerError")
    })
    const address = bound.address
    if (options.name === undefined) name = address
    const startedAt = performance.now()
    const metrics = InternalMetrics.register(stats, context, name, settings.handlers, startedAt, submitDurations)
    yield* Effect.addFinalizer(() => Effect.sync(metrics.remove))

    // Handler fibers take what the ready queue holds, including frames read before they started.
    const handlers: Array<Fiber.Fiber<void>> = []
    if (work !== undefined) {
      const handler = Handler.make(core, options.submit, ready, work, address, traced)
      for (let i = 0; i < settings.handlers; i++) handlers.push(yield* Effect.forkScoped(handler))
    }

    yield* Effect.forkScoped(Sweeper.run(clock, connections, settings))

    let report: Deferred.Deferred<CloseReport> | undefined
    // Completed by a `close({ timeout: 0 })` while a close waits: the deadline is now.
    const cutShort = Deferred.makeUnsafe<void>()
    const runClose = (timeoutMs: number, done: Deferred.Deferred<CloseReport>) =>
      Effect.gen(function* () {
        const started = performance.now()
        closing = true
        yield* stopListening(bound.server)
        yield* bound.removeSocketFile
        let partialFramesDiscarded = 0
        for (const conn of connections) if (conn.startDrain()) partialFramesDiscarded++
        checkAllDone()
        const finished = yield* Effect.raceFirst(
          Deferred.await(allDone).pipe(Effect.timeoutOption(timeoutMs)),
          Deferred.await(cutShort).pipe(Effect.as(Option.none<void>()))
        )
        const timedOut = finished._tag === "None"
        let unsubmittedFrames = 0
        let interruptedSubmits = 0
        if (timedOut) {
          unsubmittedFrames = stats.queuedFrames
          interruptedSubmits = stats.handlersBusy
          for (const conn of connections) conn.destroy()
          direct?.stop()
          if (effectSubmits !== undefined) yield* effectSubmits.interruptAll
          yield* Queue.shutdown(ready)
          yield* Fiber.interruptAll(handlers)
        } else {
          yield* Queue.end(ready)
          yield* Fiber.joinAll(handlers)
        }
        const result: CloseReport = {
          timedOut,
          unsubmittedFrames,
          interruptedSubmits,
          partialFramesDiscarded,
          durationMs: performance.now() - started
        }
        if (unsubmittedFrames > 0) {
          yield* Effect.logWarning(`close deadline passed: ${unsubmittedFrames} frames not submitted`).pipe(
            Effect.annotateLogs({ receiver: name })
          )
        }
        yield* Deferred.succeed(done, result)
        return result
      })

    const close = (closeOptions?: CloseOptions): Effect.Effect<CloseReport> =>
      Effect.suspend(() => {
        const timeoutMs =
          closeOptions?.timeout === undefined ? settings.closeTimeoutMs : Duration.toMillis(closeOptions.timeout)
        if (report !== undefined) {
          if (timeoutMs <= 0) Deferred.doneUnsafe(cutShort, Effect.void)
          return Deferred.await(report)
        }
        const done = Deferred.makeUnsafe<CloseReport>()
        report = done
        // A close runs to the end even if its caller is interrupted: a half-done drain helps nobody.
        return Effect.uninterruptible(runClose(timeoutMs, done))
      })

    // Registered after the handlers were forked: finalizers run in reverse, so the graceful
    // close runs while the handlers are still alive to drain the queue.
    yield* Effect.addFinalizer(() => close())

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
      handlerBusyRatio: InternalMetrics.busyRatio(stats, settings.handlers, startedAt, performance.now()),
      errors: { ...stats.errors }
    })

    return Receiver.of({
      address,
      stats: Effect.sync(snapshot),
      statsUnsafe: snapshot,
      metrics: Effect.sync(metrics.format),
      close
    })
  })

/** A layer providing {@link Receiver}; the receiver closes gracefully when the layer is released. */
export const layer = <E>(options: Options<E>): Layer.Layer<Receiver, ListenError> =>
  Layer.effect(Receiver, make(options))
