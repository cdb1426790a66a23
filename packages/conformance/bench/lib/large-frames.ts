/**
 * The 1 MiB-frame scenario (issue #14), receiver side: how fast each receiver takes 1 MiB
 * frames and how much of its CPU the garbage collector costs.
 *
 * ```
 * node --conditions=txlane-source --import tsx bench/lib/large-frames.ts \
 *   [--rounds 3] [--batches 2000] [--receiver-flags "--max-semi-space-size=…"] [--only txlane,raw→txlane]
 * ```
 *
 * Rows, run round-robin so that every row of a round shares the machine's conditions:
 * - `txlane` — txlane sender → txlane receiver (the BENCHMARKS.md "large" row);
 * - `raw→txlane` — the raw pump sender → txlane receiver: the receiver alone, same sender as `raw`;
 * - `raw` — raw pump → raw receiver (`FrameDecoder` + `Envelope.decode`, nothing else);
 * - `zeromq` — zeromq.js PUSH/PULL.
 *
 * Every receiver runs with a GC probe (`PerformanceObserver('gc')`, preloaded) that reports the
 * main thread's GC pause time; "GC share" is that time over the receiver's CPU time (user + system,
 * from its report line). Throughput is the receiver's frames over its first→last frame.
 * Prints one JSON line per cell and a median table at the end.
 *
 * @module
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { createReceiver } from "@txlane/receiver"
import { listening, parse, report, totals } from "../peers/contract.js"
import { tsArgv } from "./plan.js"

async function receiveWithTxlane(argv: ReadonlyArray<string>): Promise<never> {
  const args = parse(argv, 0)
  const t = totals()
  const receiver = await createReceiver({
    listen: args.listen,
    respond: "none",
    // submit keeps no view past settling, so the frame pool is safe here (and is what this row measures).
    reuseFrameBuffers: true,
    submit: ({ transactions, payload }) => {
      const now = performance.now()
      if (t.frames === 0) t.firstAt = now
      t.lastAt = now
      t.frames++
      t.transactions += transactions.length
      t.bytes += payload.length
      if (args.expectTransactions !== undefined && t.transactions >= args.expectTransactions) setImmediate(stop)
      return { count: transactions.length }
    }
  })
  const stop = () =>
    void receiver.close({ timeoutMs: 5_000 }).then(() => {
      report("txlane", "receiver", t)
      process.exit(0)
    })
  listening(receiver.address)
  return new Promise<never>(() => undefined)
}

// This file is also the txlane receiver of the `raw→txlane` row (`large-frames.ts receive …`):
// `bench/peers/txlane.ts` imports the sender too, and this row measures the receiver alone.
if (process.argv[2] === "receive") {
  await receiveWithTxlane(process.argv.slice(2))
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rounds: { type: "string", default: "3" },
    batches: { type: "string", default: "2000" },
    "receiver-flags": { type: "string", default: "" },
    only: { type: "string" }
  }
})
const rounds = Number(values.rounds)
const batches = Number(values.batches)
const receiverFlags = values["receiver-flags"].split(" ").filter((s) => s.length > 0)
// The BENCHMARKS.md "large" workload: 1024 × 1020 B transactions (a 1,047,552-byte payload).
const workload = ["--tx-per-batch", "1024", "--tx-size", "1020"]

// Sums GC pause time on the main thread and writes it to $TXLANE_GC_PROBE when the process exits.
const probe = `data:text/javascript,${encodeURIComponent(`
import { PerformanceObserver } from "node:perf_hooks"
import { writeFileSync } from "node:fs"
let ms = 0, count = 0, major = 0
new PerformanceObserver((list) => { for (const e of list.getEntries()) { ms += e.duration; count++; if (e.detail?.kind === 4 || e.detail?.kind === 2) major += e.duration } }).observe({ entryTypes: ["gc"] })
process.on("exit", () => writeFileSync(process.env.TXLANE_GC_PROBE, JSON.stringify({ ms, count, majorMs: major })))
`)}`

interface Row {
  readonly name: string
  readonly sender: string
  readonly receiver: string
}
const rows: ReadonlyArray<Row> = [
  { name: "txlane", sender: "txlane.ts", receiver: "txlane.ts" },
  { name: "raw→txlane", sender: "raw.ts", receiver: "../lib/large-frames.ts" },
  { name: "raw", sender: "raw.ts", receiver: "raw.ts" },
  { name: "zeromq", sender: "zeromq.ts", receiver: "zeromq.ts" }
].filter((r) => values.only === undefined || values.only.split(",").includes(r.name))

interface Cell {
  readonly row: string
  readonly round: number
  readonly gbPerSec: number
  readonly framesPerSec: number
  readonly receiverCpuMs: number
  readonly gcMs: number
  readonly gcShare: number
  readonly gcCount: number
  readonly maxRssMb: number
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "txl-large-"))

const lines = (child: ReturnType<typeof spawn>, onLine: (line: string) => void) => {
  let buffered = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString()
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      onLine(buffered.slice(0, i))
      buffered = buffered.slice(i + 1)
    }
  })
}

const runCell = (row: Row, round: number, id: number): Promise<Cell> =>
  new Promise((resolve, reject) => {
    const listen = path.join(tmp, `c${id}.sock`)
    const gcFile = path.join(tmp, `c${id}.gc.json`)
    const [node, ...rest] = tsArgv(path.join("peers", row.receiver))
    const receiver = spawn(
      node!,
      [
        ...receiverFlags,
        "--import",
        probe,
        ...rest,
        "receive",
        "--listen",
        listen,
        "--respond",
        "none",
        "--expect-transactions",
        String(batches * 1024)
      ],
      { env: { ...process.env, TXLANE_GC_PROBE: gcFile }, stdio: ["ignore", "pipe", "inherit"] }
    )
    let report: Record<string, number> | undefined
    lines(receiver, (line) => {
      // Anything else on stdout (`--trace-gc` writes there) goes to stderr.
      if (!line.startsWith("{")) return void process.stderr.write(`${line}\n`)
      const event = JSON.parse(line) as { event: string; endpoint?: string }
      if (event.event === "listening") {
        const sender = spawn(
          process.execPath,
          [
            ...tsArgv(path.join("peers", row.sender)).slice(1),
            "send",
            "--endpoint",
            event.endpoint!,
            "--batches",
            String(batches),
            ...workload,
            "--respond",
            "none"
          ],
          { stdio: ["ignore", "ignore", "inherit"] }
        )
        sender.on("exit", (code) => {
          if (code !== 0) reject(new Error(`${row.sender} sender exited with ${code}`))
        })
      } else if (event.event === "report") {
        report = event as unknown as Record<string, number>
      }
    })
    receiver.on("exit", () => {
      if (report === undefined) return reject(new Error(`${row.name}: no report from the receiver`))
      const gc = JSON.parse(fs.readFileSync(gcFile, "utf8")) as { ms: number; count: number }
      const seconds = Math.max(report.elapsedMs!, 1) / 1000
      const cpu = report.cpuUserMs! + report.cpuSystemMs!
      resolve({
        row: row.name,
        round,
        gbPerSec: Math.round((report.bytes! / seconds / 1e9) * 100) / 100,
        framesPerSec: Math.round(report.frames! / seconds),
        receiverCpuMs: Math.round(cpu),
        gcMs: Math.round(gc.ms),
        gcShare: Math.round((gc.ms / cpu) * 1000) / 10,
        gcCount: gc.count,
        maxRssMb: Math.round(report.maxRssKb! / 1024)
      })
    })
  })

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const cells: Array<Cell> = []
let id = 0
for (let round = 1; round <= rounds; round++) {
  for (const row of rows) {
    const cell = await runCell(row, round, ++id)
    cells.push(cell)
    process.stdout.write(`${JSON.stringify(cell)}\n`)
  }
}
fs.rmSync(tmp, { recursive: true, force: true })
process.stdout.write(
  `\nload average at the end: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ")}\n`
)
process.stdout.write(
  "| row | GB/s | frames/s | receiver CPU ms | GC % of receiver CPU | receiver RSS MiB |\n|---|--:|--:|--:|--:|--:|\n"
)
for (const row of rows) {
  const mine = cells.filter((c) => c.row === row.name)
  process.stdout.write(
    `| ${row.name} | ${median(mine.map((c) => c.gbPerSec))} | ${median(mine.map((c) => c.framesPerSec))} | ${median(mine.map((c) => c.receiverCpuMs))} | ${median(mine.map((c) => c.gcShare))} | ${median(mine.map((c) => c.maxRssMb))} |\n`
  )
}
