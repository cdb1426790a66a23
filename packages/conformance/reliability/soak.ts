/**
 * The soak runner: `npm run soak -w @txlane/conformance -- --minutes N [--pairs ts-ts,ts-rust] [--out DIR]`.
 *
 * For each pair, a receiver process (the TypeScript one from `children/receiver.ts`, or the Rust
 * peer) takes sustained acknowledged load from a TypeScript sender in this process (4 workers,
 * 50 × 650 B batches, 256 outstanding). Every second it samples RSS, heap, event-loop delay and
 * throughput of both sides, and at the end writes `soak-PAIR.csv`, `soak-PAIR.svg` (a small plot)
 * and `soak-PAIR.json` (the summary) to DIR (default `reliability/results`).
 *
 * A pair fails (exit code 1) on any loss — the receiver's digest and transaction count must
 * equal those of the batches the sender saw acknowledged — or on a growing memory trend: after
 * a warm-up (a quarter of the run, at least 10 s), the floor (minimum) of a memory series in the last third of the run is compared
 * with its floor in the first third, which ignores GC sawtooth but not a leak.
 *
 * @module
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Digest, Workload } from "@txlane/protocol/testing"
import { createSender } from "@txlane/sender"
import { Window } from "@txlane/testkit"
import { type Child, killAll, rssOf, spawn, startReceiver } from "./lib/process.js"

/** Where the Rust peer's receiver is built (`npm run build:peers -w @txlane/conformance`). */
export const RUST_RECEIVER = Path.join(
  import.meta.dirname,
  "..",
  "peers",
  "rust",
  "target",
  "release",
  "txlane-rust-receiver"
)

export type Pair = "ts-ts" | "ts-rust"

/** One second of a soak. */
export interface Sample {
  readonly t: number
  readonly recvRss: number
  readonly recvHeap: number | undefined
  readonly recvEldP99Ms: number | undefined
  readonly sendRss: number
  readonly sendHeap: number
  readonly sendEldP99Ms: number
  readonly batchesPerS: number
  readonly mbPerS: number
  readonly acked: number
}

/** Growth limits of the floors (see the module doc). */
export const LIMITS = { rss: 48 * 1024 * 1024, heap: 24 * 1024 * 1024 } as const

/** What a soak of one pair found. */
export interface SoakResult {
  readonly pair: Pair
  readonly seconds: number
  readonly batchesAcked: number
  readonly transactionsAcked: number
  readonly receiverTransactions: number
  readonly lostTransactions: number
  readonly digestMatch: boolean
  readonly failedSends: number
  readonly meanBatchesPerS: number
  readonly meanMbPerS: number
  readonly floors: Record<
    string,
    { readonly first: number; readonly last: number; readonly growth: number; readonly limit: number }
  >
  readonly maxEldP99Ms: { readonly receiver: number | undefined; readonly sender: number }
  readonly ok: boolean
  readonly reasons: ReadonlyArray<string>
  readonly files: ReadonlyArray<string>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const startPair = async (pair: Pair, listen: string): Promise<Child> => {
  if (pair === "ts-ts") return startReceiver({ listen, sampleEveryMs: 1000 })
  if (!Fs.existsSync(RUST_RECEIVER))
    throw new Error(`${RUST_RECEIVER} is not built: run npm run build:peers -w @txlane/conformance`)
  const child = spawn(RUST_RECEIVER, ["receive", "--listen", listen, "--respond", "json"], { RUST_LOG: "warn" })
  await child.next("listening")
  return child
}

/** Floor growth of one series between the first and last thirds after warm-up. */
export const floorGrowth = (values: ReadonlyArray<number>) => {
  // Warm-up: V8 and the allocator grow their pools for the first minute of a long run.
  const warm = values.slice(Math.max(Math.min(10, Math.floor(values.length / 3)), Math.floor(values.length / 4)))
  const third = Math.max(1, Math.floor(warm.length / 3))
  const first = Math.min(...warm.slice(0, third))
  const last = Math.min(...warm.slice(-third))
  return { first, last, growth: last - first }
}

/** Runs one pair for `seconds`; writes CSV, SVG and JSON into `outDir`. */
export const soak = async (pair: Pair, seconds: number, outDir: string): Promise<SoakResult> => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txsoak-"))
  const listen = Path.join(dir, "r.sock")
  const receiver = await startPair(pair, listen)
  const sender = await createSender({ endpoint: listen, delivery: "acknowledged", workers: 4, retries: "unbounded" })
  const acked = Digest.make()
  let batchesAcked = 0
  let bytesAcked = 0
  let failedSends = 0
  let running = true
  const inFlight = new Window.Window(256)
  // A fixed pool of distinct batches would repeat transactions and hide loss in the digest: use fresh ones.
  const producer = (async () => {
    let i = 0
    for (const txs of Workload.batches({ batches: Number.MAX_SAFE_INTEGER, txPerBatch: 50, txSize: 650, seed: 2026 })) {
      if (!running) break
      if (++i % 64 === 0) await new Promise((r) => setImmediate(r))
      let size = 0
      for (const tx of txs) size += tx.length
      const p = sender.send(txs).then(
        () => {
          batchesAcked++
          bytesAcked += size
          acked.addAll(txs)
        },
        () => {
          failedSends++
        }
      )
      await inFlight.add(p)
    }
    await inFlight.drain()
  })()

  const eld = monitorEventLoopDelay({ resolution: 10 })
  eld.enable()
  const samples: Array<Sample> = []
  const t0 = Date.now()
  let lastAcked = 0
  let lastBytes = 0
  for (let s = 1; s <= seconds; s++) {
    await sleep(t0 + s * 1000 - Date.now())
    const m = process.memoryUsage()
    const recv = receiver.lines.filter((l) => l.event === "sample").at(-1) as
      | { rss: number; heapUsed: number; eldP99Ms: number }
      | undefined
    samples.push({
      t: s,
      recvRss: pair === "ts-ts" ? (recv?.rss ?? rssOf(receiver.pid)) : rssOf(receiver.pid),
      recvHeap: pair === "ts-ts" ? recv?.heapUsed : undefined,
      recvEldP99Ms: pair === "ts-ts" ? recv?.eldP99Ms : undefined,
      sendRss: m.rss,
      sendHeap: m.heapUsed,
      sendEldP99Ms: eld.percentile(99) / 1e6,
      batchesPerS: batchesAcked - lastAcked,
      mbPerS: (bytesAcked - lastBytes) / 1e6,
      acked: batchesAcked
    })
    eld.reset()
    lastAcked = batchesAcked
    lastBytes = bytesAcked
  }
  running = false
  await producer
  await sender.close({ timeoutMs: 10_000 })
  eld.disable()
  receiver.signal("SIGTERM")
  const report = (await receiver.next("report", 20_000)) as unknown as { transactions: number; digest: string }
  await receiver.exited
  Fs.rmSync(dir, { recursive: true, force: true })

  const reasons: Array<string> = []
  const series: Record<string, { values: Array<number>; limit: number }> = {
    receiverRss: { values: samples.map((s) => s.recvRss), limit: LIMITS.rss },
    senderRss: { values: samples.map((s) => s.sendRss), limit: LIMITS.rss },
    senderHeap: { values: samples.map((s) => s.sendHeap), limit: LIMITS.heap }
  }
  if (pair === "ts-ts") series.receiverHeap = { values: samples.map((s) => s.recvHeap ?? 0), limit: LIMITS.heap }
  const floors: Record<string, { first: number; last: number; growth: number; limit: number }> = {}
  for (const [name, { values, limit }] of Object.entries(series)) {
    const f = floorGrowth(values)
    floors[name] = { ...f, limit }
    if (f.growth > limit)
      reasons.push(`${name} floor grew ${(f.growth / 2 ** 20).toFixed(1)} MiB (limit ${limit / 2 ** 20} MiB)`)
  }
  const lost = acked.count - report.transactions
  const digestMatch = report.digest === acked.value
  if (failedSends > 0) reasons.push(`${failedSends} sends failed`)
  if (lost !== 0) reasons.push(`receiver has ${report.transactions} transactions, ${acked.count} were acknowledged`)
  if (!digestMatch) reasons.push(`digest ${report.digest} != acknowledged ${acked.value}`)
  if (batchesAcked === 0) reasons.push("nothing was acknowledged")
  const valid = samples.filter((s) => s.recvEldP99Ms !== undefined).map((s) => s.recvEldP99Ms!)
  const result: SoakResult = {
    pair,
    seconds,
    batchesAcked,
    transactionsAcked: acked.count,
    receiverTransactions: report.transactions,
    lostTransactions: lost,
    digestMatch,
    failedSends,
    meanBatchesPerS: Math.round(batchesAcked / seconds),
    meanMbPerS: Math.round(bytesAcked / 1e6 / seconds),
    floors,
    maxEldP99Ms: {
      receiver: valid.length > 0 ? Math.max(...valid) : undefined,
      sender: Math.max(...samples.map((s) => s.sendEldP99Ms))
    },
    ok: reasons.length === 0,
    reasons,
    files: []
  }
  Fs.mkdirSync(outDir, { recursive: true })
  const base = Path.join(outDir, `soak-${pair}`)
  Fs.writeFileSync(`${base}.csv`, toCsv(samples))
  Fs.writeFileSync(`${base}.svg`, toSvg(pair, samples))
  const files = [`${base}.csv`, `${base}.svg`, `${base}.json`]
  const withFiles = { ...result, files }
  Fs.writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ ...withFiles, date: new Date().toISOString(), node: process.version, cpus: Os.cpus().length, cpu: Os.cpus()[0]?.model }, null, 2)}\n`
  )
  return withFiles
}

const MiB = (n: number | undefined) => (n === undefined ? "" : (n / 2 ** 20).toFixed(2))

const toCsv = (samples: ReadonlyArray<Sample>): string =>
  `${[
    "t_s,recv_rss_mib,recv_heap_mib,recv_eld_p99_ms,send_rss_mib,send_heap_mib,send_eld_p99_ms,batches_per_s,mb_per_s,acked_total",
    ...samples.map((s) =>
      [
        s.t,
        MiB(s.recvRss),
        MiB(s.recvHeap),
        s.recvEldP99Ms?.toFixed(2) ?? "",
        MiB(s.sendRss),
        MiB(s.sendHeap),
        s.sendEldP99Ms.toFixed(2),
        s.batchesPerS,
        s.mbPerS.toFixed(1),
        s.acked
      ].join(",")
    )
  ].join("\n")}\n`

/** A 720 × 420 SVG: memory (MiB) on top, throughput (batches/s) below, over time (s). */
const toSvg = (pair: Pair, samples: ReadonlyArray<Sample>): string => {
  const W = 720
  const left = 60
  const right = W - 150
  const panel = (
    top: number,
    height: number,
    lines: Array<{ name: string; color: string; values: Array<number | undefined> }>,
    unit: string
  ) => {
    const all = lines.flatMap((l) => l.values.filter((v): v is number => v !== undefined))
    const max = Math.max(1, ...all) * 1.1
    const tMax = Math.max(1, samples.length)
    const x = (i: number) => left + ((i + 1) / tMax) * (right - left)
    const y = (v: number) => top + height - (v / max) * height
    const parts = [
      `<rect x="${left}" y="${top}" width="${right - left}" height="${height}" fill="none" stroke="#999"/>`,
      `<text x="${left - 6}" y="${top + 10}" text-anchor="end" font-size="10">${max.toFixed(0)}</text>`,
      `<text x="${left - 6}" y="${top + height}" text-anchor="end" font-size="10">0</text>`,
      `<text x="12" y="${top + height / 2}" font-size="11" transform="rotate(-90 12 ${top + height / 2})" text-anchor="middle">${unit}</text>`
    ]
    lines.forEach((l, k) => {
      const pts = l.values
        .flatMap((v, i) => (v === undefined ? [] : [`${x(i).toFixed(1)},${y(v).toFixed(1)}`]))
        .join(" ")
      if (pts.length > 0) parts.push(`<polyline fill="none" stroke="${l.color}" stroke-width="1.5" points="${pts}"/>`)
      parts.push(`<rect x="${right + 12}" y="${top + 6 + k * 16}" width="10" height="3" fill="${l.color}"/>`)
      parts.push(`<text x="${right + 26}" y="${top + 10 + k * 16}" font-size="11">${l.name}</text>`)
    })
    return parts.join("\n")
  }
  const mem = (f: (s: Sample) => number | undefined) =>
    samples.map((s) => (f(s) === undefined ? undefined : f(s)! / 2 ** 20))
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="420" font-family="sans-serif">
<text x="${left}" y="18" font-size="13">txlane soak ${pair}: ${samples.length} s, memory and throughput, 1 s samples</text>
${panel(
  32,
  200,
  [
    { name: "receiver RSS", color: "#d62728", values: mem((s) => s.recvRss) },
    { name: "receiver heap", color: "#ff9896", values: mem((s) => s.recvHeap) },
    { name: "sender RSS", color: "#1f77b4", values: mem((s) => s.sendRss) },
    { name: "sender heap", color: "#aec7e8", values: mem((s) => s.sendHeap) }
  ],
  "MiB"
)}
${panel(260, 120, [{ name: "batches/s acked", color: "#2ca02c", values: samples.map((s) => s.batchesPerS) }], "batches/s")}
<text x="${(left + right) / 2}" y="410" font-size="11" text-anchor="middle">time (s)</text>
</svg>
`
}

const parseArgs = (argv: ReadonlyArray<string>) => {
  let seconds = 60
  let pairs: Array<Pair> = ["ts-ts", "ts-rust"]
  let out = Path.join(import.meta.dirname, "results")
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]]
    if (value === undefined) throw new Error(`missing value for ${flag}`)
    if (flag === "--minutes") seconds = Math.round(Number(value) * 60)
    else if (flag === "--seconds") seconds = Number(value)
    else if (flag === "--pairs") pairs = value.split(",") as Array<Pair>
    else if (flag === "--out") out = Path.resolve(value)
    else throw new Error(`unknown flag ${flag} (--minutes N | --seconds N, --pairs ts-ts,ts-rust, --out DIR)`)
  }
  if (!Number.isInteger(seconds) || seconds < 10) throw new Error("a soak lasts at least 10 seconds")
  for (const p of pairs) if (p !== "ts-ts" && p !== "ts-rust") throw new Error(`unknown pair ${p}`)
  return { seconds, pairs, out }
}

const main = async () => {
  const { seconds, pairs, out } = parseArgs(process.argv.slice(2))
  let ok = true
  for (const pair of pairs) {
    console.error(`soak: ${pair} for ${seconds} s`)
    const result = await soak(pair, seconds, out)
    console.log(JSON.stringify({ event: "soak", ...result }))
    if (!result.ok) {
      ok = false
      console.error(`soak ${pair} FAILED: ${result.reasons.join("; ")}`)
    }
  }
  killAll()
  process.exit(ok ? 0 : 1)
}

if (import.meta.filename === Path.resolve(process.argv[1] ?? "")) await main()
