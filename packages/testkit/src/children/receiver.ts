/**
 * The kit's receiver child: a `createReceiver` in its own process, so that its RSS and file
 * descriptors are the receiver's alone, and so that a test can SIGKILL it.
 *
 * `node --conditions=txlane-source --import tsx receiver.ts '{"listen":…,…}'` with, besides any
 * JSON-serialisable `createReceiver` option:
 * - `record`: file to append every accepted frame to (4-byte BE length + payload, one `write`
 *   per frame, `O_APPEND`) *before* `submit` returns, i.e. before the frame is answered: what
 *   the receiver answered survives a SIGKILL, which may tear only the last, unanswered frame
 *   (the torn-tail rule of the conformance harness's `Expected.readRecord`);
 * - `sampleEveryMs`: print a `sample` line (memory, event-loop delay, counters) this often;
 * - `closeTimeoutMs`: the graceful close's deadline (default 10 s).
 *
 * stdout, one JSON object per line: `listening`, `sample`, `stats` (answer to a `stats` stdin
 * line: `Receiver.Stats` plus frames, transactions, memory and open fds), `stalled`/`resumed`
 * (answers to `stall MS`: `submit` then blocks that long), and a final `report` after the
 * graceful close that SIGTERM, `close` on stdin or the end of stdin (the parent died) starts.
 *
 * @module
 */
import * as Fs from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as Readline from "node:readline"
import { FrameEncoder } from "@txlane/protocol"
import { Digest } from "@txlane/protocol/testing"
import { type CreateReceiverOptions, createReceiver } from "@txlane/receiver"

interface ChildOptions extends Omit<CreateReceiverOptions, "submit"> {
  readonly record?: string
  readonly sampleEveryMs?: number
  readonly closeTimeoutMs?: number
}

const {
  record,
  sampleEveryMs,
  closeTimeoutMs = 10_000,
  ...options
} = JSON.parse(process.argv[2] ?? "{}") as ChildOptions
const write = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)
const recordFd = record === undefined ? undefined : Fs.openSync(record, "a")
const digest = Digest.make()
let frames = 0
let transactions = 0
let gate: Promise<void> | undefined
let openGate: (() => void) | undefined

const receiver = await createReceiver({
  logLevel: "none",
  ...options,
  submit: async ({ transactions: txs, payload }) => {
    if (gate !== undefined) await gate
    if (recordFd !== undefined) Fs.writeSync(recordFd, FrameEncoder.concat([payload]))
    digest.addAll(txs)
    frames++
    transactions += txs.length
    return { count: txs.length }
  }
})
write({ event: "listening", endpoint: receiver.address, pid: process.pid })

const eld = monitorEventLoopDelay({ resolution: 10 })
eld.enable()
const sampler =
  sampleEveryMs === undefined
    ? undefined
    : setInterval(() => {
        const m = process.memoryUsage()
        const s = receiver.stats()
        write({
          event: "sample",
          t: Date.now(),
          rss: m.rss,
          heapUsed: m.heapUsed,
          arrayBuffers: m.arrayBuffers,
          eldP99Ms: eld.percentile(99) / 1e6,
          eldMaxMs: eld.max / 1e6,
          frames,
          transactions,
          bufferedBytes: s.bufferedBytes,
          connectionsOpen: s.connectionsOpen
        })
        eld.reset()
      }, sampleEveryMs)

let closing = false
const close = async () => {
  if (closing) return
  closing = true
  if (sampler !== undefined) clearInterval(sampler)
  openGate?.()
  const shutdown = await receiver.close({ timeoutMs: closeTimeoutMs })
  const s = receiver.stats()
  write({
    event: "report",
    role: "receiver",
    impl: "ts",
    frames,
    transactions,
    digest: digest.value,
    shutdown,
    errors: s.errors
  })
  if (recordFd !== undefined) Fs.closeSync(recordFd)
  process.exit(0)
}
process.on("SIGTERM", close)
process.on("SIGINT", close)
const lines = Readline.createInterface({ input: process.stdin })
lines.on("line", (line) => {
  const [command, arg] = line.split(" ")
  if (command === "stats") {
    const memory = process.memoryUsage()
    write({
      event: "stats",
      ...receiver.stats(),
      frames,
      transactions,
      rss: memory.rss,
      memory,
      fds: Fs.readdirSync("/proc/self/fd").length
    })
  } else if (command === "stall") {
    gate = new Promise((resolve) => {
      openGate = resolve
    })
    const ms = Number(arg)
    setTimeout(() => {
      openGate?.()
      gate = undefined
      write({ event: "resumed" })
    }, ms)
    write({ event: "stalled", ms })
  } else if (command === "close") void close()
})
lines.on("close", close)
