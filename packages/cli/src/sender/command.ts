/**
 * The `txlane-sender` command: flags, the send loop, the live view and the summary. The bin
 * (`src/bin/txlane-sender.ts`) only runs it (so does `txlane send`).
 *
 * @module
 */
import * as Fs from "node:fs"
import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Frame } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { type CloseReport, Options, Sender } from "@txlane/sender"
import { Effect, FiberSet, Option, Semaphore } from "effect"
import { Command, Flag } from "effect/cli"
import { Flags, Format, LiveView, Main, MetricsHttp } from "../index.js"
import * as Input from "./Input.js"
import { Latency } from "./Latency.js"

/** Default number of synthetic batches: a few seconds of traffic, so a first run ends by itself. */
export const DEFAULT_BATCHES = 10_000

/** The flags of `txlane-sender`. */
export const flags = {
  endpoint: Flag.String("endpoint").pipe(
    Flag.withMetavar("PATH|tcp://HOST:PORT"),
    Flag.withDescription("The receiver: a Unix socket path (or unix:PATH), or tcp://HOST:PORT.")
  ),
  workers: Flags.int("workers", "Connections (one worker each).", Options.DEFAULT_WORKERS),
  queue: Flags.int("queue", "Send queue capacity, in batches.", Options.DEFAULT_QUEUE_CAPACITY),
  delivery: Flag.Literals("delivery", ["fire-and-forget", "acknowledged"]).pipe(
    Flag.withDefault("fire-and-forget" as const),
    Flag.withDescription(
      "fire-and-forget (default): send returns once queued; against an answering receiver each batch still waits for its answer. acknowledged: each send waits for its answer."
    )
  ),
  maxFrameBytes: Flags.int(
    "max-frame-bytes",
    "Largest payload sent; larger batches fail.",
    Frame.DEFAULT_MAX_FRAME_BYTES
  ),
  closeTimeoutMs: Flags.int(
    "close-timeout-ms",
    "Deadline to deliver what is queued at the end.",
    Options.DEFAULT_CLOSE_TIMEOUT_MS
  ),
  input: Flag.String("input").pipe(
    Flag.withMetavar("FILE|-"),
    Flag.optional,
    Flag.withDescription(
      "Send the length-prefixed frames of FILE (- = stdin), e.g. a txlane-receiver --out capture. Without it: the synthetic workload."
    )
  ),
  batches: Flags.limit("batches", "Synthetic workload: batches to send.", DEFAULT_BATCHES),
  txPerBatch: Flags.int(
    "tx-per-batch",
    "Synthetic workload: transactions per batch.",
    Workload.DEFAULT_TRANSACTIONS_PER_BATCH
  ),
  txSize: Flags.int("tx-size", "Synthetic workload: bytes per transaction.", Workload.DEFAULT_TRANSACTION_BYTES),
  rate: Flags.limit("rate", "Synthetic workload: batches per second.", "unbounded"),
  seed: Flags.int(
    "seed",
    "Synthetic workload: PRNG seed (same seed, same transactions in every implementation).",
    1,
    0
  ),
  metrics: Flags.metrics,
  digest: Flags.digest,
  output: Flags.output
}

type Config = Command.Command.Config.Infer<typeof flags>

const inf = (limit: number | "unbounded") => (limit === "unbounded" ? Number.POSITIVE_INFINITY : limit)

const run = (config: Config, requested: Main.RequestedExit) =>
  Effect.gen(function* () {
    const mode = LiveView.resolveMode(config.output)
    const status = new LiveView.StatusLine()
    const program = Effect.gen(function* () {
      const acknowledged = config.delivery === "acknowledged"
      // Each accepted batch's fate arrives through onOutcome, in both modes: only batches the
      // peer accepted count as delivered, and only their transactions are counted (and decoded,
      // for the digest), so nothing is decoded for a batch before the peer has it.
      const digest = config.digest ? Digest.make() : undefined
      // Given every payload the sender is done with (see Input.Source.release); set with the input.
      let release = (_payload: Uint8Array): void => {}
      let delivered = 0
      let transactions = 0
      let payloadBytes = 0
      const sender = yield* Sender.make({
        endpoint: config.endpoint,
        workers: config.workers,
        queueCapacity: config.queue,
        delivery: config.delivery,
        maxFrameBytes: config.maxFrameBytes,
        closeTimeout: config.closeTimeoutMs,
        name: "txlane-sender",
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
      if (Option.isSome(config.metrics)) {
        const url = yield* MetricsHttp.serve(NodeHttpServer.layer(() => Http.createServer(), config.metrics.value))
        yield* Effect.logInfo(`metrics on ${url}/metrics`).pipe(Effect.annotateLogs({ metricsUrl: url }))
      }

      // What the progress bar counts: batches (synthetic) or bytes read (a file of known size).
      let inputBytes = 0
      const file = Option.getOrUndefined(config.input)
      const fileSize = file !== undefined && file !== "-" ? yield* Effect.sync(() => statSize(file)) : undefined
      const total = file === undefined ? inf(config.batches) : fileSize
      const workload: Input.SyntheticOptions = {
        batches: inf(config.batches),
        txPerBatch: config.txPerBatch,
        txSize: config.txSize,
        seed: config.seed,
        rate: inf(config.rate)
      }
      // A finite, unpaced workload that fits the limit is made before the clock starts, so the
      // figures measure the sender and not the generator (see Input.PREGENERATE_LIMIT_BYTES).
      const pregenerated =
        file === undefined &&
        Number.isFinite(workload.batches) &&
        !Number.isFinite(workload.rate) &&
        workload.batches * Input.syntheticBatchBytes(workload) <= Input.PREGENERATE_LIMIT_BYTES
          ? yield* Effect.sync(() => {
              const t0 = performance.now()
              const made = Input.pregenerate(workload)
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
            ? Input.synthetic(workload)
            : Input.frames(file, config.maxFrameBytes, (n) => {
                inputBytes += n
              })
      release = source.release
      const inputText =
        file === undefined
          ? `synthetic: ${config.batches === "unbounded" ? "unbounded" : Format.count(config.batches)} batches × ${config.txPerBatch} tx × ${config.txSize} B, seed ${config.seed}${config.rate === "unbounded" ? "" : `, ${config.rate}/s`}`
          : file === "-"
            ? "stdin"
            : file
      yield* Effect.logInfo(
        `sending to ${config.endpoint} (${config.delivery}, ${config.workers} connections); input ${inputText}`
      )

      const latency = acknowledged ? new Latency() : undefined
      let batches = 0
      let errors = 0
      const errorKinds = new Map<string, number>()
      const started = performance.now()
      const countError = (tag: string, message: string) => {
        errors++
        const seen = errorKinds.get(tag) ?? 0
        errorKinds.set(tag, seen + 1)
        // The first error of each kind is worth a line; the rest are counted in the summary.
        return seen === 0 ? Effect.logWarning(`send failed: ${message}`) : Effect.void
      }

      // Acknowledged: the send resolves on the answer; its time is the ack latency.
      const sendAcknowledged = (payload: Uint8Array) =>
        Effect.suspend(() => {
          batches++
          const t0 = performance.now()
          return sender.sendPayload(payload).pipe(
            Effect.tap(() => Effect.sync(() => latency?.record(performance.now() - t0))),
            Effect.asVoid,
            // A rejection or give-up is counted through onOutcome; a batch still held when the
            // close deadline passed is given back (SenderClosed) and counted in the close
            // report's undelivered, so neither is an error here.
            Effect.catch((error) =>
              error._tag === "Rejected" ||
              error._tag === "RetriesExhausted" ||
              error._tag === "AckTimeout" ||
              error._tag === "SenderClosed"
                ? Effect.void
                : Effect.andThen(
                    Effect.sync(() => release(payload)),
                    countError(error._tag, error.message)
                  )
            )
          )
        })

      const batchRate = new LiveView.RateMeter()
      const txRate = new LiveView.RateMeter()
      const byteRate = new LiveView.RateMeter()
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
              ["err", String(errors + s.rejected + s.failed + s.connectionErrors)]
            ],
            data: {
              batches: delivered,
              transactions,
              bytes: s.bytesSent,
              inFlight: s.inFlight,
              queued: s.queued,
              reconnects: s.reconnects,
              errors,
              rejected: s.rejected,
              connectionErrors: s.connectionErrors
            },
            progress:
              total === undefined || !Number.isFinite(total)
                ? undefined
                : { done: file === undefined ? batches : inputBytes, total }
          }
        }
      })

      // Acknowledged sends resolve on the answer: keep enough outstanding to fill every connection's
      // pipeline. Each send runs in its own fiber so the input can end (and the close, with its
      // deadline, begin) while sends still wait for a receiver that may never answer.
      const permits = yield* Semaphore.make(Math.min(config.queue, config.workers * Options.DEFAULT_MAX_IN_FLIGHT))
      const sends = yield* FiberSet.make<void>()
      const handleAcknowledged = (payload: Uint8Array) =>
        Effect.andThen(
          permits.take(1),
          FiberSet.run(sends, Effect.ensuring(sendAcknowledged(payload), permits.release(1)))
        )
      // The input loop: one await per run (a read, or the whole pre-generated workload), then
      // each batch of the run queued without a fiber of its own.
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
          for (const payload of step.value) {
            if (acknowledged) {
              yield* handleAcknowledged(payload)
              continue
            }
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
        // Stop the reading (closes the file); not awaited, a read of stdin may never end.
        Effect.ensuring(Effect.sync(() => void source.return?.(undefined)?.catch(() => undefined)))
      )
      let inputFailure: Input.InputError | undefined
      let interrupted = false
      const finish = Effect.gen(function* () {
        if (interrupted) yield* Effect.logInfo("stopping: delivering what is queued")
        const report: CloseReport = yield* sender.close()
        yield* FiberSet.awaitEmpty(sends)
        status.close()
        const s = sender.statsUnsafe()
        const elapsedMs = performance.now() - started
        const seconds = Math.max(1e-3, elapsedMs / 1000)
        // Every batch read is delivered, rejected, failed, still held at the deadline, or refused by send.
        const undelivered = report.failed + report.undelivered.length + errors
        const notDelivered = report.rejected + undelivered
        const errorText =
          errorKinds.size === 0
            ? String(errors)
            : `${errors} (${Array.from(errorKinds, ([k, n]) => `${k} ${Format.count(n)}`).join(", ")})`
        const rows: Array<Format.Row> = [
          ["endpoint", `${config.endpoint} (${config.workers} connections, ${config.delivery})`],
          ["input", inputText],
          ["elapsed", Format.duration(elapsedMs)],
          [
            "delivered",
            `${Format.count(delivered)} of ${Format.count(batches)} batches  (${Format.rate(delivered / seconds)}), ${Format.count(report.rejected)} rejected, ${Format.count(undelivered)} undelivered`
          ],
          ["transactions", `${Format.count(transactions)}  (${Format.rate(transactions / seconds)})`],
          ["bytes", `${Format.bytes(s.bytesSent)} written  (${Format.megabytesPerSecond(s.bytesSent / seconds)})`]
        ]
        if (latency !== undefined && latency.count > 0) {
          const [p50, p99] = latency.percentiles([50, 99])
          rows.push([
            "ack latency",
            `p50 ${Format.duration(p50 ?? Number.NaN)}  p99 ${Format.duration(p99 ?? Number.NaN)}  max ${Format.duration(latency.max)}`
          ])
        }
        rows.push(
          [
            "connections",
            `${s.connects} connects, ${s.reconnects} reconnects, ${s.connectionErrors} errors, ${s.retries} resends`
          ],
          [
            "answers",
            `${Format.count(s.responses)} read, ${Format.count(report.transientRejections)} not ready (retried), ${Format.count(report.unanswered)} unanswered, ${report.outOfStep} out of step`
          ],
          ["errors", errorText],
          [
            "close",
            `${Format.duration(report.durationMs)}${report.timedOut ? " (deadline passed)" : ""}, ${report.undelivered.length} still held`
          ]
        )
        if (digest !== undefined) rows.push(["digest", `${digest.value} (${Format.count(digest.count)} tx)`])
        const code =
          inputFailure !== undefined
            ? Main.ExitCode.failure
            : notDelivered > 0
              ? Main.ExitCode.incomplete
              : Main.ExitCode.ok
        const table = Format.table("txlane-sender", rows)
        if (mode === "tty") {
          yield* Effect.sync(() => process.stdout.write(`${table}\n`))
        } else {
          yield* Effect.sync(() => process.stderr.write(`${table}\n`))
          yield* Effect.logInfo("summary").pipe(
            Effect.annotateLogs({
              endpoint: config.endpoint,
              delivery: config.delivery,
              elapsedMs: Math.round(elapsedMs),
              batches,
              delivered,
              transactions,
              payloadBytes,
              bytesSent: s.bytesSent,
              acknowledged: s.acknowledged,
              rejected: report.rejected,
              failed: report.failed,
              unanswered: report.unanswered,
              transientRejections: report.transientRejections,
              outOfStep: report.outOfStep,
              errors,
              ...Object.fromEntries(Array.from(errorKinds, ([k, n]) => [`errors.${k}`, n])),
              reconnects: s.reconnects,
              resends: s.retries,
              undelivered,
              timedOut: report.timedOut,
              ...(latency !== undefined && latency.count > 0
                ? { p50Ms: latency.percentiles([50])[0], p99Ms: latency.percentiles([99])[0], maxMs: latency.max }
                : {}),
              ...(digest === undefined ? {} : { digest: digest.value }),
              exitCode: code
            })
          )
        }
        requested.code = code
      })

      yield* send.pipe(
        Effect.catchTag("InputError", (error) =>
          Effect.gen(function* () {
            inputFailure = error
            yield* Effect.logError(error.message)
          })
        ),
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            interrupted = true
          })
        ),
        // Also after SIGINT/SIGTERM (which interrupt the reading): what was queued is still delivered
        // (close drains within --close-timeout-ms), the sends settle, then the summary.
        Effect.ensuring(finish)
      )
    })
    yield* Main.runTool(program, { logger: LiveView.loggerLayer(mode, status), status, requested })
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
        "SIGINT/SIGTERM stop reading input and deliver what is queued. " +
        "Exit codes: 0 all delivered, 1 failure (bad endpoint, unreadable or corrupt input), 2 bad flags, 3 some batches not delivered."
    )
  )
