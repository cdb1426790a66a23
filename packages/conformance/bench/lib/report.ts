/**
 * The results of a run (the JSON written to `bench/results/latest.json`) and their renderings:
 * BENCHMARKS.md and the SVG chart. The targets and recommended defaults are judged in judge.ts,
 * the deployed-peers section is rendered by deployed.ts.
 *
 * @module
 */
import { DEPLOYED_HEADING, renderDeployed } from "./deployed.js"
import { int, mb, num, usage } from "./format.js"
import { LATENCY_HEADING, type LatencyResult, renderLatency } from "./latency.js"
import type { CellResult, Machine } from "./measure.js"
import { currentDefaults, workloads } from "./plan.js"
import { renderUserPath, USER_PATH_HEADING } from "./userpath.js"

export const SCHEMA = "txlane-bench/1"

export type TargetStatus = "met" | "missed" | "n/a"

export interface Target {
  readonly id: string
  readonly description: string
  readonly figure: string
  readonly status: TargetStatus
}

export interface Recommendation {
  readonly value: number
  readonly current: number
  readonly why: string
}

export interface Results {
  readonly schema: typeof SCHEMA
  readonly quick: boolean
  readonly only: ReadonlyArray<string> | null
  readonly startedAt: string
  readonly finishedAt: string
  readonly durationS: number
  readonly machine: Machine
  readonly workloads: ReadonlyArray<{
    readonly id: string
    readonly label: string
    readonly txPerBatch: number
    readonly txSize: number
    readonly payloadBytes: number
  }>
  /** Start-up CPU (ms, user+sys) per `impl/role`, subtracted from the cells' CPU figures. */
  readonly startupCpuMs: Readonly<Record<string, number>>
  /** Fire-and-forget cells: sections `pairings` and `transports`. */
  readonly throughput: ReadonlyArray<CellResult>
  /** Fire-and-forget sweep cells (section `sweeps`, `params` holds the swept value). */
  readonly sweeps: ReadonlyArray<CellResult>
  /** Section `deployed` (deployed.ts): every row × round, `params.round` numbers the round. */
  readonly deployed: ReadonlyArray<CellResult>
  /** Section `userpath` (userpath.ts): every row × round, `params.round` numbers the round. */
  readonly userPath: ReadonlyArray<CellResult>
  /** Acknowledged saturation throughput by `workers` (latency sender, closed loop). */
  readonly ackSweep: ReadonlyArray<LatencyResult>
  readonly latency: ReadonlyArray<LatencyResult>
  readonly recommended: {
    readonly workers: Recommendation
    readonly handlers: Recommendation
    readonly queue: Recommendation
  }
  readonly targets: ReadonlyArray<Target>
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** Headings every BENCHMARKS.md has (the quick-run test checks them). */
export const REPORT_HEADINGS = [
  "# txlane benchmarks",
  "## Machine",
  "## Targets",
  "## Throughput: cross-implementation pairings",
  "## Throughput: txlane vs the alternatives",
  USER_PATH_HEADING,
  DEPLOYED_HEADING,
  LATENCY_HEADING,
  "## Sweeps",
  "## Recommended defaults and tuning guide",
  "## Method"
] as const

const PAIRING_NOTE =
  "Conformance peers (`src/harness/Peers.ts`): every sender generates the deterministic workload as it sends and every peer SHA-256-digests each transaction (PEERS.md), so these rows compare implementations doing the same work, including that per-transaction hashing."

const TRANSPORT_NOTE =
  "Benchmark peers (`bench/peers/`): each sender cycles a pool of pre-encoded payloads and each receiver decodes every frame's envelope and counts — no digest — so these rows compare transports and nothing else. `txlane` is `@txlane/sender` → `@txlane/receiver` with their defaults; `raw` is a corked `node:net` pump with the protocol's decoder (1 connection); `zeromq` is zeromq.js PUSH/PULL over `ipc://` as its docs show; `legacy` is the replaced design (pool of 10 TCP connections, one borrowed per send, 1 ms sleep) against the raw receiver over TCP."

const throughputTable = (rows: ReadonlyArray<CellResult>): Array<string> => {
  const out = [
    "| pairing | workload | batches/s | tx/s | MB/s | sender CPU µs/batch | receiver CPU µs/batch | sender RSS MiB | receiver RSS MiB | batches |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
  ]
  for (const r of rows) {
    if (r.status !== "ok") {
      out.push(
        `| ${r.pairing} | ${r.workload} | ${r.status}: ${(r.reason ?? "").replaceAll("|", "/").slice(0, 160)} | | | | | | | ${int(r.batches)} |`
      )
      continue
    }
    out.push(
      `| ${r.pairing} | ${r.workload} | ${int(r.batchesPerSec)} | ${int(r.txPerSec)} | ${num(r.mbPerSec)} | ${usage(r.senderCpuUsPerBatch)} | ${usage(r.receiverCpuUsPerBatch)} | ${mb(r.senderUsage.maxRssKb)} | ${mb(r.receiverUsage.maxRssKb)} | ${int(r.batches)} |`
    )
  }
  return out
}

const ackSweepTable = (rows: ReadonlyArray<LatencyResult>): Array<string> => {
  const out = ["| workers | acked batches/s | p50 µs | p99 µs | p99.9 µs |", "|--:|--:|--:|--:|--:|"]
  for (const l of rows) {
    const v = `${l.workers ?? "default"}${l.workers === currentDefaults.workers ? " (default)" : ""}`
    if (l.status !== "ok")
      out.push(`| ${v} | ${l.status}: ${(l.reason ?? "").replaceAll("|", "/").slice(0, 120)} | | | |`)
    else out.push(`| ${v} | ${int(l.achievedRate)} | ${num(l.p50Us)} | ${num(l.p99Us)} | ${num(l.p999Us)} |`)
  }
  return out
}

const sweepTable = (dimension: string, rows: ReadonlyArray<CellResult>, current: number): Array<string> => {
  const out = [
    `| ${dimension} | batches/s | MB/s | sender CPU µs/batch | receiver CPU µs/batch | sender RSS MiB | receiver RSS MiB |`,
    "|--:|--:|--:|--:|--:|--:|--:|"
  ]
  for (const r of rows) {
    const v = `${r.params[dimension]}${r.params[dimension] === current ? " (default)" : ""}`
    if (r.status !== "ok")
      out.push(`| ${v} | ${r.status}: ${(r.reason ?? "").replaceAll("|", "/").slice(0, 120)} | | | | | |`)
    else
      out.push(
        `| ${v} | ${int(r.batchesPerSec)} | ${num(r.mbPerSec)} | ${usage(r.senderCpuUsPerBatch)} | ${usage(r.receiverCpuUsPerBatch)} | ${mb(r.senderUsage.maxRssKb)} | ${mb(r.receiverUsage.maxRssKb)} |`
      )
  }
  return out
}

const statusMark = (s: TargetStatus): string => (s === "met" ? "✅ met" : s === "missed" ? "❌ missed" : "— n/a")

export interface RenderOptions {
  /** Path of the SVG chart relative to the Markdown file. */
  readonly chartHref: string
  /** Path of the JSON results relative to the Markdown file. */
  readonly jsonHref: string
}

export const renderMarkdown = (r: Results, o: RenderOptions): string => {
  const m = r.machine
  const L: Array<string> = []
  L.push("# txlane benchmarks", "")
  L.push(
    `> Generated by \`npm run bench${r.quick ? " -- --quick" : ""}\` on ${r.startedAt} (${num(r.durationS, 0)} s). Do not edit by hand: the runner (\`packages/conformance/bench/run.ts\`) rewrites this file from [the results](${o.jsonHref}).`
  )
  if (r.quick)
    L.push(
      ">",
      "> **Quick run** (`--quick`): tiny counts and a subset of cells — it proves the command works; its numbers are not a measurement."
    )
  if (r.only !== null) L.push(">", `> **Partial run** (\`--only ${r.only.join(",")}\`): sections outside it are empty.`)
  L.push(
    "",
    `**Caveat.** These figures come from a ${m.cores}-vCPU virtual machine. Every pairing runs a sender and a receiver process, plus their runtimes' helper threads, on ${m.cores} shared vCPUs, so the processes compete for cores and for the host's scheduler, and run-to-run noise of ±10–20% is normal (load average ${m.loadAverageStart.join(" / ")} at the start, ${m.loadAverageEnd.join(" / ")} at the end). Ratios between rows of the same run are more trustworthy than absolute numbers; on a machine with ≥4 dedicated cores every row is expected to be higher.`,
    ""
  )

  L.push("## Machine", "")
  L.push("| | |", "|---|---|")
  L.push(
    `| CPU | ${m.cpuModel} |`,
    `| cores (vCPUs) | ${m.cores} |`,
    `| memory | ${num(m.memoryGiB)} GiB |`,
    `| OS | ${m.os} |`
  )
  L.push(`| Node | ${m.node} |`, `| Rust | ${m.rust ?? "not installed"} |`, `| Go | ${m.go ?? "not installed"} |`)
  L.push(
    `| date | ${r.startedAt} |`,
    `| CPU/RSS source | ${m.gnuTime ? "GNU time (wait4 rusage) around every process" : "n/a (GNU time not found)"} |`,
    ""
  )

  L.push(
    "## Targets",
    "",
    "Ratios are between rows of this run. The profiles behind missed targets, and what they led to, are in [bench/PROFILE.md](packages/conformance/bench/PROFILE.md) (written by hand, dated).",
    ""
  )
  L.push("| target | figure | status |", "|---|---|---|")
  for (const t of r.targets) L.push(`| ${t.description} | ${t.figure} | ${statusMark(t.status)} |`)
  L.push("")

  L.push("## Throughput: cross-implementation pairings", "", PAIRING_NOTE, "")
  L.push(...throughputTable(r.throughput.filter((c) => c.section === "pairings")), "")

  L.push("## Throughput: txlane vs the alternatives", "", TRANSPORT_NOTE, "")
  L.push(...throughputTable(r.throughput.filter((c) => c.section === "transports")), "")
  L.push(`![Throughput by pairing and workload](${o.chartHref})`, "")

  L.push(...renderUserPath(r))
  L.push(...renderDeployed(r))
  L.push(...renderLatency(r))

  L.push("## Sweeps", "")
  L.push(
    "txlane (benchmark peers), upstream shape, fire-and-forget over a Unix socket, one setting changed at a time from the defaults (sender `workers` 4, `queueCapacity` 1000; receiver `handlers` 16).",
    ""
  )
  for (const d of ["workers", "handlers", "queue"] as const) {
    const rows = r.sweeps.filter((s) => typeof s.params[d] === "number")
    L.push(
      `### ${d === "queue" ? "sender queue capacity" : d === "workers" ? "sender workers" : "receiver handlers"}`,
      ""
    )
    L.push(...sweepTable(d, rows, currentDefaults[d]), "")
  }
  L.push("### sender workers, acknowledged at saturation", "")
  L.push(...ackSweepTable(r.ackSweep), "")

  const rec = r.recommended
  L.push("## Recommended defaults and tuning guide", "")
  L.push("| setting | current default | recommended by this run | why |", "|---|--:|--:|---|")
  L.push(`| sender \`workers\` | ${rec.workers.current} | ${rec.workers.value} | ${rec.workers.why} |`)
  L.push(`| receiver \`handlers\` | ${rec.handlers.current} | ${rec.handlers.value} | ${rec.handlers.why} |`)
  L.push(`| sender \`queueCapacity\` | ${rec.queue.current} | ${rec.queue.value} | ${rec.queue.why} |`, "")
  L.push(...TUNING_GUIDE, "")

  L.push("## Method", "")
  L.push(...METHOD(r), "")
  return `${L.join("\n")}\n`
}

const TUNING_GUIDE = [
  "**Tuning guide.**",
  "",
  "- **Start with the defaults.** They are chosen so that one sender saturates one receiver on the same host without tuning; change a setting only when a metric below says so.",
  "- **`workers` (sender).** Each worker owns one connection, but all workers share the sender's single JavaScript thread, so in fire-and-forget mode more workers do not add throughput once the thread is busy (see the sweep). They matter in *acknowledged* mode, where each connection carries at most `maxInFlight` (64) unanswered frames: raise `workers` when `acknowledged` throughput is below fire-and-forget throughput and the receiver is not CPU-bound, and when the receiver runs its handlers in parallel across connections. Keep it ≤ the receiver's `handlers`.",
  '- **`handlers` (receiver).** How many `submit` calls run at once. With a synchronous or very fast `submit` (as here) 1–4 are as good as 16; with an asynchronous `submit` that waits on I/O (a consensus engine, a database), raise it to the number of submits your engine can usefully run concurrently. Frames of one connection are still submitted in order (`ordering: "per-connection"`), so parallelism comes from several connections (sender `workers`).',
  '- **`queueCapacity` (sender).** Absorbs bursts; it does not raise steady-state throughput once it covers a few corked writes (`maxBatchesPerWrite` = 64). Memory bound: `queueCapacity × batch size` (1000 × 32 KiB ≈ 32 MiB). Lower it to cap memory and surface backpressure sooner; raise it only if producers burst longer than the receiver can absorb and `overflow: "suspend"` stalls are unacceptable.',
  "- **Latency vs throughput.** In acknowledged mode, latency at saturation is roughly `unanswered batches ÷ throughput` (Little's law): bound the producer's window (or `queueCapacity`) to bound latency. At low rates latency is dominated by wake-ups (epoll, event loop), not by txlane's work.",
  "- **Unix socket vs TCP.** Use a Unix socket on the same host: no TCP/IP stack, and file permissions guard it."
]

const METHOD = (r: Results): Array<string> => [
  "- Each cell starts the receiver (`--respond none --expect-transactions N`), waits for its ready line, starts the sender, and waits for both to exit (every process in its own process group, killed on timeout or exit). Throughput is the receiver's count over the longer of two clocks: the receiver's first frame → last frame and the sender's first send → last batch done (both in the peers' reports). Either alone flatters someone — a sender whose queue swallows the whole run before the first write, or one that hands bytes to a library queue (zeromq) before delivery. Process start-up and pre-encoding before the first send do not count.",
  "- Fire-and-forget, Unix socket (`legacy`: TCP), one sender and one receiver process per cell.",
  `- CPU (user+sys) and peak RSS of every process: GNU time (\`/usr/bin/time -f '%U %S %M'\`) around it — the kernel's \`wait4\` rusage, exact, all threads included, no cooperation from the peer needed (the Rust/Go/TS peers do not report them). Sampling /proc was rejected: it misses short peaks and needs the process alive at the end. GNU time counts start-up too, so each implementation's start-up CPU, measured by a 1-batch calibration cell, is subtracted before dividing by the batch count (start-up CPU per process: ${
    Object.entries(r.startupCpuMs)
      .map(([k, v]) => `${k} ${int(v)} ms`)
      .join(", ") ||
    (r.quick ? "not calibrated — quick runs skip it, so their CPU columns include start-up" : "not measured")
  }). CPU µs/batch still includes workload generation (conformance peers) or pool pre-encoding (benchmark peers) and, at GNU time's 10 ms resolution, is ±10 ms / batches.`,
  "- Benchmark peers pre-encode at most 16 MiB of the workload and cycle through it (`bench/peers/pool.ts`): holding a whole multi-GB workload would measure memory, not transport.",
  `- Workloads: ${workloads.map((w) => `${w.label} (${int(w.payloadBytes)} B payload)`).join("; ")}.`,
  "- Latency: see its section. Percentiles are from an HDR histogram (3 significant digits), recorded in nanoseconds, warm-up excluded.",
  `- Full run: \`npm run bench\`; quick (CI): \`npm run bench -- --quick\`; one pairing: \`npm run bench -- --only ts→rust\` (also \`ts-rust\`, \`txlane\`, \`raw\`, \`zeromq\`, \`legacy\`, \`latency\`, \`sweeps\`, \`deployed\`). Raw results: \`packages/conformance/bench/results/latest.json\`.`
]

// ---------------------------------------------------------------------------------------------
// SVG

const esc = (s: string): string => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")

const colorOf = (r: CellResult): string =>
  r.section === "pairings"
    ? "#4c78a8"
    : r.pairing === "txlane"
      ? "#2ca02c"
      : r.pairing === "legacy"
        ? "#d62728"
        : "#9d9d9d"

/** Throughput by pairing and workload: one panel per workload, bars in batches/s, scaled per panel. */
export const renderSvg = (r: Results): string => {
  const width = 900
  const labelW = 170
  const barMax = width - labelW - 230
  const rowH = 18
  const parts: Array<string> = []
  let y = 40
  parts.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">txlane throughput by pairing and workload (fire-and-forget, batches/s)</text>`
  )
  for (const w of workloads) {
    const rows = r.throughput.filter((c) => c.workload === w.id)
    if (rows.length === 0) continue
    parts.push(`<text x="10" y="${y + 14}" font-size="13" font-weight="bold">${esc(w.label)}</text>`)
    y += 22
    const max = Math.max(1, ...rows.map((c) => c.batchesPerSec ?? 0))
    for (const c of rows) {
      const name = c.section === "pairings" ? c.pairing : `${c.pairing} (bench peer)`
      parts.push(`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end" font-size="12">${esc(name)}</text>`)
      if (c.status === "ok" && c.batchesPerSec !== null) {
        const bw = Math.max(1, Math.round((c.batchesPerSec / max) * barMax))
        parts.push(`<rect x="${labelW}" y="${y + 3}" width="${bw}" height="${rowH - 5}" fill="${colorOf(c)}"/>`)
        parts.push(
          `<text x="${labelW + bw + 5}" y="${y + 13}" font-size="11">${esc(`${int(c.batchesPerSec)} /s · ${num(c.mbPerSec, 0)} MB/s`)}</text>`
        )
      } else {
        parts.push(`<text x="${labelW + 4}" y="${y + 13}" font-size="11" fill="#888">${esc(c.status)}</text>`)
      }
      y += rowH
    }
    y += 12
  }
  const legend = [
    ["#4c78a8", "conformance peers (workload + digest)"],
    ["#2ca02c", "txlane, bench peer"],
    ["#9d9d9d", "raw node:net / zeromq.js"],
    ["#d62728", "legacy pool"]
  ] as const
  let lx = 10
  for (const [color, text] of legend) {
    parts.push(`<rect x="${lx}" y="${y + 2}" width="12" height="12" fill="${color}"/>`)
    parts.push(`<text x="${lx + 16}" y="${y + 12}" font-size="11">${esc(text)}</text>`)
    lx += 24 + text.length * 6.2
  }
  y += 22
  parts.push(
    `<text x="10" y="${y + 10}" font-size="10" fill="#555">${esc(`${r.quick ? "QUICK RUN (not a measurement) · " : ""}${r.machine.cpuModel}, ${r.machine.cores} vCPUs · ${r.startedAt}`)}</text>`
  )
  y += 20
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join("\n")}\n</svg>\n`
}

// ---------------------------------------------------------------------------------------------
// Well-formedness (what CI checks)

/** Problems with a results object; empty when it is well-formed. Never checks absolute numbers. */
export const validateResults = (value: unknown): Array<string> => {
  const problems: Array<string> = []
  if (typeof value !== "object" || value === null) return ["not an object"]
  const r = value as Record<string, unknown>
  if (r.schema !== SCHEMA) problems.push(`schema is ${String(r.schema)}, expected ${SCHEMA}`)
  for (const key of ["throughput", "sweeps", "deployed", "userPath", "ackSweep", "latency", "targets", "workloads"]) {
    if (!Array.isArray(r[key])) problems.push(`${key} is not an array`)
  }
  if (typeof r.machine !== "object" || r.machine === null) problems.push("machine missing")
  const targets = Array.isArray(r.targets) ? (r.targets as Array<Record<string, unknown>>) : []
  if (targets.length !== 10) problems.push(`expected 10 targets, got ${targets.length}`)
  for (const t of targets) {
    if (!["met", "missed", "n/a"].includes(String(t.status))) problems.push(`target ${String(t.id)}: bad status`)
    if (typeof t.figure !== "string") problems.push(`target ${String(t.id)}: no figure`)
  }
  const cells = [
    ...(Array.isArray(r.throughput) ? r.throughput : []),
    ...(Array.isArray(r.sweeps) ? r.sweeps : []),
    ...(Array.isArray(r.deployed) ? r.deployed : []),
    ...(Array.isArray(r.userPath) ? r.userPath : [])
  ] as Array<Record<string, unknown>>
  for (const c of cells) {
    if (!["ok", "failed", "skipped"].includes(String(c.status))) problems.push(`cell ${String(c.pairing)}: bad status`)
    if (c.status === "ok" && !(typeof c.batchesPerSec === "number" && c.batchesPerSec > 0))
      problems.push(`cell ${String(c.pairing)}/${String(c.workload)}: ok without a positive batchesPerSec`)
  }
  for (const l of (Array.isArray(r.latency) ? r.latency : []) as Array<Record<string, unknown>>) {
    if (l.status === "ok" && typeof l.p50Us !== "number") problems.push(`latency ${String(l.offered)}: ok without p50`)
  }
  const rec = r.recommended as Record<string, Record<string, unknown>> | undefined
  for (const d of ["workers", "handlers", "queue"])
    if (typeof rec?.[d]?.value !== "number") problems.push(`recommended.${d} missing`)
  return problems
}
