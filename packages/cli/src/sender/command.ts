/**
 * The `txlane-sender` command: the send loop, the live view and the summary. The bin
 * (`src/bin/txlane-sender.ts`) only runs it (so does `txlane send`).
 *
 * @module
 */
import * as Fs from "node:fs"
import { Digest } from "@txlane/protocol/testing"
import { Sender } from "@txlane/sender"
import { Effect, Option, Result } from "effect"
import { Command } from "effect/cli"
import { Format, LiveView, Main, MetricsHttp, RuntimeMetrics, Telemetry } from "../index.js"
import { type Config, DEFAULT_BATCHES, flags } from "./flags.js"
import * as Input from "./Input.js"
import * as Lanes from "./Lanes.js"
import { Latency } from "./Latency.js"
import * as Synthetic from "./Synthetic.js"
import { summarize } from "./summary.js"

export { DEFAULT_BATCHES, flags } from "./flags.js"

const inf = (limit: number | "unbounded") => (limit === "unbounded" ? Number.POSITIVE_INFINITY : limit)

const run = (config: Config, requested: Main.RequestedExit) =>
  Effect.gen(function* () {
    const mode = LiveView.resolveMode(config.output)
    const status = new LiveView.StatusLine()
    const batchLimit = Option.getOrElse(config.batches, () =>
      Option.isSome(config.duration) ? ("unbounded" as const) : DEFAULT_BATCHES
    )
    const program = Effect.gen(function* () {
      const acknowledged = config.delivery === "acknowledged"
      const runtime =
        Option.isSome(config.metrics) || Option.isSome(config.otlpEndpoint) ? yield* RuntimeMetrics.start : undefined
      // Each accepted batch's fate arrives through onOutcome, in both modes: only batches the
      // peer accepted count as delivered, and only their transactions are counted (and decoded,
      // for the digest), so nothing is decoded for a batch before the peer has it.
      const digest = config.digest ? Digest.make() : undefined
      // Given every payload the sender is done with (see Input.Source.release); set with the input.
      let release = (_payload: Uint8Array): void => {}
      let delivered = 0
      let transactions = 0
      let payloadBytes = 0
      const connectFailures = new Map<string, number>()
      const sender = yield* Sender.make({
        endpoint: config.endpoint,
        workers: config.workers,
        queueCapacity: config.queueCapacity,
        overflow: config.overflow,
        delivery: config.delivery,
        maxInFlight: config.maxInFlight,
        ackTimeout: config.ackTimeout,
        retries: config.retries,
        connectTimeout: config.connectTimeout,
        maxFrameBytes: config.maxFrameBytes,
        closeTimeout: config.closeTimeout,
        name: "txlane-sender",
        onConnectionEvent: (event) => {
          if (event.type === "connect-failed") {
            const cause = event.error ?? "unknown"
            connectFailures.set(cause, (connectFailures.get(cause) ?? 0) + 1)
          }
        },
        onOutcome: (outcome) => {
          if (outcome.status === "delivered") {
            delivered++
            payloadBytes += outcome.payload.length
            if (digest === undefined) {
              transactions += Input.countTransactions(outcome.payload)
            } else {
              const txs = Input.transactionsOf(outcome.payload)
              if (txs !== undefined) {
                transactions += txs.length
                digest.addAll(txs)
              }
            }
          }
          // Settled: the input may reuse the memory it views.
          release(outcome.payload)
        }
      })
      if (Option.isSome(config.metrics) && runtime !== undefined) {
        const url = yield* MetricsHttp.serve(config.metrics.value, runtime)
        yield* Effect.logInfo(`metrics on ${url}/metrics`).pipe(Effect.annotateLogs({ metrics_url: url }))
      }

      // What the progress bar counts: batches (synthetic) or bytes read (a file of known size).
      let inputBytes = 0
      const file = Option.getOrUndefined(config.input)
      const fileSize = file !== undefined && file !== "-" ? yield* Effect.sync(() => statSize(file)) : undefined
      const total = file === undefined ? inf(batchLimit) : fileSize
      const workload: Synthetic.SyntheticOptions = {
        batches: inf(batchLimit),
        txPerBatch: config.txPerBatch,
        txSize: config.txSize,
        seed: config.seed,
        rate: inf(config.rate)
      }
      // A finite, unpaced workload that fits the limit is made before the clock starts, so the
      // figures measure the sender and not the generator (see Synthetic.PREGENERATE_LIMIT_BYTES).
      const pregenerated =
        file === undefined &&
        Number.isFinite(workload.batches) &&
        !Number.isFinite(workload.rate) &&
        workload.batches * Synthetic.syntheticBatchBytes(workload) <= Synthetic.PREGENERATE_LIMIT_BYTES
          ? yield* Effect.sync(() => {
              const t0 = performance.now()
              const made = Synthetic.pregenerate(workload)
              return { made, ms: performance.now() - t0 }
            })
          : undefined
      if (pregenerated !== undefined) {
        yield* Effect.logInfo(
          `generated ${Format.count(pregenerated.made.length)} batches in ${Format.duration(pregenerated.ms)} before sending`
        )
      }
      // Runs of payloads: one per read (file), the whole workload (pre-generated), one per batch (paced).
      const source: Input.Source =
        pregenerated !== undefined
          ? Input.runOf(pregenerated.made)
          : file === undefined
            ? Synthetic.synthetic(workload)
            : Input.frames(file, config.maxFrameBytes, (n) => {
                inputBytes += n
              })
      release = source.release
      const inputText =
        file === undefined
          ? `synthetic: ${batchLimit === "unbounded" ? "unbounded" : Format.count(batchLimit)} batches × ${config.txPerBatch} tx × ${config.txSize} B, seed ${config.seed}${config.rate === "unbounded" ? "" : `, ${config.rate}/s`}`
          : file === "-"
            ? "stdin"
            : file
      yield* Effect.logInfo(
        `sending to ${config.endpoint} (${config.delivery}, ${config.workers} connections); input ${inputText}`
      )

      const latency = acknowledged ? new Latency() : undefined
      let batches = 0
      const sendErrors = new Map<string, number>()
      const started = performance.now()
      const countError = (tag: string, message: string) => {
        const seen = sendErrors.get(tag) ?? 0
        sendErrors.set(tag, seen + 1)
        // The first error of each kind is worth a line; the rest are counted in the summary.
        return seen === 0 ? Effect.logWarning(`send failed: ${message}`) : Effect.void
      }

      // Acknowledged: the send resolves on the answer; its time is the ack latency. Called by a lane
      // when it takes the payload (Lanes.make).
      const sendAcknowledged = (payload: Uint8Array): Effect.Effect<void> => {
        batches++
        const t0 = performance.now()
        return Effect.flatMap(Effect.result(sender.sendPayload(payload)), (result) => {
          if (Result.isSuccess(result)) {
            latency?.record(performance.now() - t0)
            return Effect.void
          }
          const error = result.failure
          // A rejection or give-up is counted through onOutcome; a batch still held when the
          // close deadline passed is given back (SenderClosed) and counted in the close
          // report's undelivered, so neither is an error here.
          if (
            error._tag === "Rejected" ||
            error._tag === "RetriesExhausted" ||
            error._tag === "AckTimeout" ||
            error._tag === "SenderClosed"
          ) {
            return Effect.void
          }
          release(payload)
          return countError(error._tag, error.message)
        })
      }
      // Enough acknowledged sends outstanding to fill every connection's pipeline. The lanes outlive
      // the input loop, so the input can end (and the close, with its deadline, begin) while sends
      // still wait for a receiver that may never answer.
      const lanes = acknowledged
        ? yield* Lanes.make(Math.min(config.queueCapacity, config.workers * config.maxInFlight), sendAcknowledged)
        : undefined

      const batchRate = new LiveView.RateMeter()
      const txRate = new LiveView.RateMeter()
      const byteRate = new LiveView.RateMeter()
      const errorCount = (s: ReturnType<typeof sender.statsUnsafe>) => {
        let n = s.connectFailures + s.connectionErrors + s.rejected + s.failed
        for (const k of sendErrors.values()) n += k
        return n
      }
      yield* LiveView.run({
        mode,
        status,
        sample: () => {
          const s = sender.statsUnsafe()
          return {
            line: [
              ["delivered", `${Format.count(delivered)} (${Format.rate(batchRate.update(delivered))})`],
              ["", `${Format.rate(txRate.update(transactions))} tx`],
              ["", Format.megabytesPerSecond(byteRate.update(s.bytesSent))],
              ["inflight", String(s.inFlight)],
              ["queue", `${s.queued}/${s.queueCapacity}`],
              ["reconn", String(s.reconnects)],
              ["err", String(errorCount(s))]
            ],
            data: {
              delivered,
              transactions,
              bytes_sent: s.bytesSent,
              in_flight: s.inFlight,
              queued: s.queued,
              connects: s.connects,
              connect_failures: s.connectFailures,
              reconnects: s.reconnects,
              rejected: s.rejected,
              errors: errorCount(s)
            },
            progress:
              total === undefined || !Number.isFinite(total)
                ? undefined
                : { done: file === undefined ? batches : inputBytes, total }
          }
        }
      })

      // The input loop: one await per run (a read, or the whole pre-generated workload), then the
      // run goes to the lanes (acknowledged) or each batch of it is queued without a fiber of its own.
      const next = Effect.tryPromise({
        try: () => source.next(),
        catch: (error) =>
          error instanceof Input.InputError
            ? error
            : new Input.InputError({ source: String(file), reason: String(error) })
      })
      const send = Effect.gen(function* () {
        for (;;) {
          const step = yield* next
          if (step.done === true) return
          if (lanes !== undefined) {
            yield* lanes.feed(step.value)
            continue
          }
          for (const payload of step.value) {
            batches++
            // Fire-and-forget: succeeds once queued (or waits while the queue is full, the
            // "suspend" policy); the batch's fate arrives later through onOutcome.
            yield* Effect.catch(sender.sendPayload(payload), (error) => {
              release(payload)
              return countError(error._tag, error.message)
            })
          }
        }
      }).pipe(
        // Stop the reading (closes the file); not awaited, a read of stdin may never end. The lanes
        // take no more batches: those not yet taken were never read, as far as the summary goes.
        Effect.ensuring(
          Effect.sync(() => {
            lanes?.end()
            void source.return?.(undefined)?.catch(() => undefined)
          })
        )
      )
      // --duration: the input stops when it is up, and the run ends as after SIGTERM.
      const timed = Option.match(config.duration, {
        onNone: () => send,
        onSome: (duration) =>
          send.pipe(
            Effect.timeoutOption(duration),
            Effect.flatMap((done) =>
              Option.isNone(done) ? Effect.logInfo("--duration reached: delivering what is queued") : Effect.void
            )
          )
      })
      let inputFailed = false
      let interrupted = false
      const finish = Effect.gen(function* () {
        if (interrupted) yield* Effect.logInfo("stopping: delivering what is queued")
        const report = yield* sender.close()
        if (lanes !== undefined) yield* lanes.drain
        status.close()
        const summary = summarize({
          endpoint: config.endpoint,
          workers: config.workers,
          delivery: config.delivery,
          inputText,
          elapsedMs: performance.now() - started,
          batches,
          delivered,
          transactions,
          payloadBytes,
          sendErrors,
          connectFailures,
          stats: sender.statsUnsafe(),
          report,
          latency,
          digest: digest === undefined ? undefined : { value: digest.value, count: digest.count },
          inputFailed
        })
        if (summary.error !== undefined) yield* Effect.logError(summary.error)
        if (mode === "tty") {
          yield* Effect.sync(() => process.stdout.write(`${summary.table}\n`))
        } else {
          yield* Effect.sync(() => process.stderr.write(`${summary.table}\n`))
          yield* Effect.logInfo("summary").pipe(Effect.annotateLogs(summary.fields))
        }
        requested.code = summary.code
        // The last runtime figures go out with the final export.
        if (runtime !== undefined) yield* runtime.sample
        yield* Telemetry.flush
      })

      yield* timed.pipe(
        Effect.catchTag("InputError", (error) =>
          Effect.gen(function* () {
            inputFailed = true
            yield* Effect.logError(error.message)
          })
        ),
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            interrupted = true
          })
        ),
        // Also after SIGINT/SIGTERM (which interrupt the reading): what was queued is still delivered
        // (close drains within --close-timeout), the sends settle, then the summary.
        Effect.ensuring(finish)
      )
    })
    yield* Main.runTool(program, {
      name: "txlane-sender",
      logger: LiveView.loggerLayer(mode, status),
      status,
      requested,
      otlpEndpoint: config.otlpEndpoint
    })
  })

const statSize = (path: string): number | undefined => {
  try {
    return Fs.statSync(path).size
  } catch {
    return undefined // unreadable: the input stream reports why
  }
}

/**
 * The `txlane-sender` command (named `name`, e.g. `send` under `txlane`); `requested`
 * receives the exit code (see `Main.ExitCode`).
 */
export const make = <Name extends string = "txlane-sender">(requested: Main.RequestedExit, name?: Name) =>
  Command.make((name ?? "txlane-sender") as Name, flags, (config) => run(config, requested)).pipe(
    Command.withDescription(
      "Send txlane frames to a receiver: a capture file / stdin (length-prefixed frames), or a synthetic workload. " +
        "Shows a live status line and progress bar on a terminal, JSON lines otherwise; ends with a summary. " +
        "SIGINT/SIGTERM (or --duration) stop reading input and deliver what is queued. " +
        "Exit codes: 0 all delivered, 1 failure (cannot connect, unreadable or corrupt input, metrics port in use), 2 bad flags or endpoint, 3 some batches not delivered."
    )
  )
