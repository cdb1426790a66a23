/**
 * Running measurements: one throughput cell (a receiver and a sender process, each wrapped in
 * GNU time) and the machine description. Latency series are in latency.ts.
 *
 * CPU time and peak RSS come from GNU time (`/usr/bin/time -f '%U %S %M'`) around every peer:
 * it reads the `wait4` rusage of the exited process, so the figures are exact, cover every
 * thread (tokio workers, the Go runtime, libuv's pool, zeromq's I/O thread), need no
 * cooperation from the peer, and cannot miss a short-lived peak the way sampling /proc every
 * few milliseconds can. Its cost: it includes process start-up, which the runner measures once
 * per implementation (the calibration cells) and subtracts.
 *
 * @module
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { type CaseFailure, transportError } from "../../src/harness/Outcome.js"
import * as Process from "../../src/harness/Process.js"
import { which } from "../../src/harness/Toolchain.js"
import type { BenchImpl, CellSpec, Role } from "./plan.js"

/** CPU time (ms) and peak RSS (KiB) of one process; null when GNU time is unavailable. */
export interface ProcUsage {
  readonly cpuUserMs: number | null
  readonly cpuSystemMs: number | null
  readonly maxRssKb: number | null
}

export const noUsage: ProcUsage = { cpuUserMs: null, cpuSystemMs: null, maxRssKb: null }

const GNU_TIME = "/usr/bin/time"
let gnuTimeChecked: boolean | undefined

/** Whether `/usr/bin/time -f … -o FILE` works here (GNU time; BusyBox and the shell keyword do not qualify). */
export const hasGnuTime = (): boolean => {
  if (gnuTimeChecked !== undefined) return gnuTimeChecked
  const probe = path.join(os.tmpdir(), `txlane-bench-time-${process.pid}`)
  try {
    const r = spawnSync(GNU_TIME, ["-f", "%U %S %M", "-o", probe, "true"], { stdio: "ignore", timeout: 5000 })
    gnuTimeChecked = r.status === 0 && /^\S+ \S+ \d+/.test(fs.readFileSync(probe, "utf8").trim())
  } catch {
    gnuTimeChecked = false
  } finally {
    fs.rmSync(probe, { force: true })
  }
  return gnuTimeChecked
}

/** `argv` wrapped in GNU time writing to `file` (or as is without GNU time). */
export const timed = (argv: ReadonlyArray<string>, file: string): Array<string> =>
  hasGnuTime() ? [GNU_TIME, "-f", "%U %S %M", "-o", file, ...argv] : [...argv]

/** Reads a GNU time output file: the last line is `USER SYS MAXRSS` (earlier lines: "Command exited with …"). */
export const readUsage = (file: string): ProcUsage => {
  try {
    const lines = fs.readFileSync(file, "utf8").trim().split("\n")
    const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/.exec(lines.at(-1)?.trim() ?? "")
    if (m === null) return noUsage
    return { cpuUserMs: Number(m[1]) * 1000, cpuSystemMs: Number(m[2]) * 1000, maxRssKb: Number(m[3]) }
  } catch {
    return noUsage
  }
}

/** The result of one throughput cell. */
export interface CellResult {
  readonly section: CellSpec["section"]
  readonly pairing: string
  readonly sender: string
  readonly receiver: string
  readonly workload: string
  readonly transport: string
  readonly batches: number
  readonly params: Readonly<Record<string, number | string>>
  readonly status: "ok" | "failed" | "skipped"
  readonly reason?: string | undefined
  /** max(receiver's first → last frame, sender's first send → last batch done), ms. */
  readonly elapsedMs: number | null
  readonly receiverElapsedMs: number | null
  readonly senderElapsedMs: number | null
  readonly batchesPerSec: number | null
  readonly txPerSec: number | null
  /** Payload MB/s (10^6 bytes), frame headers excluded. */
  readonly mbPerSec: number | null
  /** (CPU user+sys − start-up calibration) / batches, µs. */
  readonly senderCpuUsPerBatch: number | null
  readonly receiverCpuUsPerBatch: number | null
  readonly senderUsage: ProcUsage
  readonly receiverUsage: ProcUsage
}

export interface RunContext {
  readonly tmp: string
  /** Bound of one cell (ms). */
  readonly cellTimeoutMs: number
  /** Start-up CPU (ms, user+sys) per `impl/role`, from the calibration cells. */
  readonly startupCpuMs: Map<string, number>
  readonly log: (line: string) => void
}

let cellCounter = 0

const cpuMs = (u: ProcUsage): number | null =>
  u.cpuUserMs === null || u.cpuSystemMs === null ? null : u.cpuUserMs + u.cpuSystemMs

const perBatch = (ctx: RunContext, impl: BenchImpl, role: Role, u: ProcUsage, batches: number): number | null => {
  const total = cpuMs(u)
  if (total === null || batches <= 0) return null
  const startup = ctx.startupCpuMs.get(`${impl.name}/${role}`) ?? 0
  return Math.round((Math.max(0, total - startup) * 1000) / batches)
}

const skipped = (spec: CellSpec, reason: string, status: "failed" | "skipped" = "skipped"): CellResult => ({
  section: spec.section,
  pairing: spec.pairing,
  sender: spec.sender.name,
  receiver: spec.receiver.name,
  workload: spec.workload.id,
  transport: spec.transport,
  batches: spec.batches,
  params: spec.params,
  status,
  reason,
  elapsedMs: null,
  receiverElapsedMs: null,
  senderElapsedMs: null,
  batchesPerSec: null,
  txPerSec: null,
  mbPerSec: null,
  senderCpuUsPerBatch: null,
  receiverCpuUsPerBatch: null,
  senderUsage: noUsage,
  receiverUsage: noUsage
})

/** Runs one fire-and-forget throughput cell. Never fails: a failure is a `failed` cell. */
export const runCell = (spec: CellSpec, ctx: RunContext): Effect.Effect<CellResult> => {
  for (const impl of [spec.sender, spec.receiver]) {
    const a = impl.availability()
    if (!a.ok) return Effect.succeed(skipped(spec, a.reason))
  }
  const id = ++cellCounter
  const w = spec.workload
  const expected = spec.batches * w.txPerBatch
  const rTime = path.join(ctx.tmp, `c${id}.receiver.time`)
  const sTime = path.join(ctx.tmp, `c${id}.sender.time`)
  const listen = spec.transport === "tcp" ? "tcp://127.0.0.1:0" : path.join(ctx.tmp, `c${id}.sock`)
  const receiverArgv = spec.receiver.command("receiver", listen, [
    "--respond",
    spec.respond ?? "none",
    "--expect-transactions",
    String(expected),
    ...spec.receiverFlags
  ])
  const senderArgv = (endpoint: string) =>
    spec.sender.command("sender", endpoint, [
      "--batches",
      String(spec.batches),
      "--tx-per-batch",
      String(w.txPerBatch),
      "--tx-size",
      String(w.txSize),
      // Contract peers take --timeout-ms; the bench's own peers take --respond instead, so that
      // txlane's sender is told whether the receiver answers (it would otherwise spend its
      // `responses: "auto"` second learning that a silent receiver is silent).
      ...(spec.sender.timeoutFlag
        ? ["--timeout-ms", String(ctx.cellTimeoutMs)]
        : ["--respond", spec.respond ?? "none"]),
      ...spec.senderFlags
    ])
  const label = `${spec.section} ${spec.pairing} ${w.id}${Object.entries(spec.params)
    .map(([k, v]) => ` ${k}=${v}`)
    .join("")}`
  return Effect.scoped(
    Effect.gen(function* () {
      const receiver = yield* Process.spawn(`${spec.receiver.name} receiver`, timed(receiverArgv, rTime))
      const ready = yield* receiver.listening(30_000)
      const sender = yield* Process.spawn(`${spec.sender.name} sender`, timed(senderArgv(ready.endpoint), sTime))
      const sExit = yield* sender.exited(ctx.cellTimeoutMs)
      if (sExit.code !== 0) {
        return yield* transportError(
          `${sender.label}: ${Process.describeExit(sExit)}; stderr: ${sender.stderrTail().trim().slice(-300)}`
        )
      }
      yield* receiver.exited(15_000)
      const rReport = yield* receiver.requireReport()
      if (rReport.transactions < expected) {
        return yield* transportError(`receiver got ${rReport.transactions} of ${expected} transactions`)
      }
      const senderUsage = readUsage(sTime)
      const receiverUsage = readUsage(rTime)
      const sReport = yield* sender.requireReport()
      // The slower side's clock: a receiver's first→last frame alone flatters a sender whose
      // queue absorbs the whole run before the first write; a sender's alone flatters one that
      // hands bytes to a library queue (zeromq) before they are delivered.
      const elapsedMs = Math.max(rReport.elapsedMs, sReport.elapsedMs)
      const seconds = Math.max(elapsedMs, 0.001) / 1000
      const result: CellResult = {
        ...skipped(spec, ""),
        status: "ok",
        reason: undefined,
        elapsedMs: Math.round(elapsedMs * 10) / 10,
        receiverElapsedMs: Math.round(rReport.elapsedMs * 10) / 10,
        senderElapsedMs: Math.round(sReport.elapsedMs * 10) / 10,
        batchesPerSec: Math.round(rReport.frames / seconds),
        txPerSec: Math.round(rReport.transactions / seconds),
        mbPerSec: Math.round((rReport.bytes / seconds / 1e6) * 10) / 10,
        senderCpuUsPerBatch: perBatch(ctx, spec.sender, "sender", senderUsage, spec.batches),
        receiverCpuUsPerBatch: perBatch(ctx, spec.receiver, "receiver", receiverUsage, spec.batches),
        senderUsage,
        receiverUsage
      }
      return result
    })
  ).pipe(
    Effect.catchTag("CaseFailure", (e: CaseFailure) => Effect.succeed(skipped(spec, e.detail, "failed"))),
    Effect.tap((r) =>
      Effect.sync(() => {
        if (spec.section === "calibration") {
          if (r.status !== "ok") ctx.log(`  ${label}: calibration ${r.status} — ${r.reason}`)
          return
        }
        ctx.log(
          r.status === "ok"
            ? `  ${label}: ${r.batchesPerSec} batches/s, ${r.mbPerSec} MB/s (${r.elapsedMs} ms)`
            : `  ${label}: ${r.status.toUpperCase()} — ${r.reason}`
        )
      })
    )
  )
}

/** Start-up CPU of one calibration cell (1 batch), per impl/role. */
export const calibrate = (spec: CellSpec, ctx: RunContext): Effect.Effect<CellResult> =>
  runCell(spec, ctx).pipe(
    Effect.tap((r) =>
      Effect.sync(() => {
        if (r.status !== "ok") return
        const s = cpuMs(r.senderUsage)
        const v = cpuMs(r.receiverUsage)
        if (s !== null) ctx.startupCpuMs.set(`${spec.sender.name}/sender`, s)
        if (v !== null && !ctx.startupCpuMs.has(`${spec.receiver.name}/receiver`))
          ctx.startupCpuMs.set(`${spec.receiver.name}/receiver`, v)
        ctx.log(`  ${spec.pairing}: start-up CPU ${s ?? "n/a"} ms (sender), ${v ?? "n/a"} ms (receiver)`)
      })
    )
  )

// ---------------------------------------------------------------------------------------------
// Machine

export interface Machine {
  readonly cpuModel: string
  readonly cores: number
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
  /** The installed `effect` version (absent in results from before it was recorded). */
  readonly effect?: string | null | undefined
  readonly rust: string | null
  readonly go: string | null
  readonly gnuTime: boolean
  readonly loadAverageStart: ReadonlyArray<number>
  loadAverageEnd: ReadonlyArray<number>
}

const versionOf = (argv: ReadonlyArray<string>): string | null => {
  const [cmd, ...args] = argv
  if (cmd === undefined || which(cmd) === undefined) return null
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000 })
  return r.status === 0 ? r.stdout.trim().split("\n")[0]! : null
}

const effectVersion = (): string | null => {
  try {
    const file = createRequire(import.meta.url).resolve("effect/package.json")
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version?: string }).version ?? null
  } catch {
    return null
  }
}

export const machine = (): Machine => ({
  cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
  cores: os.cpus().length,
  memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  effect: effectVersion(),
  rust: versionOf(["rustc", "--version"]),
  go: versionOf(["go", "version"]),
  gnuTime: hasGnuTime(),
  loadAverageStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  loadAverageEnd: []
})
