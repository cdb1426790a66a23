/**
 * The `txlane-receiver` command: flags, the run, the live view and the summary. The bin
 * (`src/bin/txlane-receiver.ts`) only runs it (so does `txlane receive`).
 *
 * @module
 */
import { Digest } from "@txlane/protocol/testing"
import { type InputErrorKind, Receiver } from "@txlane/receiver"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { Flags, Format, LiveView, Main, MetricsHttp, RuntimeMetrics, Telemetry } from "../index.js"
import * as Capture from "./Capture.js"

const octalMode = Flag.String("socket-mode").pipe(
  Flag.withMetavar("OCTAL"),
  Flag.filterMap(
    (s) => {
      const digits = s.replace(/^0o/, "")
      const mode = Number.parseInt(digits, 8)
      return /^[0-7]{1,4}$/.test(digits) && mode <= 0o777 ? Option.some(mode) : Option.none()
    },
    () => "octal permission bits, e.g. 600 or 0660"
  ),
  Flag.withDefault(Receiver.DEFAULT_SOCKET_MODE),
  Flag.withDescription("Permission bits of the socket file, octal. Default 600 (owner only).")
)

/** The flags of `txlane-receiver`. */
export const flags = {
  listen: Flags.endpoint(
    "listen",
    "Where to listen: a Unix socket path (or unix:PATH), or tcp://HOST:PORT (port 0: any free port)."
  ),
  handlers: Flags.int("handlers", "Submits running at once (handler fibers).", Receiver.DEFAULT_HANDLERS),
  respond: Flag.Literals("respond", ["json", "none"]).pipe(
    Flag.withDefault("json" as const),
    Flag.withDescription("json (default): one JSON response per frame, like the deployed server. none: never answer.")
  ),
  payload: Flag.Literals("payload", ["transactions", "raw"]).pipe(
    Flag.withDefault("transactions" as const),
    Flag.withDescription("transactions (default): decode the Transactions envelope. raw: take each payload as is.")
  ),
  ordering: Flag.Literals("ordering", ["none", "per-connection"]).pipe(
    Flag.withDefault("none" as const),
    Flag.withDescription(
      "none (default): a connection's frames may be submitted in parallel. per-connection: one at a time, in order."
    )
  ),
  socketMode: octalMode,
  maxFrameBytes: Flags.int(
    "max-frame-bytes",
    "Largest frame payload in bytes; larger: error response, connection closed.",
    10 * 1024 * 1024,
    0
  ),
  maxConnections: Flags.limit(
    "max-connections",
    "Connections open at once; more are closed at once.",
    Receiver.DEFAULT_MAX_CONNECTIONS
  ),
  frameTimeout: Flags.durationLimit(
    "frame-timeout",
    "Longest time from a frame's first byte to its last.",
    Receiver.DEFAULT_FRAME_TIMEOUT_MS
  ).pipe(Flag.withAlias("frame-timeout-ms")),
  idleTimeout: Flags.durationLimit(
    "idle-timeout",
    "Longest silence between frames; then the connection is closed (a txlane sender reconnects on its next batch).",
    Receiver.DEFAULT_IDLE_TIMEOUT_MS
  ).pipe(Flag.withAlias("idle-timeout-ms")),
  evictIdleAfter: Flags.durationLimit(
    "evict-idle-after",
    "At --max-connections, a new connection replaces the one idle longest if idle this long.",
    Receiver.DEFAULT_EVICT_IDLE_AFTER_MS
  ).pipe(Flag.withAlias("evict-idle-after-ms")),
  maxBufferedBytes: Flags.limit(
    "max-buffered-bytes",
    "Bytes of frames held in memory before reading pauses.",
    Receiver.DEFAULT_MAX_BUFFERED_BYTES
  ),
  queueCapacity: Flags.int(
    "queue-capacity",
    "Decoded, unfinished frames before reading pauses.",
    Receiver.DEFAULT_QUEUE_CAPACITY
  ),
  connectionQueueCapacity: Flags.int(
    "connection-queue-capacity",
    "Decoded, unfinished frames of one connection before it pauses.",
    Receiver.DEFAULT_CONNECTION_QUEUE_CAPACITY
  ),
  closeTimeout: Flags.duration(
    "close-timeout",
    "Deadline of the graceful close after SIGINT/SIGTERM.",
    Receiver.DEFAULT_CLOSE_TIMEOUT_MS
  ).pipe(Flag.withAlias("shutdown-timeout-ms")),
  out: Flag.String("out").pipe(
    Flag.withMetavar("FILE"),
    Flag.optional,
    Flag.withDescription(
      "Append every submitted batch to FILE as a length-prefixed frame (replay with txlane-sender --input FILE)."
    )
  ),
  metrics: Flags.metrics,
  otlpEndpoint: Telemetry.otlpEndpoint,
  digest: Flags.digest,
  output: Flags.output
}

type Config = Command.Command.Config.Infer<typeof flags>

const errorSummary = (errors: Readonly<Record<InputErrorKind, number>>): { total: number; text: string } => {
  const kinds = Object.entries(errors).filter(([, n]) => n > 0)
  const total = kinds.reduce((sum, [, n]) => sum + n, 0)
  return { total, text: total === 0 ? "0" : `${total} (${kinds.map(([k, n]) => `${k} ${n}`).join(", ")})` }
}

const run = (config: Config, requested: Main.RequestedExit) =>
  Effect.gen(function* () {
    const mode = LiveView.resolveMode(config.output)
    const status = new LiveView.StatusLine()
    const program = Effect.gen(function* () {
      const runtime =
        Option.isSome(config.metrics) || Option.isSome(config.otlpEndpoint) ? yield* RuntimeMetrics.start : undefined
      const capture = Option.isSome(config.out) ? yield* Capture.open(config.out.value) : undefined
      const digest = config.digest ? Digest.make() : undefined
      // First and last submit: rates in the summary are over the time frames were arriving, not the uptime.
      let firstSubmitAt = 0
      let lastSubmitAt = 0
      const receiver = yield* Receiver.make({
        listen: config.listen,
        handlers: config.handlers,
        respond: config.respond,
        payload: config.payload,
        ordering: config.ordering,
        socketMode: config.socketMode,
        maxFrameBytes: config.maxFrameBytes,
        maxConnections: config.maxConnections,
        frameTimeout: config.frameTimeout,
        idleTimeout: config.idleTimeout,
        evictIdleAfter: config.evictIdleAfter,
        maxBufferedBytes: config.maxBufferedBytes,
        queueCapacity: config.queueCapacity,
        connectionQueueCapacity: config.connectionQueueCapacity,
        closeTimeout: config.closeTimeout,
        submit: ({ transactions, payload }) => {
          lastSubmitAt = performance.now()
          if (firstSubmitAt === 0) firstSubmitAt = lastSubmitAt
          digest?.addAll(transactions)
          return capture === undefined ? Effect.void : capture.append(payload)
        }
      })
      const started = performance.now()
      yield* Effect.logInfo(`listening on ${receiver.address}`).pipe(Effect.annotateLogs({ address: receiver.address }))
      if (Option.isSome(config.metrics) && runtime !== undefined) {
        const url = yield* MetricsHttp.serve(config.metrics.value, runtime)
        yield* Effect.logInfo(`metrics on ${url}/metrics`).pipe(Effect.annotateLogs({ metrics_url: url }))
      }
      if (capture !== undefined) yield* Effect.logInfo(`capturing to ${capture.path}`)

      const frameRate = new LiveView.RateMeter()
      const txRate = new LiveView.RateMeter()
      const byteRate = new LiveView.RateMeter()
      yield* LiveView.run({
        mode,
        status,
        sample: () => {
          const s = receiver.statsUnsafe()
          const errors = errorSummary(s.errors).total
          return {
            line: [
              ["frames", `${Format.count(s.framesReceived)} (${Format.rate(frameRate.update(s.framesReceived))})`],
              ["", `${Format.rate(txRate.update(s.transactionsReceived))} tx`],
              ["", Format.megabytesPerSecond(byteRate.update(s.bytesReceived))],
              ["conns", String(s.connectionsOpen)],
              ["queue", String(s.queuedFrames)],
              ["paused", String(s.connectionsPaused)],
              ["errors", String(errors)]
            ],
            data: {
              frames: s.framesReceived,
              transactions: s.transactionsReceived,
              bytes_received: s.bytesReceived,
              connections_open: s.connectionsOpen,
              queued_frames: s.queuedFrames,
              connections_paused: s.connectionsPaused,
              errors
            }
          }
        }
      })

      const finish = Effect.gen(function* () {
        yield* Effect.logInfo("closing (draining decoded frames)")
        const report = yield* receiver.close()
        status.close()
        const s = receiver.statsUnsafe()
        const uptimeMs = performance.now() - started
        const seconds = Math.max(1e-3, (lastSubmitAt - firstSubmitAt) / 1000)
        const errors = errorSummary(s.errors)
        const rows: Array<Format.Row> = [
          ["listen", receiver.address],
          ["uptime", Format.duration(uptimeMs)],
          [
            "receiving",
            `${Format.duration(lastSubmitAt - firstSubmitAt)} (first to last frame; rates below are over it)`
          ],
          ["connections", `${Format.count(s.connectionsTotal)} (rejected ${Format.count(s.connectionsRejected)})`],
          ["frames received", `${Format.count(s.framesReceived)}  (${Format.rate(s.framesReceived / seconds)})`],
          [
            "transactions",
            `${Format.count(s.transactionsReceived)}  (${Format.rate(s.transactionsReceived / seconds)})`
          ],
          ["bytes", `${Format.bytes(s.bytesReceived)}  (${Format.megabytesPerSecond(s.bytesReceived / seconds)})`],
          [
            "submitted",
            `${Format.count(s.framesSubmitted)} frames, ${Format.count(s.transactionsAccepted)} tx accepted`
          ],
          ["errors", errors.text],
          [
            "close",
            `${Format.duration(report.durationMs)}${report.timedOut ? " (deadline passed)" : ""}, ` +
              `${report.unsubmittedFrames} unsubmitted, ${report.partialFramesDiscarded} partial discarded`
          ]
        ]
        if (capture !== undefined) {
          rows.push([
            "capture",
            `${capture.path} (${Format.count(capture.frames())} frames, ${Format.bytes(capture.bytes())})`
          ])
        }
        if (digest !== undefined) rows.push(["digest", `${digest.value} (${Format.count(digest.count)} tx)`])
        const table = Format.table("txlane-receiver", rows)
        const code = report.unsubmittedFrames > 0 ? Main.ExitCode.incomplete : Main.ExitCode.ok
        if (mode === "tty") {
          yield* Effect.sync(() => process.stdout.write(`${table}\n`))
        } else {
          yield* Effect.sync(() => process.stderr.write(`${table}\n`))
          yield* Effect.logInfo("summary").pipe(
            Effect.annotateLogs({
              address: receiver.address,
              uptime_ms: Math.round(uptimeMs),
              receiving_ms: Math.round(lastSubmitAt - firstSubmitAt),
              connections: s.connectionsTotal,
              connections_rejected: s.connectionsRejected,
              frames: s.framesReceived,
              transactions: s.transactionsReceived,
              bytes_received: s.bytesReceived,
              frames_submitted: s.framesSubmitted,
              transactions_accepted: s.transactionsAccepted,
              errors: errors.total,
              error_kinds: Object.fromEntries(Object.entries(s.errors).filter(([, n]) => n > 0)),
              timed_out: report.timedOut,
              unsubmitted_frames: report.unsubmittedFrames,
              partial_frames_discarded: report.partialFramesDiscarded,
              ...(capture === undefined ? {} : { capture_frames: capture.frames(), capture_bytes: capture.bytes() }),
              ...(digest === undefined ? {} : { digest: digest.value }),
              exit_code: code
            })
          )
        }
        requested.code = code
        // The last runtime figures go out with the final export.
        if (runtime !== undefined) yield* runtime.sample
        yield* Telemetry.flush
      })
      // Runs until SIGINT/SIGTERM interrupts it (NodeRuntime.runMain); then shuts down gracefully.
      yield* Effect.never.pipe(Effect.onInterrupt(() => finish))
    })
    // A signal during start-up (before `finish` is in place) interrupts the program: the scope
    // closes (the socket file and the private bind directory are removed, see Receiver.make) and
    // nothing was received, so nothing is unsubmitted: exit 0, as for any SIGINT/SIGTERM stop.
    const startable = program.pipe(
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          requested.code ??= Main.ExitCode.ok
        })
      )
    )
    yield* Main.runTool(startable, {
      name: "txlane-receiver",
      logger: LiveView.loggerLayer(mode, status),
      status,
      requested,
      otlpEndpoint: config.otlpEndpoint
    })
  })

/**
 * The `txlane-receiver` command (named `name`, e.g. `receive` under `txlane`); `requested`
 * receives the exit code (see `Main.ExitCode`).
 */
export const make = <Name extends string = "txlane-receiver">(requested: Main.RequestedExit, name?: Name) =>
  Command.make((name ?? "txlane-receiver") as Name, flags, (config) => run(config, requested)).pipe(
    Command.withDescription(
      "Receive txlane frames on a Unix socket or TCP port and count them (optionally capture them to a file). " +
        "Shows a live status line on a terminal, JSON lines otherwise; SIGINT/SIGTERM shut down gracefully and print a summary. " +
        "Exit codes: 0 ok, 1 failure (cannot listen, capture file, metrics port in use), 2 bad flags or endpoint, 3 frames left unsubmitted at the close deadline."
    )
  )
