/**
 * A sender process for the fault runs, on the library API (`createSender`).
 *
 * `node --conditions=txlane-source --import tsx sender.ts '{"endpoint":…,…}'` with, besides any
 * JSON-serialisable `createSender` option:
 * - `batches`, `txPerBatch`, `txSize`, `seed`: the PEERS.md workload to send (`batches: 0`:
 *   keep sending 16 distinct batches over and over until SIGTERM);
 * - `window`: sends outstanding at once (acknowledged mode), default 256.
 *
 * stdout: a `progress` line every 250 ms, then on SIGTERM (stop producing, graceful close) or
 * when every batch is settled a `report` line: batches acknowledged (and the digest of their
 * transactions), failed, undelivered, the sender's close report counts.
 *
 * @module
 */
import { Digest, Workload } from "@txlane/protocol/testing"
import { type CreateSenderOptions, createSender } from "@txlane/sender"
import { Window } from "@txlane/testkit"

interface ChildOptions extends CreateSenderOptions {
  readonly batches?: number
  readonly txPerBatch?: number
  readonly txSize?: number
  readonly seed?: number
  readonly window?: number
}

const {
  batches = 1000,
  txPerBatch = 50,
  txSize = 650,
  seed = 1,
  window = 256,
  ...options
} = JSON.parse(process.argv[2] ?? "{}") as ChildOptions
const write = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)
const sender = await createSender(options)
const acked = Digest.make()
let sent = 0
let settledOk = 0
let settledFailed = 0
let stopping = false
const failures: Record<string, number> = {}

const progress = setInterval(
  () => write({ event: "progress", sent, acked: settledOk, failed: settledFailed, stats: sender.stats() }),
  250
)

const finish = async () => {
  clearInterval(progress)
  const report = await sender.close({ timeoutMs: 10_000 })
  write({
    event: "report",
    role: "sender",
    impl: "ts",
    sent,
    acknowledged: settledOk,
    failed: settledFailed,
    failures,
    digest: acked.value,
    transactions: acked.count,
    close: { ...report, undelivered: report.undelivered.length }
  })
  process.exit(0)
}
process.on("SIGTERM", () => {
  stopping = true
})

const inFlight = new Window.Window(window)
// `batches: 0` (until SIGTERM) cycles through a pool of 16 batches: generating fresh multi-MiB
// batches would cost more than sending them.
const pool = batches === 0 ? [...Workload.batches({ batches: 16, txPerBatch, txSize, seed })] : []
const source =
  batches === 0
    ? (function* () {
        for (let i = 0; ; i++) yield pool[i % pool.length]!
      })()
    : Workload.batches({ batches, txPerBatch, txSize, seed })
produce: for (;;) {
  for (const txs of source) {
    if (stopping) break produce
    // Sends that resolve at once are microtasks: let timers and I/O run now and then.
    if (sent % 64 === 63) await new Promise((r) => setImmediate(r))
    sent++
    const p = sender.send(txs).then(
      () => {
        settledOk++
        if (options.delivery === "acknowledged") acked.addAll(txs)
      },
      (error: { _tag?: string }) => {
        settledFailed++
        const tag = error._tag ?? "Error"
        failures[tag] = (failures[tag] ?? 0) + 1
      }
    )
    await inFlight.add(p)
  }
  break
}
await inFlight.drain()
await finish()
