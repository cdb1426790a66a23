/**
 * txlane itself, as a lean benchmark peer: `@txlane/sender` (`createSender`) and
 * `@txlane/receiver` (`createReceiver`) doing exactly the work the baselines do, so that
 * "txlane vs raw `node:net` vs zeromq.js vs legacy" compares transports and nothing else.
 *
 * - `send`: a bounded pool of pre-encoded payloads (pool.ts), each handed to
 *   `sender.sendPayload` (fire-and-forget: awaited only for backpressure; acknowledged: a window
 *   of `2 × --queue` unanswered batches, as the conformance peer does). With `--api send`, a
 *   bounded pool of transaction lists instead, each handed to `sender.send(transactions)`, which
 *   encodes the `Transactions` envelope on every call (as an application holding transactions would).
 * - `receive`: the receiver decodes every frame's envelope (its default `payload: "transactions"`);
 *   `submit` only counts. With `--submit async` it answers on a later turn of the event loop
 *   (`setImmediate`), as an application whose consensus engine answers later does. No digest, unlike the conformance peer (`src/peers/ts.ts`), whose
 *   per-transaction SHA-256 would otherwise dominate the measurement.
 *
 * Flags: those of contract.ts, plus `--respond`, `--handlers`, `--submit`, `--ordering`, `--loop-stats` (receive) and `--delivery`,
 * `--queue`, `--api payload|send` (send). `--workers`, `--handlers` and `--queue` default to the packages' defaults.
 */
import * as fs from "node:fs"
import { createReceiver } from "@txlane/receiver"
import { createSender } from "@txlane/sender"
import { startLoopStats } from "../lib/loop-stats.js"
import { listening, parse, report, totals } from "./contract.js"
import { payloadPool, transactionPool } from "./pool.js"

// 0 = "not given": the packages' own defaults apply.
const args = parse(process.argv.slice(2), 0)

if (args.role === "receive") {
  const t = totals()
  const expect = args.expectTransactions
  let stopping = false
  const loop = args.loopStats === undefined ? undefined : startLoopStats()
  const count = (transactions: number, bytes: number): void => {
    const now = performance.now()
    if (t.frames === 0) {
      t.firstAt = now
      // The figures cover the traffic (warm-up included), not start-up and the idle wait before it.
      loop?.reset()
    }
    t.lastAt = now
    t.frames++
    t.transactions += transactions
    t.bytes += bytes
    if (expect !== undefined && t.transactions >= expect) setImmediate(stop)
  }
  const receiver = await createReceiver({
    listen: args.listen,
    respond: args.respond === "none" ? "none" : "json",
    handlers: args.handlers,
    // submit keeps no view past settling, so large frames may reuse pooled buffers (what an
    // application with 1 MiB frames would turn on; receiver README, "Payload views").
    reuseFrameBuffers: true,
    ordering: args.ordering,
    submit:
      args.submit === "async"
        ? ({ transactions, payload }) =>
            new Promise((resolve) =>
              setImmediate(() => {
                count(transactions.length, payload.length)
                resolve({ count: transactions.length })
              })
            )
        : ({ transactions, payload }) => {
            count(transactions.length, payload.length)
            return { count: transactions.length }
          }
  })
  const stop = () => {
    if (stopping) return
    stopping = true
    void receiver.close({ timeoutMs: 5_000 }).then(() => {
      if (loop !== undefined && args.loopStats !== undefined)
        fs.writeFileSync(args.loopStats, JSON.stringify(loop.read()))
      report("txlane", "receiver", t)
      process.exit(0)
    })
  }
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
  listening(receiver.address)
  if (expect === 0) stop()
} else {
  const byApi = args.api === "send"
  const payloads = byApi ? [] : payloadPool(args)
  const txLists = byApi ? transactionPool(args) : []
  const acknowledged = args.delivery === "acknowledged"
  const sender = await createSender({
    endpoint: args.endpoint,
    workers: args.workers > 0 ? args.workers : undefined,
    queueCapacity: args.queue,
    delivery: acknowledged ? "acknowledged" : "fire-and-forget",
    // The receiver's --respond, passed on by the bench: no second spent learning a silent one is silent.
    responses: acknowledged ? "auto" : args.respond === "none" ? "none" : "every-frame",
    retries: "unbounded"
  })
  const t = totals()
  let failed = 0
  const window = 2 * (args.queue ?? 1000)
  // Unanswered batches, and a waiter woken when one settles: `Promise.race` over a set of
  // `window` promises would attach `window` handlers per batch (quadratic in the window).
  let pending = 0
  let wake: (() => void) | undefined
  const settled = () => {
    pending--
    const w = wake
    wake = undefined
    w?.()
  }
  const oneSettles = () => new Promise<void>((resolve) => (wake = resolve))
  t.firstAt = performance.now()
  const sendOne = (i: number): Promise<unknown> => {
    if (byApi) return sender.send(txLists[i % txLists.length]!)
    const payload = payloads[i % payloads.length]!
    t.bytes += payload.length
    return sender.sendPayload(payload)
  }
  for (let i = 0; i < args.batches; i++) {
    t.frames++
    if (!acknowledged) {
      await sendOne(i)
      continue
    }
    pending++
    sendOne(i).then(settled, () => {
      failed++
      settled()
    })
    if (pending >= window) await oneSettles()
  }
  while (pending > 0) await oneSettles()
  const closed = await sender.close({ timeoutMs: 30_000 })
  t.lastAt = performance.now()
  t.transactions = args.batches * args.txPerBatch
  const undelivered = failed + closed.undelivered.length + closed.failed
  report("txlane", "sender", t, undelivered)
  process.exit(undelivered === 0 ? 0 : 1)
}
