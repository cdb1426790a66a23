/**
 * The `txlane-receiver` command: flags, the run, the live view and the summary. The bin
 * (`src/bin/txlane-receiver.ts`) only runs it (so does `txlane receive`).
 *
 * @module
 */
import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Digest } from "@txlane/protocol/testing"
import { type InputErrorKind, Receiver } from "@txlane/receiver"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { Flags, Format, LiveView, Main, MetricsHttp } from "../index.js"
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
  listen: Flag.String("listen").pipe(
    Flag.withMetavar("PATH|tcp://HOST:PORT"),
    Flag.withDescription(
      "Where to listen: a Unix socket path (or unix:PATH), or tcp://HOST:PORT (port 0: any free port)."
    )
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
  ordering: Flag.Literals("ordering", ["per-connection", "none"]).pipe(
    Flag.withDefault("per-connection" as const),
    Flag.withDescription("per-connection (default): a connection's frames are submitted one at a time, in order.")
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
  frameTimeoutMs: Flags.limit(
    "frame-timeout-ms",
    "Longest time from a frame's first byte to its last.",
    Receiver.DEFAULT_FRAME_TIMEOUT_MS
  ),
  idleTimeoutMs: Flags.limit(
    "idle-timeout-ms",
    "Longest silence between frames; then the connection is closed (a txlane sender reconnects on its next batch).",
    Receiver.DEFAULT_IDLE_TIMEOUT_MS
  ),
  evictIdleAfterMs: Flags.limit(
    "evict-idle-after-ms",
    "At --max-connections, a new connection replaces the one idle longest if idle this long.",
    Receiver.DEFAULT_EVICT_IDLE_AFTER_MS,
    0
  ),
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
  shutdownTimeoutMs: Flags.int(
    "shutdown-timeout-ms",
    "Deadline of the graceful shutdown after SIGINT/SIGTERM.",
    Receiver.DEFAULT_SHUTDOWN_TIMEOUT_MS,
    0
  ),
  out: Flag.String("out").pipe(
    Flag.withMetavar("FILE"),
    Flag.optional,
    Flag.withDescription(
      "Append every submitted batch to FILE as a length-prefixed frame (replay with txlane-sender --input FILE)."
    )
  ),
  metrics: Flags.metrics,
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
        frameTimeoutMs: config.frameTimeoutMs,
        idleTimeoutMs: config.idleTimeoutMs,
        evictIdleAfterMs: config.evictIdleAfterMs,
        maxBufferedBytes: config.maxBufferedBytes,
        queueCapacity: config.queueCapacity,
        connectionQueueCapacity: config.connectionQueueCapacity,
        shutdownTimeoutMs: config.shutdownTimeoutMs,
        submit: ({ transactions, payload }) => {
          lastSubmitAt = performance.now()
          if (firstSubmitAt === 0) firstSubmitAt = lastSubmitAt
          digest?.addAll(transactions)
          return capture === undefined ? Effect.void : capture.append(payload)
        }
      })
      const started = performance.now()
      yield* Effect.logInfo(`listening on ${receiver.address}`)
      if (Option.isSome(config.metrics)) {
        const url = yield* MetricsHttp.serve(NodeHttpServer.layer(() => Http.createServer(), config.metrics.value))
        yield* Effect.logInfo(`metrics on ${url}/metrics`).pipe(Effect.annotateLogs({ metricsUrl: url }))
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
              bytes: s.bytesReceived,
              connectionsOpen: s.connectionsOpen,
              queuedFrames: s.queuedFrames,
              connectionsPaused: s.connectionsPaused,
              errors
            }
          }
        }
      })

      const finish = Effect.gen(function* () {
        yield* Effect.logInfo("shutting down (draining decoded frames)")
        const report = yield* receiver.shutdown()
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
            "shutdown",
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
              uptimeMs: Math.round(uptimeMs),
              receivingMs: Math.round(lastSubmitAt - firstSubmitAt),
              connections: s.connectionsTotal,
              frames: s.framesReceived,
              transactions: s.transactionsReceived,
              bytes: s.bytesReceived,
              framesSubmitted: s.framesSubmitted,
              transactionsAccepted: s.transactionsAccepted,
              errors: errors.total,
              ...Object.fromEntries(Object.entries(s.errors).map(([k, n]) => [`errors.${k}`, n])),
              timedOut: report.timedOut,
              unsubmittedFrames: report.unsubmittedFrames,
              partialFramesDiscarded: report.partialFramesDiscarded,
              ...(capture === undefined ? {} : { captureFrames: capture.frames(), captureBytes: capture.bytes() }),
              ...(digest === undefined ? {} : { digest: digest.value }),
              exitCode: code
            })
          )
        }
        requested.code = code
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
    yield* Main.runTool(startable, { logger: LiveView.loggerLayer(mode, status), status, requested })
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
        "Exit codes: 0 ok, 1 failure (cannot listen, capture file), 2 bad flags, 3 frames left unsubmitted at the shutdown deadline."
    )
  )
