/**
 * `npm run bench [-- --quick] [--json FILE] [--only PAIRING[,…]] [--out DIR] [--no-build] [--latency-rounds N]`
 *
 * The benchmark runner: builds the Rust and Go peers if needed, runs every measurement of a
 * full (or `--quick`) run on this machine, and writes
 *
 * - `BENCHMARKS.md` (repository root): machine, targets, tables, sweeps, tuning guide;
 * - `bench/results/latest.json` (or `--json FILE`): every figure, `validateResults`-checkable;
 * - `bench/results/throughput.svg`: throughput by pairing and workload.
 *
 * A `--quick` run writes the same three files under `bench/results/quick/`, and an `--only` run
 * under `bench/results/partial/`, so that neither overwrites the committed full-run report
 * (`--out DIR` chooses the directory explicitly).
 *
 * `--only` takes pairing or section names, comma-separated or repeated: `ts→rust` (also
 * `ts-rust`, `ts->rust`), `txlane`, `raw`, `zeromq`, `legacy`, `latency`, `sweeps`, `deployed`
 * (txlane against the emulators of the deployed peers, lib/deployed.ts), `userpath` (the
 * application's path next to a raw pump, lib/userpath.ts), `large-frames` (1 MiB frames with the
 * receivers' GC share, lib/large-frames.ts).
 *
 * `--latency-rounds N`: rounds of every latency series (default 3 in a full run, 1 in a quick
 * one); a row is the round whose p99 is the median, so more rounds give a steadier table.
 *
 * @module
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Exit } from "effect"
import { runTasks } from "../src/harness/Toolchain.js"
import { runDeployed } from "./lib/deployed.js"
import { judgeTargets, recommendDefaults } from "./lib/judge.js"
import { type LargeFrameCell, runLargeFrames } from "./lib/large-frames.js"
import {
  type Api,
  type LatencyResult,
  type LatencySeries,
  medianRounds,
  type Ordering,
  runLatency
} from "./lib/latency.js"
import { type CellResult, calibrate, machine, type RunContext, runCell } from "./lib/measure.js"
import {
  type BenchImpl,
  benchDir,
  type CellSpec,
  contractImpl,
  LEGACY_BATCHES,
  latencyLoads,
  legacy,
  matchesOnly,
  packageRoot,
  pairingName,
  pairings,
  raw,
  sweepValues,
  transportRows,
  tsArgv,
  txlane,
  type Workload,
  workloadById,
  workloads,
  zeromq
} from "./lib/plan.js"
import { renderMarkdown } from "./lib/report.js"
import { type Results, SCHEMA } from "./lib/results.js"
import { renderSvg } from "./lib/svg.js"
import { runUserPath } from "./lib/userpath.js"

const usage = `usage: npm run bench [-- --quick] [--json FILE] [--only PAIRING[,…]] [--out DIR] [--no-build] [--latency-rounds N]`

const cli = (() => {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        quick: { type: "boolean", default: false },
        json: { type: "string" },
        only: { type: "string", multiple: true },
        out: { type: "string" },
        "no-build": { type: "boolean", default: false },
        "latency-rounds": { type: "string" },
        help: { type: "boolean", default: false }
      }
    })
    if (values.help) {
      process.stdout.write(`${usage}\n`)
      process.exit(0)
    }
    const only = values.only
      ?.flatMap((o) => o.split(","))
      .map((o) => o.trim())
      .filter((o) => o !== "")
    const rounds = values["latency-rounds"]
    if (rounds !== undefined && !/^[1-9][0-9]*$/.test(rounds))
      throw new Error("--latency-rounds must be a positive integer")
    return {
      latencyRounds: rounds === undefined ? undefined : Number(rounds),
      quick: values.quick,
      json: values.json,
      only: only?.length ? only : undefined,
      out: values.out,
      build: !values["no-build"]
    }
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}\n`)
    process.exit(2)
  }
})()

const repoRoot = path.resolve(packageRoot, "..", "..")
const resultsDir = path.join(benchDir, "results")
const canonical = !cli.quick && cli.only === undefined
const outDir =
  cli.out !== undefined
    ? path.resolve(cli.out)
    : canonical
      ? undefined
      : path.join(resultsDir, cli.quick ? "quick" : "partial")
const mdPath = outDir === undefined ? path.join(repoRoot, "BENCHMARKS.md") : path.join(outDir, "BENCHMARKS.md")
const jsonPath = cli.json !== undefined ? path.resolve(cli.json) : path.join(outDir ?? resultsDir, "latest.json")
const svgPath = path.join(outDir ?? resultsDir, "throughput.svg")

const log = (line: string) => process.stderr.write(`${line}\n`)
const want = (name: string) => matchesOnly(cli.only, name)
const quick = cli.quick

const count = (w: Workload, factor: number): number =>
  Math.max(1, Math.round((quick ? w.quickBatches : w.fullBatches) * factor))

const spec = (s: Omit<CellSpec, "senderFlags" | "receiverFlags" | "params"> & Partial<CellSpec>): CellSpec => ({
  senderFlags: [],
  receiverFlags: [],
  params: {},
  ...s
})

const main = Effect.gen(function* () {
  const startedAt = new Date()
  if (cli.build) {
    log("== building the Rust and Go peers (cargo build --release, go build)")
    const code = runTasks(packageRoot, ["build"])
    if (code !== 0) log("!! a peer build failed; its cells will be skipped")
  }
  const m = machine()
  log(`== ${m.cpuModel}, ${m.cores} vCPUs, ${m.memoryGiB} GiB, Node ${m.node}; load ${m.loadAverageStart.join(" ")}`)
  if (!m.gnuTime) log("!! GNU time (/usr/bin/time) not usable: CPU and RSS columns will be n/a")
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "txb-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(tmp, { recursive: true, force: true })))
  const ctx: RunContext = {
    tmp,
    cellTimeoutMs: quick ? 30_000 : 90_000,
    startupCpuMs: new Map(),
    log
  }
  const upstream = workloadById("upstream")
  const pairingWorkloads = quick ? [upstream] : workloads
  const transportWorkloads = quick ? [upstream, workloadById("large")] : workloads

  // Which implementations run at all (calibrate only those).
  const contractPairs = pairings.filter(([s, r]) => want(pairingName(s, r)))
  const rows = transportRows.filter((t) => want(t.name))
  const runLatencySection = want("latency")
  const runSweeps = want("sweeps")
  const used = new Set<string>()
  for (const [s, r] of contractPairs) used.add(s).add(r)
  const usedBench = new Set<string>(rows.flatMap((t) => [t.sender.name, t.receiver.name]))
  if (runSweeps) usedBench.add("txlane")
  // The user path runs txlane's and the raw pump's senders into the txlane receiver.
  if (want("userpath")) usedBench.add("txlane").add("raw")
  if (want("large-frames")) usedBench.add("txlane").add("raw").add("zeromq")

  // Quick runs skip the calibration (their CPU columns then include start-up): time matters more.
  if (quick) {
    used.clear()
    usedBench.clear()
  } else log("== calibration (start-up CPU of each implementation, 1 batch)")
  const calibrations: Array<CellResult> = []
  for (const name of ["ts", "rust", "go"]) {
    if (!used.has(name)) continue
    const impl = contractImpl(name)
    calibrations.push(
      yield* calibrate(
        spec({
          section: "calibration",
          pairing: pairingName(name, name),
          sender: impl,
          receiver: impl,
          workload: upstream,
          batches: 1,
          transport: "unix",
          // An answering receiver: a contract sender learns that a receiver is silent only from
          // a frame left unanswered for 1 s on an open connection (PEERS.md "Answers"). A silent
          // receiver that exits with the one batch at once looks like one that refused it, so
          // the sender would resend it to nobody until its deadline.
          respond: "json"
        }),
        ctx
      )
    )
  }
  for (const impl of [txlane, raw, zeromq]) {
    if (!usedBench.has(impl.name)) continue
    calibrations.push(
      yield* calibrate(
        spec({
          section: "calibration",
          pairing: impl.name,
          sender: impl,
          receiver: impl,
          workload: upstream,
          batches: 1,
          transport: "unix"
        }),
        ctx
      )
    )
  }
  if (usedBench.has("legacy"))
    calibrations.push(
      yield* calibrate(
        spec({
          section: "calibration",
          pairing: "legacy",
          sender: legacy,
          receiver: raw,
          workload: upstream,
          batches: 1,
          transport: "tcp"
        }),
        ctx
      )
    )

  const throughput: Array<CellResult> = []
  if (contractPairs.length > 0) log("== throughput: cross-implementation pairings (conformance peers)")
  for (const w of pairingWorkloads) {
    for (const [s, r] of contractPairs) {
      const sender = contractImpl(s)
      throughput.push(
        yield* runCell(
          spec({
            section: "pairings",
            pairing: pairingName(s, r),
            sender,
            receiver: contractImpl(r),
            workload: w,
            batches: count(w, sender.costFactor),
            transport: "unix"
          }),
          ctx
        )
      )
    }
  }
  if (rows.length > 0) log("== throughput: txlane vs the alternatives (benchmark peers)")
  for (const w of transportWorkloads) {
    for (const t of rows) {
      if (t.name === "legacy" && w.id !== "upstream") continue
      if (quick && w.id === "large" && t.name !== "txlane") continue
      const batches = t.name === "legacy" ? (quick ? LEGACY_BATCHES.quick : LEGACY_BATCHES.full) : count(w, 1)
      throughput.push(
        yield* runCell(
          spec({
            section: "transports",
            pairing: t.name,
            sender: t.sender,
            receiver: t.receiver,
            workload: w,
            batches,
            transport: t.transport
          }),
          ctx
        )
      )
    }
  }

  const largeFrames: Array<LargeFrameCell> = want("large-frames") ? yield* runLargeFrames(quick, ctx) : []
  const userPath = want("userpath") ? yield* runUserPath(quick, ctx) : []
  const deployed = want("deployed") ? yield* runDeployed(quick, ctx) : []

  const latency: Array<LatencyResult> = []
  const latencySender = tsArgv("latency-sender.ts")
  const durationMs = quick ? 400 : 3_000
  // A cold txlane receiver offered 10k/s builds a backlog of 100–300 ms while its code is still
  // unoptimized, and drains it over about a second: 2 s of warm-up keep that out of the
  // steady-state tail (PROFILE.md, 2026-12-01 10:00–).
  const warmupMs = quick ? 200 : 2_000
  const latencyRounds = cli.latencyRounds ?? (quick ? 1 : 3)
  if (runLatencySection) {
    log("== acknowledged latency (upstream shape): the same sender into the txlane, raw node:net and Rust receivers")
    const loads = latencyLoads.map((offered) => ({ offered }))
    // Quick runs (CI) measure the txlane receiver only: the Rust one may not be built there. The
    // raw `node:net` receiver is the floor for any Node receiver, and the raw `node:net` client
    // into the Rust receiver the floor for any Node sender, in the same run.
    const receivers = quick ? [txlane] : [txlane, raw, contractImpl("rust")]
    // The txlane receiver with its default `ordering: "none"` (the Rust receiver's semantics: its
    // handlers take any connection's frames), and also with `"per-connection"`, which submits a
    // connection's frames one at a time. Runs but quick ones also measure the bare node:net and Rust
    // receivers a second time (`sendPayload`, 1k and 10k/s), each as far from its first series as
    // the txlane receiver is from Rust: the run's A/A control, which every latency target is read
    // against (judge.ts), since one window's p99 moves by several times on a shared VM.
    const controls = quick
      ? []
      : [raw, contractImpl("rust")].map((receiver) => ({
          api: "payload" as const,
          receiver,
          control: true,
          loads: loads.filter((l) => l.offered !== 0)
        }))
    const pairs: ReadonlyArray<{
      api: Api
      receiver: BenchImpl
      ordering?: Ordering
      control?: boolean
      loads?: typeof loads
    }> = [
      ...(["payload", "send"] as const).flatMap((api) => [
        ...receivers.map((receiver) => ({
          api,
          receiver,
          ...(receiver === txlane ? { ordering: "none" as const } : {})
        })),
        ...(api === "payload" ? controls : []),
        ...(quick ? [] : [{ api, receiver: txlane, ordering: "per-connection" as const }])
      ]),
      ...(quick ? [] : (["raw", "raw-send"] as const).map((api) => ({ api, receiver: contractImpl("rust") })))
    ]
    // Rounds run round-robin over the series, so drift in the machine touches every row alike;
    // a single 3-second window's p99 swings by 2–20× on this VM (one stall in it is enough).
    const rounds: Array<LatencyResult> = []
    for (let round = 1; round <= latencyRounds; round++)
      for (const pair of pairs) {
        const { api, receiver, ordering, control } = pair
        const series: LatencySeries = {
          series: `${receiver.name}${ordering === "per-connection" ? "-ordered" : ""}${api === "payload" ? "" : `-${api}`}${control ? "-again" : ""}`,
          receiver,
          api,
          ordering,
          control,
          receiverFlags: receiver === txlane || receiver === raw ? ["--submit", "async"] : [],
          loads: pair.loads ?? loads,
          durationMs,
          minRecorded: quick ? undefined : 10_000,
          warmupMs,
          window: 64
        }
        rounds.push(...(yield* runLatency(series, latencySender, ctx)))
      }
    latency.push(...medianRounds(rounds))
  }

  const sweeps: Array<CellResult> = []
  const ackSweep: Array<LatencyResult> = []
  if (runSweeps) {
    log("== sweeps (txlane, upstream shape)")
    const sv = sweepValues(quick)
    const sweepBatches = count(upstream, quick ? 1 : 0.75)
    // One setting changed at a time from the defaults; the flag goes to the sender or the receiver.
    const sweep = (
      name: "workers" | "handlers" | "queue",
      values: ReadonlyArray<number>,
      side: "sender" | "receiver"
    ) =>
      Effect.forEach(values, (value) =>
        runCell(
          spec({
            section: "sweeps",
            pairing: "txlane",
            sender: txlane,
            receiver: txlane,
            workload: upstream,
            batches: sweepBatches,
            transport: "unix",
            [side === "sender" ? "senderFlags" : "receiverFlags"]: [`--${name}`, String(value)],
            params: { [name]: value }
          }),
          ctx
        )
      )
    sweeps.push(...(yield* sweep("workers", sv.workers, "sender")))
    sweeps.push(...(yield* sweep("handlers", sv.handlers, "receiver")))
    sweeps.push(...(yield* sweep("queue", sv.queue, "sender")))
    ackSweep.push(
      ...(yield* runLatency(
        {
          series: "ack-workers",
          receiver: txlane,
          loads: sv.ackWorkers.map((workers) => ({ offered: 0, workers })),
          durationMs: quick ? 300 : 2_000,
          warmupMs,
          // Enough unanswered batches to fill every worker's pipeline (maxInFlight 64 each).
          window: 256
        },
        latencySender,
        ctx
      ))
    )
  }

  m.loadAverageEnd = os.loadavg().map((l) => Math.round(l * 100) / 100)
  const finishedAt = new Date()
  const results: Results = {
    schema: SCHEMA,
    quick,
    only: cli.only ?? null,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    machine: m,
    workloads: workloads.map(({ id, label, txPerBatch, txSize, payloadBytes }) => ({
      id,
      label,
      txPerBatch,
      txSize,
      payloadBytes
    })),
    startupCpuMs: Object.fromEntries(ctx.startupCpuMs),
    throughput,
    sweeps,
    deployed,
    userPath,
    largeFrames,
    ackSweep,
    latency,
    recommended: recommendDefaults(sweeps, ackSweep),
    targets: judgeTargets(throughput, latency, userPath, largeFrames)
  }
  void calibrations

  for (const file of [mdPath, jsonPath, svgPath]) fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`)
  fs.writeFileSync(svgPath, renderSvg(results))
  const rel = (to: string) => path.relative(path.dirname(mdPath), to).split(path.sep).join("/")
  fs.writeFileSync(mdPath, renderMarkdown(results, { chartHref: rel(svgPath), jsonHref: rel(jsonPath) }))

  log("")
  log("== targets")
  for (const t of results.targets) log(`  ${t.status.toUpperCase().padEnd(12)} ${t.description}: ${t.figure}`)
  log("")
  log(
    `== wrote ${path.relative(process.cwd(), mdPath)}, ${path.relative(process.cwd(), jsonPath)}, ${path.relative(process.cwd(), svgPath)} (${results.durationS} s)`
  )
  const failed =
    [...throughput, ...sweeps, ...deployed, ...userPath, ...largeFrames].filter((c) => c.status === "failed").length +
    [...latency, ...ackSweep].filter((l) => l.status === "failed").length
  if (failed > 0) log(`!! ${failed} cell(s) failed; see the report`)
})

Effect.scoped(main).pipe(
  NodeRuntime.runMain({
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) ? 0 : Exit.hasInterrupts(exit) ? 130 : 1)
  })
)
