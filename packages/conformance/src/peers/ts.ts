/**
 * The TypeScript testee of the conformance matrix: PEERS.md on top of `@txlane/receiver`
 * (`createReceiver`) and `@txlane/sender` (`createSender`), through their Promise facades —
 * the API a non-Effect user sees.
 *
 * ```
 * txlane-ts-peer receive --listen ENDPOINT [--respond none|json] [--handlers N]
 *     [--max-frame-bytes N] [--record FILE] [--expect-transactions N]
 * txlane-ts-peer send --endpoint ENDPOINT [--delivery fire-and-forget|acknowledged] [--workers N]
 *     [--queue N] [--batches N] [--tx-per-batch K] [--tx-size S] [--seed X] [--timeout-ms T]
 *     [--max-frame-bytes N]
 * ```
 *
 * Stdout carries only the PEERS.md JSON lines; logs go to stderr.
 *
 * Known limit of the sender report: `@txlane/sender` does not say *which* batches it resent
 * after a broken connection, so `digest` counts every delivered batch once (from `onOutcome`),
 * while `frames` and `transactions` count resends (PEERS.md: the digest would count them
 * twice). Without broken connections the two agree.
 *
 * @module
 */
import { parseArgs } from "node:util"
import { Envelope, Frame } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { createSender } from "@txlane/sender"
import { Result } from "effect"
import type { Report } from "../Report.js"
import {
  EXIT_NOT_DELIVERED,
  EXIT_OK,
  EXIT_USAGE,
  int,
  isUsageError,
  oneOf,
  printLine,
  receive,
  UsageError
} from "../testee/command.js"

export { EXIT_NOT_DELIVERED, EXIT_OK, EXIT_USAGE }

const log = (message: string): void => {
  process.stderr.write(`txlane-ts-peer: ${message}\n`)
}

const send = async (argv: Array<string>): Promise<number> => {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      endpoint: { type: "string" },
      delivery: { type: "string" },
      workers: { type: "string" },
      queue: { type: "string" },
      batches: { type: "string" },
      "tx-per-batch": { type: "string" },
      "tx-size": { type: "string" },
      seed: { type: "string" },
      "timeout-ms": { type: "string" },
      "max-frame-bytes": { type: "string" }
    }
  })
  if (values.endpoint === undefined) throw new UsageError("--endpoint is required")
  const delivery = oneOf("delivery", values.delivery, ["fire-and-forget", "acknowledged"], "fire-and-forget")
  const workers = values.workers === undefined ? undefined : int("workers", values.workers, 0, 1)
  const queue = int("queue", values.queue, 1000, 1)
  const batches = int("batches", values.batches, 1000)
  const txPerBatch = int("tx-per-batch", values["tx-per-batch"], Workload.DEFAULT_TRANSACTIONS_PER_BATCH)
  const txSize = int("tx-size", values["tx-size"], Workload.DEFAULT_TRANSACTION_BYTES)
  const timeoutMs = int("timeout-ms", values["timeout-ms"], 60_000)
  const maxFrameBytes = int("max-frame-bytes", values["max-frame-bytes"], Frame.DEFAULT_MAX_FRAME_BYTES)
  if (values.seed !== undefined && !/^\d+$/.test(values.seed))
    throw new UsageError("--seed must be an unsigned integer")
  const seed = BigInt(values.seed ?? "1")
  if (seed >= 2n ** 64n) throw new UsageError("--seed must fit in 64 bits")

  const acknowledged = delivery === "acknowledged"
  const deadline = Date.now() + timeoutMs
  // Every accepted batch's fate arrives here, in both modes: the digest covers exactly the
  // batches the receiver accepted (or, against a silent receiver, that were flushed to it).
  const delivered = Digest.make()
  let deliveredBatches = 0
  let acked = 0
  const sender = await createSender({
    endpoint: values.endpoint,
    delivery,
    workers,
    queueCapacity: queue,
    maxFrameBytes,
    // PEERS.md: keep retrying until --timeout-ms; the deadline below bounds everything.
    retries: "unbounded",
    closeTimeoutMs: timeoutMs,
    onOutcome: (outcome) => {
      if (outcome.status !== "delivered") return
      deliveredBatches++
      const transactions = Envelope.decode(outcome.payload)
      if (Result.isSuccess(transactions)) delivered.addAll(transactions.success)
    }
  })

  const errors: Record<string, number> = {}
  const countError = (error: unknown) => {
    const tag =
      typeof error === "object" && error !== null && "_tag" in error
        ? String((error as { _tag: unknown })._tag)
        : "Error"
    errors[tag] = (errors[tag] ?? 0) + 1
    if ((errors[tag] ?? 0) <= 3) log(`batch failed: ${error instanceof Error ? error.message : String(error)}`)
  }
  const started = performance.now()
  const pending = new Set<Promise<void>>()
  // Bounds the acknowledged-mode promises alive at once (the queue itself bounds the rest).
  const window = queue * 2

  for (const batch of Workload.batches({ seed, batches, txPerBatch, txSize })) {
    if (Date.now() > deadline) break
    const sent = sender.send(batch)
    if (!acknowledged) {
      try {
        await sent
      } catch (error) {
        countError(error)
      }
      continue
    }
    const p: Promise<void> = sent.then(
      () => {
        acked++
      },
      (error: unknown) => countError(error)
    )
    const tracked = p.finally(() => pending.delete(tracked))
    pending.add(tracked)
    if (pending.size >= window) await Promise.race(pending)
  }
  const remaining = () => Math.max(0, deadline - Date.now())
  if (acknowledged) {
    await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, remaining()).unref())])
  }
  await sender.close({ timeoutMs: Math.max(1, remaining()) })
  const elapsedMs = Math.round(performance.now() - started) // PEERS.md: an integer
  const stats = sender.stats()
  // Refused by the limit, never attempted (deadline), rejected, given up on, or handed back by the close.
  const undelivered = batches - deliveredBatches
  const digest = delivered.value
  if (stats.malformedResponses > 0) errors.MalformedResponse = stats.malformedResponses
  if (stats.connectFailures > 0) errors.ConnectFailed = stats.connectFailures
  if (stats.connectionErrors > 0) errors.ConnectionLost = stats.connectionErrors
  if (stats.rejected > 0 && errors.Rejected === undefined) errors.Rejected = stats.rejected
  if (stats.transientRejections > 0) errors.NotReady = stats.transientRejections
  if (stats.outOfStep > 0) errors.OutOfStep = stats.outOfStep
  const report: Report = {
    event: "report",
    role: "sender",
    impl: "ts",
    frames: stats.batchesSent,
    transactions: stats.transactionsSent,
    bytes: Math.max(0, stats.bytesSent - Frame.HEADER_BYTES * stats.batchesSent),
    digest,
    acknowledged: acknowledged ? acked : stats.acknowledged,
    undelivered,
    responses: { ok: stats.acknowledged, error: stats.rejected + stats.transientRejections },
    errors,
    elapsedMs
  }
  await printLine(report)
  return undelivered === 0 ? EXIT_OK : EXIT_NOT_DELIVERED
}

// ---------------------------------------------------------------------------------------------

/** Runs the peer with `argv` (without node and the script); resolves with the exit code. */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [role, ...rest] = argv
  try {
    if (role === "receive") return await receive("ts", undefined, rest, log)
    if (role === "send") return await send(rest)
    throw new UsageError(
      `the first argument must be receive or send, got ${role === undefined ? "nothing" : JSON.stringify(role)}`
    )
  } catch (error) {
    if (isUsageError(error)) {
      log(error.message)
      log(
        "usage: txlane-ts-peer receive --listen ENDPOINT [options] | send --endpoint ENDPOINT [options] (see PEERS.md)"
      )
      return EXIT_USAGE
    }
    log(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    return EXIT_NOT_DELIVERED
  }
}
