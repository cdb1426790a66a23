/**
 * `txlane-sender` (the CLI, from source) against the library (`../sender/bench/library-send.ts`), in the
 * same run, alternating, each into a fresh receiver process: generated-workload mode and
 * `--input FILE` mode, over the deployed-server emulator and the Rust peer receiver.
 *
 *   PATH=$PWD/../../node_modules/.bin:$PATH tsx --conditions=txlane-source bench/cli-throughput.ts \
 *     [--batches 15000] [--rounds 2] [--delivery fire-and-forget|acknowledged] \
 *     [--receivers emulator,rust] [--modes library,effect,generated,input] [--file /tmp/txlane-sender-bench.bin] [--keep]
 *     [--baseline ENTRY]
 *
 * With --baseline, modes `baseline-generated` and `baseline-input` run ENTRY (another version of
 * `src/bin/txlane-sender.ts`, e.g. checked out from an older commit) the same way. Mode `effect`
 * (`bench/effect-send.ts`) is the library again through its Effect API, as the command drives it,
 * without the command.
 *
 * The capture file (BATCHES frames of the PEERS.md workload, 50 tx × 650 B, 4-byte big-endian
 * length prefixes) is made when missing and deleted at the end unless --keep.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Envelope } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const batches = Number(arg("batches", "15000"))
const rounds = Number(arg("rounds", "2"))
const delivery = arg("delivery", "fire-and-forget")
const receivers = arg("receivers", "emulator,rust").split(",")
const modes = arg("modes", "library,generated,input").split(",")
const file = arg("file", "/tmp/txlane-sender-bench.bin")
const keep = process.argv.includes("--keep")
const baseline = arg("baseline", "")
const here = Path.dirname(new URL(import.meta.url).pathname)
const pkg = Path.resolve(here, "..")
const release = Path.resolve(pkg, "../conformance/peers/rust/target/release")
const receiverBin: Record<string, string> = {
  emulator: Path.join(release, "txlane-deployed-server"),
  rust: Path.join(release, "txlane-rust-receiver")
}
const socket = `/tmp/txlane-sender-bench-${process.pid}.sock`

const makeCapture = () => {
  if (Fs.existsSync(file)) return false
  const fd = Fs.openSync(file, "w")
  for (const batch of Workload.batches({ batches, txPerBatch: 50, txSize: 650 })) {
    const payload = Envelope.encode(batch)
    const header = Buffer.alloc(4)
    header.writeUInt32BE(payload.length)
    Fs.writeSync(fd, header)
    Fs.writeSync(fd, payload)
  }
  Fs.closeSync(fd)
  return true
}

const run = (cmd: string, args: Array<string>): Promise<{ stdout: string; stderr: string; code: number | null }> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: pkg, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => {
      stdout += d
    })
    child.stderr.on("data", (d) => {
      stderr += d
    })
    child.on("error", reject)
    child.on("exit", (code) => resolve({ stdout, stderr, code }))
  })

const startReceiver = async (name: string) => {
  Fs.rmSync(socket, { force: true })
  const child = spawn(receiverBin[name]!, ["--listen", socket], { stdio: "ignore" })
  for (let i = 0; i < 200 && !Fs.existsSync(socket); i++) await new Promise((r) => setTimeout(r, 10))
  return () =>
    new Promise<void>((resolve) => {
      child.on("exit", () => resolve())
      child.kill("SIGTERM")
    })
}

const tsx = ["--conditions=txlane-source"]
const once = async (mode: string): Promise<{ elapsedMs: number; delivered: number; extra?: string }> => {
  if (mode === "library" || mode === "effect") {
    const script = mode === "library" ? "../sender/bench/library-send.ts" : "bench/effect-send.ts"
    const r = await run("tsx", [...tsx, script, socket, file, String(batches), delivery])
    if (r.code !== 0) throw new Error(`${mode}: exit ${r.code}\n${r.stderr}`)
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!)
  }
  const entry = mode.startsWith("baseline-") ? baseline : "src/bin/txlane-sender.ts"
  const input = mode.endsWith("input") ? ["--input", file] : ["--batches", String(batches)]
  const r = await run("tsx", [
    ...tsx,
    entry,
    "--endpoint",
    socket,
    "--delivery",
    delivery,
    "--output",
    "json",
    ...input
  ])
  const lines = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
  const summary = lines.find((l) => l.message === "summary")
  const generated = lines.find((l) => typeof l.message === "string" && l.message.startsWith("generated "))
  if (summary === undefined) throw new Error(`cli ${mode}: no summary, exit ${r.code}\n${r.stderr}`)
  const a = summary.annotations ?? summary
  return { elapsedMs: a.elapsed_ms, delivered: a.delivered, extra: generated?.message }
}

const made = makeCapture()
console.log(
  `# ${new Date().toISOString()} node ${process.version}, ${batches} batches, ${delivery}, ${rounds} rounds${made ? " (capture made)" : ""}`
)
try {
  for (const receiver of receivers) {
    const results: Record<string, Array<number>> = {}
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        const stop = await startReceiver(receiver)
        try {
          const r = await once(mode)
          const rate = (r.delivered / r.elapsedMs) * 1000
          results[mode] = [...(results[mode] ?? []), rate]
          console.log(
            `${receiver} round ${round + 1} ${mode}: ${r.elapsedMs} ms, ${r.delivered} delivered, ${Math.round(rate)}/s${r.extra ? ` (${r.extra})` : ""}`
          )
        } finally {
          await stop()
        }
      }
    }
    const median = (xs: Array<number>) => {
      const sorted = [...xs].sort((a, b) => a - b)
      const mid = Math.floor(sorted.length / 2)
      return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
    }
    const lib = results.library ? median(results.library) : undefined
    for (const [mode, xs] of Object.entries(results)) {
      console.log(
        `${receiver} ${mode}: median ${Math.round(median(xs))}/s${lib !== undefined ? ` = ${(median(xs) / lib).toFixed(2)}× library` : ""}`
      )
    }
  }
} finally {
  Fs.rmSync(socket, { force: true })
  if (!keep && made) Fs.rmSync(file, { force: true })
}
