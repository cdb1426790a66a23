/**
 * The acknowledged-latency probe: `createSender({ delivery: "acknowledged" })` driven by an
 * open-loop, rate-limited producer, with every batch's latency recorded in an HDR histogram.
 *
 * ```
 * latency-sender.ts --endpoint ENDPOINT --rate N|0 [--duration-ms D] [--warmup-ms W]
 *     [--tx-per-batch K] [--tx-size S] [--seed X] [--workers N] [--window N]
 *     [--api payload|send|raw|raw-send]
 *     [--trace FILE]
 * ```
 *
 * `--api payload` (default) hands pre-encoded payloads to `sendPayload`; `--api send` hands
 * transaction lists to `send(transactions)`, which encodes the envelope on every call; `--api raw`
 * hands pre-encoded payloads to a plain `node:net` client instead of a txlane sender
 * (lib/raw-client.ts): the floor of a Node sender, measured the same way; `--api raw-send` hands
 * that client transaction lists, and it encodes each envelope: the floor for `send`.
 *
 * - `--rate N > 0` (open loop): batch `i` is *scheduled* at `start + i / N`; it is sent as soon as
 *   the producer gets there, and its latency is `ack time − scheduled time`. A producer that falls
 *   behind (a stall in the sender, the event loop or the receiver) therefore shows up in the
 *   histogram instead of silently lowering the offered load: no coordinated omission. The
 *   service time (`ack − actual send`) is reported alongside for comparison. A worker thread
 *   paces the producer (lib/pacer.ts): the main thread sleeps between batches like a real
 *   producer's, instead of spinning a core the receiver needs.
 * - `--rate 0` (saturation, closed loop): `--window` batches are kept unanswered at all times;
 *   latency is measured from the `send` call. Throughput is what the pipeline sustains.
 *
 * Batches sent during the first `--warmup-ms` are not recorded (JIT, connection setup). The
 * process's event-loop delay and GC pauses (lib/loop-stats.ts) are reported over the same
 * recorded window, as `loop`. Writes one
 * JSON object (`{"event":"latency", …}`, percentiles in microseconds) to `--out FILE`, or to
 * stdout without it (the runner's process wrapper only accepts PEERS.md lines on stdout).
 *
 * `--trace FILE` also writes every recorded batch, for lining latency up with another process's
 * events (e.g. a receiver's `--trace-gc`): `{"origin": epoch ms of the recording start,
 * "batches": [scheduled ms after origin, latency ms, service ms, …]}` (bench/PROFILE.md).
 */
import * as fs from "node:fs"
import { parseArgs } from "node:util"
import { createSender } from "@txlane/sender"
import * as hdr from "hdr-histogram-js"
import { startLoopStats } from "./lib/loop-stats.js"
import { startPacer } from "./lib/pacer.js"
import { rawClient } from "./lib/raw-client.js"
import { payloadPool, transactionPool } from "./peers/pool.js"

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    endpoint: { type: "string" },
    rate: { type: "string", default: "1000" },
    "duration-ms": { type: "string", default: "2000" },
    "warmup-ms": { type: "string", default: "300" },
    "tx-per-batch": { type: "string", default: "50" },
    "tx-size": { type: "string", default: "650" },
    seed: { type: "string", default: "1" },
    workers: { type: "string" },
    window: { type: "string", default: "64" },
    "max-outstanding": { type: "string", default: "100000" },
    api: { type: "string", default: "payload" },
    out: { type: "string" },
    trace: { type: "string" }
  }
})
if (values.api !== "payload" && values.api !== "send" && values.api !== "raw" && values.api !== "raw-send") {
  process.stderr.write("latency-sender: --api must be payload, send, raw or raw-send\n")
  process.exit(2)
}
const byApi = values.api === "send" || values.api === "raw-send"
if (values.endpoint === undefined) {
  process.stderr.write("latency-sender: --endpoint is required\n")
  process.exit(2)
}
const rate = Number(values.rate)
const durationMs = Number(values["duration-ms"])
const warmupMs = Number(values["warmup-ms"])
const window = Number(values.window)
const maxOutstanding = Number(values["max-outstanding"])
const txPerBatch = Number(values["tx-per-batch"])

// Enough distinct payloads for a second at 50k/s would be 50k × 32 KiB: the pool cycles instead.
const poolArgs = { seed: BigInt(values.seed), batches: 4096, txPerBatch, txSize: Number(values["tx-size"]) }
const payloads = byApi ? [] : payloadPool(poolArgs)
const txLists = byApi ? transactionPool(poolArgs) : []
const sender =
  values.api === "raw" || values.api === "raw-send"
    ? await rawClient(values.endpoint)
    : await createSender({
        endpoint: values.endpoint,
        delivery: "acknowledged",
        workers: values.workers === undefined ? undefined : Number(values.workers),
        // The producer never lets more than maxOutstanding batches wait: the queue must not refuse them.
        queueCapacity: Math.max(1000, rate > 0 ? maxOutstanding : window),
        retries: "unbounded"
      })

// Nanoseconds, 3 significant digits, up to an hour.
const histogram = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 3_600_000_000_000,
  numberOfSignificantValueDigits: 3
})
const service = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 3_600_000_000_000,
  numberOfSignificantValueDigits: 3
})
const toNs = (ms: number): number => Math.max(1, Math.round(ms * 1e6))

let sent = 0
// --trace: three numbers per recorded batch (see the module comment).
const trace: Array<number> | undefined = values.trace === undefined ? undefined : []
let acked = 0
let failed = 0
let outstanding = 0
let maxSeenOutstanding = 0
let stalled = 0
let recordedFirstAt = 0
let recordedLastAt = 0
let recordedAcked = 0
const errors: Record<string, number> = {}

const startAt = performance.now() + 50
const recordFrom = startAt + warmupMs
const stopAt = recordFrom + durationMs

const loop = startLoopStats()
let loopReset = false

const sendOne = (scheduledAt: number, onDone?: () => void): void => {
  const i = sent
  sent++
  outstanding++
  if (outstanding > maxSeenOutstanding) maxSeenOutstanding = outstanding
  const sentAt = performance.now()
  const record = scheduledAt >= recordFrom
  if (record && !loopReset) {
    loopReset = true
    loop.reset()
  }
  const done = byApi ? sender.send(txLists[i % txLists.length]!) : sender.sendPayload(payloads[i % payloads.length]!)
  done.then(
    () => {
      const now = performance.now()
      outstanding--
      acked++
      if (record) {
        trace?.push(scheduledAt - recordFrom, now - scheduledAt, now - sentAt)
        histogram.recordValue(toNs(now - scheduledAt))
        service.recordValue(toNs(now - sentAt))
        if (recordedFirstAt === 0) recordedFirstAt = now
        recordedLastAt = now
        recordedAcked++
      }
      onDone?.()
    },
    (error: unknown) => {
      outstanding--
      failed++
      const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "Error"
      errors[tag] = (errors[tag] ?? 0) + 1
      onDone?.()
    }
  )
}

const produced = new Promise<void>((resolve) => {
  if (rate > 0) {
    // Open loop: batch i is due at startAt + i * interval.
    const interval = 1000 / rate
    let i = 0
    let finished = false
    const tick = () => {
      if (finished) return
      const now = performance.now()
      while (startAt + i * interval <= now) {
        const due = startAt + i * interval
        if (due >= stopAt) {
          finished = true
          void pacer.stop()
          return resolve()
        }
        if (outstanding >= maxOutstanding) {
          stalled++
          break
        }
        sendOne(due)
        i++
      }
    }
    // It ticks until stopped: a tick that found the window full must be followed by another.
    const pacer = startPacer({ startAt, intervalMs: interval, stopAt: Number.POSITIVE_INFINITY, onTick: tick })
  } else {
    // Closed loop: keep `window` batches unanswered until stopAt.
    const next = () => {
      const now = performance.now()
      if (now >= stopAt) {
        if (outstanding === 0) resolve()
        return
      }
      sendOne(now, next)
    }
    setTimeout(
      () => {
        for (let w = 0; w < window; w++) next()
      },
      Math.max(0, startAt - performance.now())
    )
  }
})
await produced
const loopFigures = loop.read()
loop.stop()
const drainDeadline = performance.now() + 30_000
while (outstanding > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 5))
const closed = await sender.close({ timeoutMs: 5_000 })
const us = (ns: number): number => Math.round(ns / 10) / 100
const elapsedS = Math.max(1e-9, (recordedLastAt - recordedFirstAt) / 1000)
const result = `${JSON.stringify({
  event: "latency",
  mode: rate > 0 ? "open-loop" : "saturation",
  offeredRate: rate,
  achievedRate: Math.round(recordedAcked / elapsedS),
  recorded: histogram.totalCount,
  sent,
  acknowledged: acked,
  failed,
  undelivered: outstanding + closed.undelivered.length,
  stalled,
  maxOutstanding: maxSeenOutstanding,
  p50Us: us(histogram.getValueAtPercentile(50)),
  p99Us: us(histogram.getValueAtPercentile(99)),
  p999Us: us(histogram.getValueAtPercentile(99.9)),
  maxUs: us(histogram.maxValue),
  meanUs: us(histogram.mean),
  serviceP50Us: us(service.getValueAtPercentile(50)),
  serviceP99Us: us(service.getValueAtPercentile(99)),
  serviceP999Us: us(service.getValueAtPercentile(99.9)),
  loop: loopFigures,
  errors
})}\n`
if (values.trace !== undefined) {
  fs.writeFileSync(values.trace, JSON.stringify({ origin: performance.timeOrigin + recordFrom, batches: trace }))
}
if (values.out === undefined) process.stdout.write(result)
else fs.writeFileSync(values.out, result)
process.exit(failed === 0 ? 0 : 1)
