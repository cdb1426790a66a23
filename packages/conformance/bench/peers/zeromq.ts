/**
 * zeromq.js PUSH/PULL over `ipc://`: what a Node user would pick instead of txlane, written as
 * the zeromq.js README shows (`await push.send(msg)` in a loop, `for await` on the pull side).
 * One message per batch (the `Transactions` payload); the receiver decodes it like txlane does.
 *
 * The endpoint is a Unix path; zeromq gets `ipc://PATH`. `--loop-stats FILE` (receive) writes the
 * receiver's event-loop and GC figures there on exit, from its first message on.
 */
import * as fs from "node:fs"
import { Endpoint, Envelope } from "@txlane/protocol"
import { Result } from "effect"
import * as zmq from "zeromq"
import { startLoopStats } from "../lib/loop-stats.js"
import { listening, parse, report, totals } from "./contract.js"
import { payloadPool } from "./pool.js"

const args = parse(process.argv.slice(2), 1)
const ipc = (text: string) => {
  const endpoint = Result.getOrThrow(Endpoint.parse(text))
  if (endpoint._tag !== "Unix") throw new Error("the zeromq baseline runs over ipc:// (a Unix path) only")
  return `ipc://${endpoint.path}`
}

if (args.role === "receive") {
  const t = totals()
  const loop = args.loopStats === undefined ? undefined : startLoopStats()
  const pull = new zmq.Pull({ receiveHighWaterMark: 1000 })
  await pull.bind(ipc(args.listen))
  const finish = () => {
    if (loop !== undefined && args.loopStats !== undefined)
      fs.writeFileSync(args.loopStats, JSON.stringify(loop.read()))
    report("zeromq", "receiver", t)
    process.exit(0)
  }
  process.on("SIGTERM", finish)
  listening(args.listen)
  for await (const [message] of pull) {
    if (message === undefined) continue
    if (t.frames === 0) {
      t.firstAt = performance.now()
      loop?.reset()
    }
    const txs = Envelope.decode(message)
    t.frames++
    t.bytes += message.length
    if (Result.isSuccess(txs)) t.transactions += txs.success.length
    t.lastAt = performance.now()
    if (args.expectTransactions !== undefined && t.transactions >= args.expectTransactions) finish()
  }
} else {
  const payloads = payloadPool(args) // bounded, cycled: batch i is payloads[i % payloads.length]
  const t = totals()
  const push = new zmq.Push({ sendHighWaterMark: 1000 })
  push.connect(ipc(args.endpoint))
  t.firstAt = performance.now()
  for (let i = 0; i < args.batches; i++) {
    const payload = payloads[i % payloads.length]!
    await push.send(payload)
    t.frames++
    t.bytes += payload.length
  }
  t.lastAt = performance.now()
  t.transactions = args.batches * args.txPerBatch
  report("zeromq", "sender", t)
  // No process.exit: closing with a linger lets zeromq's I/O thread flush what is still queued
  // before the process ends on its own.
  push.linger = 10_000
  push.close()
}
