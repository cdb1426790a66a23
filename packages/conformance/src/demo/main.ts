/**
 * `npm run demo`: a receiver (the real `txlane-receiver` command, in a child process) on a
 * temporary Unix socket, and an acknowledged sender (the `@txlane/sender` library, in this
 * process) pumping realistic transactions (`Workload`) at it for ~10 s — with the live view,
 * then a summary (batches/s, tx/s, MB/s, ack latency percentiles via hdr-histogram, errors, the
 * receiver's digest checked against what was sent). Everything is cleaned up, also on Ctrl-C.
 *
 * Runs from TypeScript sources (`tsx --conditions=txlane-source`), so it needs no build.
 *
 * @module
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Flags, Format, LiveView, Main } from "@txlane/cli"
import { Envelope } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { Sender } from "@txlane/sender"
import { Deferred, Effect, Fiber } from "effect"
import { Command } from "effect/cli"
import * as hdr from "hdr-histogram-js"

/** Distinct batches generated up front and sent round-robin: generating on the fly would make the demo measure the generator. */
const RING_BATCHES = 400
/** Default sends outstanding at once: enough to keep every worker's acknowledged pipeline busy. */
const DEFAULT_OUTSTANDING = 128

interface ReceiverSummary {
  readonly frames: number
  readonly transactions: number
  readonly errors: number
  readonly digest: string
}

/** Starts `txlane-receiver` from source; resolves once it listens. Killed with the Scope. */
const startReceiver = (socket: string) =>
  Effect.gen(function* () {
    const entry = fileURLToPath(import.meta.resolve("@txlane/cli"))
    const bin = Path.join(Path.dirname(entry), "bin", "txlane-receiver.ts")
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn(
          process.execPath,
          ["--import", "tsx", "--conditions=txlane-source", bin, "--listen", socket, "--digest", "--output", "json"],
          // Its stderr (the human summary table) is kept, and shown only if it fails.
          { stdio: ["ignore", "pipe", "pipe"] }
        )
      ),
      (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
    )
    const listening = yield* Deferred.make<void, Error>()
    const summary = yield* Deferred.make<ReceiverSummary, Error>()
    let buffered = ""
    let stderr = ""
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString()
      let newline = buffered.indexOf("\n")
      while (newline >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        newline = buffered.indexOf("\n")
        if (!line.startsWith("{")) continue
        const event = JSON.parse(line) as { message: unknown; annotations: Record<string, unknown> }
        const message = Array.isArray(event.message) ? event.message.join(" ") : String(event.message)
        if (message.startsWith("listening on")) Deferred.doneUnsafe(listening, Effect.void)
        if (message === "summary") Deferred.doneUnsafe(summary, Effect.succeed(event.annotations as never))
      }
    })
    child.on("exit", (code) => {
      const error = new Error(`txlane-receiver exited with code ${code}\n${stderr}`)
      Deferred.doneUnsafe(listening, Effect.fail(error))
      Deferred.doneUnsafe(summary, Effect.fail(error))
    })
    yield* Deferred.await(listening).pipe(
      Effect.timeoutOrElse({ duration: "60 seconds", orElse: () => Effect.fail(new Error("receiver did not start")) })
    )
    const stop = Effect.gen(function* () {
      child.kill("SIGTERM")
      return yield* Deferred.await(summary).pipe(
        Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.fail(new Error("no receiver summary")) })
      )
    })
    return { stop }
  })

interface DemoOptions {
  readonly seconds: number
  readonly workers: number
  /** Sends in flight at once (closed loop), or the most in flight while keeping `rate` (open loop). */
  readonly outstanding: number
  /** Batches per second, paced (open loop); 0: as fast as `outstanding` sends allow (closed loop). */
  readonly rate: number
}

/**
 * What the latency figure means. At saturation each send waits behind the `outstanding` others,
 * so its latency is the queueing of a full pipeline — by Little's law about outstanding ÷ rate —
 * not the round trip; the round trip is what a paced, unsaturated run shows (the README's p50 is
 * measured at 1k batches/s).
 */
const latencyNote = (options: DemoOptions, ackedPerSecond: number): string =>
  options.rate > 0
    ? `paced at ${Format.rate(options.rate)} (open loop, from each batch's scheduled time): round trip + backlog`
    : `saturated: ≈ ${options.outstanding} outstanding ÷ ${Format.rate(ackedPerSecond)} = ${Format.duration((options.outstanding / Math.max(ackedPerSecond, 1)) * 1000)} of queueing, not the round trip (try --rate 1000)`

const demo = (options: DemoOptions, requested: Main.RequestedExit) =>
  Effect.gen(function* () {
    const { seconds, workers, outstanding, rate } = options
    const mode = LiveView.resolveMode("auto")
    const status = new LiveView.StatusLine()
    const program = Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "txlane-demo-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const socket = Path.join(dir, "receiver.sock")
      yield* Effect.logInfo(`starting txlane-receiver on ${socket}`)
      const receiver = yield* startReceiver(socket)

      // The workload: realistic 650-byte transactions, 50 per batch (the upstream shape).
      const ring = [...Workload.batches({ batches: RING_BATCHES, seed: 1 })].map((txs) => ({
        payload: Envelope.encode(txs),
        count: txs.length,
        digest: (() => {
          const d = Digest.make()
          d.addAll(txs)
          return d
        })()
      }))
      const sender = yield* Sender.make({ endpoint: socket, delivery: "acknowledged", workers })
      yield* Effect.logInfo(
        `sending ${Workload.DEFAULT_TRANSACTIONS_PER_BATCH} × ${Workload.DEFAULT_TRANSACTION_BYTES}-byte transactions per batch, acknowledged, ${workers} connections, ${rate > 0 ? `${rate} batches/s paced` : `${outstanding} outstanding`}, for ${seconds} s`
      )

      const latency = hdr.build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 60_000_000,
        numberOfSignificantValueDigits: 3
      })
      const sent = Digest.make()
      let acked = 0
      let ackedTx = 0
      let sendErrors = 0
      let next = 0
      const started = performance.now()
      const deadline = started + seconds * 1000
      const producer = Effect.gen(function* () {
        while (performance.now() < deadline) {
          const slot = next++
          const batch = ring[slot % RING_BATCHES]!
          // Open loop: each batch has a scheduled time and its latency counts from it, so a
          // backlog shows up in the figures instead of silently slowing the schedule down.
          const scheduled = rate > 0 ? started + (slot * 1000) / rate : performance.now()
          if (scheduled >= deadline) break
          const wait = scheduled - performance.now()
          if (wait > 0) yield* Effect.sleep(wait)
          const t0 = scheduled
          const result = yield* Effect.result(sender.sendPayload(batch.payload))
          if (result._tag === "Success") {
            latency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
            acked++
            ackedTx += batch.count
            sent.merge(batch.digest)
          } else {
            sendErrors++
          }
        }
      })

      const batchRate = new LiveView.RateMeter()
      const txRate = new LiveView.RateMeter()
      const byteRate = new LiveView.RateMeter()
      const view = yield* Effect.forkChild(
        Effect.scoped(
          Effect.andThen(
            LiveView.run({
              mode,
              status,
              sample: (elapsed) => {
                const s = sender.statsUnsafe()
                const errors = sendErrors + s.rejected + s.failed
                return {
                  line: [
                    ["acked", `${Format.count(acked)} (${Format.rate(batchRate.update(acked))})`],
                    ["", `${Format.rate(txRate.update(ackedTx))} tx`],
                    ["", Format.megabytesPerSecond(byteRate.update(s.bytesSent))],
                    ["inflight", String(s.inFlight)],
                    ["queue", `${s.queued}/${s.queueCapacity}`],
                    ["reconn", String(s.reconnects)],
                    ["err", String(errors)]
                  ],
                  data: {
                    acked,
                    transactions: ackedTx,
                    bytes_sent: s.bytesSent,
                    in_flight: s.inFlight,
                    queued: s.queued,
                    errors
                  },
                  progress: { done: Math.round(Math.min(elapsed, seconds * 1000)), total: seconds * 1000 }
                }
              }
            }),
            Effect.never
          )
        )
      )
      yield* Effect.forEach(Array.from({ length: outstanding }), () => producer, {
        concurrency: "unbounded",
        discard: true
      })
      const elapsedS = (performance.now() - started) / 1000
      const report = yield* sender.close()
      const stats = sender.statsUnsafe()
      yield* Fiber.interrupt(view)
      status.close()
      const received = yield* receiver.stop

      const errors = sendErrors + stats.rejected + stats.failed + report.undelivered.length + received.errors
      const digestOk = received.digest === sent.value && received.transactions === ackedTx
      const ms = (us: number) => Format.duration(us / 1000)
      const table = Format.table("txlane demo", [
        ["duration", `${elapsedS.toFixed(1)} s, ${workers} connections, acknowledged`],
        ["batches/s", `${Format.rate(acked / elapsedS)}  (${Format.count(acked)} batches acknowledged)`],
        ["tx/s", `${Format.rate(ackedTx / elapsedS)}  (${Format.count(ackedTx)} transactions)`],
        [
          "MB/s",
          `${Format.megabytesPerSecond(stats.bytesSent / elapsedS)}  (${Format.bytes(stats.bytesSent)} written)`
        ],
        [
          "ack latency",
          `p50 ${ms(latency.getValueAtPercentile(50))}  p99 ${ms(latency.getValueAtPercentile(99))}  max ${ms(latency.maxValue)}`
        ],
        ["", latencyNote(options, acked / elapsedS)],
        [
          "errors",
          `${errors}${errors === 0 ? "" : `  (send ${sendErrors}, rejected ${stats.rejected}, failed ${stats.failed}, undelivered ${report.undelivered.length}, receiver ${received.errors})`}`
        ],
        ["receiver", `${Format.count(received.frames)} frames, ${Format.count(received.transactions)} tx`],
        ["digest", `${received.digest} ${digestOk ? "= sent ✓" : `≠ sent ${sent.value} ✗`}`]
      ])
      yield* Effect.sync(() => process.stdout.write(`${table}\n`))
      if (mode === "json") {
        yield* Effect.logInfo("summary").pipe(
          Effect.annotateLogs({
            elapsed_ms: Math.round(elapsedS * 1000),
            batches: acked,
            transactions: ackedTx,
            bytes_sent: stats.bytesSent,
            ack_p50_us: latency.getValueAtPercentile(50),
            ack_p99_us: latency.getValueAtPercentile(99),
            outstanding,
            rate_per_s: rate,
            errors,
            digest_ok: digestOk
          })
        )
      }
      latency.destroy()
      requested.code = errors === 0 && digestOk ? Main.ExitCode.ok : Main.ExitCode.failure
    })
    yield* Effect.scoped(program).pipe(
      Effect.catch((error) =>
        Effect.gen(function* () {
          status.close()
          yield* Effect.logError(error instanceof Error ? error.message : String(error))
          requested.code = Main.ExitCode.failure
        })
      ),
      Effect.provide(LiveView.loggerLayer(mode, status))
    )
  })

const requested = new Main.RequestedExit()

Command.make(
  "txlane-demo",
  {
    seconds: Flags.int("seconds", "How long the sender pumps.", 10),
    workers: Flags.int("workers", "Sender connections.", 4),
    outstanding: Flags.int(
      "outstanding",
      "Sends in flight at once. Without --rate the demo saturates the pipeline, and the ack latency is mostly queueing (≈ outstanding ÷ rate).",
      DEFAULT_OUTSTANDING
    ),
    rate: Flags.int(
      "rate",
      "Batches per second, paced (open loop: latency counts from each batch's scheduled time). 0: as fast as possible.",
      0,
      0
    )
  },
  (options) => demo(options, requested)
).pipe(
  Command.withDescription(
    "A receiver and an acknowledged sender on a temporary socket, with the live view and a summary."
  ),
  Command.run({ version: "0.1.0" }),
  Effect.provide([NodeServices.layer, Main.presenter("npm run demo --")]),
  NodeRuntime.runMain({ teardown: Main.teardown(requested) })
)
