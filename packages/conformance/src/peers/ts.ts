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
 *     [--max-frame-bytes N] [--transient-retry-ms MS]
 * ```
 *
 * The flags, their defaults and checks are `PeerFlags` (shared with the testee kit).
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
import { Envelope, Frame } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { createSender } from "@txlane/sender"
import { Result } from "effect"
import * as PeerFlags from "../PeerFlags.js"
import type { Report } from "../Report.js"
import { EXIT_NOT_DELIVERED, EXIT_OK, EXIT_USAGE, printLine, receive } from "../testee/command.js"

export { EXIT_NOT_DELIVERED, EXIT_OK, EXIT_USAGE }

const log = (message: string): void => {
  process.stderr.write(`txlane-ts-peer: ${message}\n`)
}

const send = async (argv: ReadonlyArray<string>): Promise<number> => {
  const flags = PeerFlags.parse(PeerFlags.Send, argv)
  const { delivery, queue, batches, seed } = flags
  const timeoutMs = flags["timeout-ms"]
  const transientRetryMs = flags["transient-retry-ms"]
  const acknowledged = delivery === "acknowledged"
  const deadline = Date.now() + timeoutMs
  // Every accepted batch's fate arrives here, in both modes: the digest covers exactly the
  // batches the receiver accepted (or, against a silent receiver, that were flushed to it).
  const delivered = Digest.make()
  let deliveredBatches = 0
  let acked = 0
  const sender = await createSender({
    endpoint: flags.endpoint,
    delivery,
    workers: flags.workers,
    queueCapacity: queue,
    maxFrameBytes: flags["max-frame-bytes"],
    // PEERS.md: the first delay, doubling, capped at 4 s (at most 30 retries, the sender's default).
    ...(transientRetryMs === undefined
      ? {}
      : { transientRetry: { initialDelayMs: transientRetryMs, maxDelayMs: Math.max(transientRetryMs, 4000) } }),
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

  for (const batch of Workload.batches({
    seed,
    batches,
    txPerBatch: flags["tx-per-batch"],
    txSize: flags["tx-size"]
  })) {
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
    throw new PeerFlags.UsageError(
      `the first argument must be receive or send, got ${role === undefined ? "nothing" : JSON.stringify(role)}`
    )
  } catch (error) {
    if (PeerFlags.isUsageError(error)) {
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
