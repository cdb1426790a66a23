/**
 * txlane as a drop-in for the deployed peers (issue #11), against the deployed-behaviour
 * emulators: the Rust `txlane-deployed-server` (start-up and epoch phases, final rejections,
 * out-of-step oversize answers, real `Transaction` decoding) and the Go
 * `txlane-deployed-producer` (request/response workers, not-ready retries).
 *
 * Each case asserts exact counts and that what the sender calls delivered is exactly what the
 * emulator accepted (digest equality), in both delivery modes and through the CLI.
 */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { Envelope } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { type CloseReport, type CreateSenderOptions, createSender } from "@txlane/sender"
import { Result } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { locatePeerBinary } from "../src/harness/Peers.js"
import { type Child, killAll, spawn } from "./lib/process.js"
import { tempDir } from "./lib/util.js"

const server = locatePeerBinary("rust", "txlane-deployed-server")
const producer = locatePeerBinary("go", "txlane-deployed-producer")
const REPO = Path.join(import.meta.dirname, "..", "..", "..")

afterEach(() => killAll())

/** Starts the server emulator on a fresh socket with `flags`. */
const startServer = async (flags: ReadonlyArray<string>): Promise<{ child: Child; path: string }> => {
  if (server === undefined)
    throw new Error("txlane-deployed-server is not built (npm run build:peers -w @txlane/conformance)")
  const path = Path.join(tempDir(), "deployed.sock")
  const child = spawn(server, ["receive", "--listen", path, ...flags])
  await child.next("listening")
  return { child, path }
}

/** Stops the emulator and returns its report line. */
const reportOf = async (child: Child) => {
  child.signal("SIGTERM")
  const report = await child.next("report")
  expect(await child.exited).toBe(0)
  return report as unknown as {
    frames: number
    digest: string
    responses: { ok: number; error: number }
    errors: Record<string, number>
  }
}

const transactionsOf = (payload: Uint8Array) => {
  const decoded = Envelope.decode(payload)
  return Result.isSuccess(decoded) ? decoded.success : []
}

/** Sends `payloads` with the library and returns the close report and the digest of what it calls delivered. */
const sendAll = async (options: CreateSenderOptions, payloads: ReadonlyArray<Uint8Array>) => {
  const delivered = Digest.make()
  const rejected: Array<string> = []
  const sender = await createSender({
    // Not-ready retries at test speed (the default waits up to 4 s between retries, like the deployed producer).
    transientRetry: { initialDelayMs: 20, maxDelayMs: 20, jitter: false, maxRetries: 30 },
    ...options,
    onOutcome: (o) => {
      if (o.status === "delivered") delivered.addAll(transactionsOf(o.payload))
      else rejected.push(o.error ?? "")
    }
  })
  const sends = payloads.map((p) => sender.sendPayload(p).catch((e: unknown) => e))
  if (options.delivery !== "acknowledged") await Promise.all(sends)
  const report: CloseReport = await sender.close({ timeoutMs: 20_000 })
  await Promise.all(sends)
  expect(report.accepted).toBe(report.delivered + report.rejected + report.failed + report.undelivered.length)
  return { report, delivered: delivered.value, rejected }
}

const batches = (n: number, txPerBatch = 50) =>
  [...Workload.batches({ batches: n, txPerBatch, txSize: 650 })].map((b) => Envelope.encode(b))

describe.each(["fire-and-forget", "acknowledged"] as const)(
  "txlane sender → deployed-server emulator (%s)",
  (delivery) => {
    it("through every start-up/epoch phase (not ready, not ready + close, queued): 0 lost, digests equal", async () => {
      const emu = await startServer(["--not-ready", "5", "--not-ready-close", "5", "--queued", "3"])
      const { report, delivered } = await sendAll({ endpoint: emu.path, delivery, workers: 4 }, batches(200))
      const seen = await reportOf(emu.child)
      expect(report).toMatchObject({ accepted: 200, delivered: 200, rejected: 0, failed: 0, undelivered: [] })
      expect(report.transientRejections).toBe(10)
      expect(seen.frames).toBe(200)
      expect(seen.errors).toMatchObject({ NotReady: 5, NotReadyClose: 5 })
      expect(delivered).toBe(seen.digest)
    })

    it("final rejections (every 20th submit fails; one garbage and one empty frame): exactly those rejected", async () => {
      const emu = await startServer(["--fail-submit-every", "20"])
      const payloads = [...batches(100), Uint8Array.of(0x0a, 0x05, 0xff), new Uint8Array(0)]
      const { report, delivered, rejected } = await sendAll({ endpoint: emu.path, delivery, workers: 1 }, payloads)
      const seen = await reportOf(emu.child)
      expect(report).toMatchObject({ accepted: 102, delivered: 95, rejected: 7, failed: 0, undelivered: [] })
      expect(rejected.filter((e) => e.startsWith("Transaction submission failed"))).toHaveLength(5)
      expect(rejected.filter((e) => e.startsWith("Invalid Transactions protobuf"))).toHaveLength(1)
      expect(rejected.filter((e) => e === "Empty Transactions message")).toHaveLength(1)
      expect(seen.frames).toBe(95)
      expect(delivered).toBe(seen.digest)
    })

    it("a frame over the server's limit: rejected, the connection closed as out of step, the rest delivered", async () => {
      const emu = await startServer(["--max-frame-bytes", "100000"])
      const small = batches(20)
      const oversize = Envelope.encode(
        [...Workload.batches({ batches: 1, txPerBatch: 200, txSize: 650, seed: 7n })][0]!
      )
      const payloads = [...small.slice(0, 10), oversize, ...small.slice(10)]
      const { report, delivered, rejected } = await sendAll({ endpoint: emu.path, delivery, workers: 1 }, payloads)
      const seen = await reportOf(emu.child)
      expect(report).toMatchObject({ accepted: 21, delivered: 20, rejected: 1, failed: 0, undelivered: [] })
      expect(report.outOfStep).toBe(1)
      expect(rejected).toEqual([`Transaction too large: ${oversize.length} bytes (max: 100000)`])
      expect(delivered).toBe(seen.digest)
    })
  }
)

/** Runs the txlane-sender CLI from source; returns its exit code and summary line. */
const runCli = (args: ReadonlyArray<string>) => {
  const out = ChildProcess.spawnSync("npm", ["run", "-s", "sender", "-w", "@txlane/cli", "--", ...args], {
    cwd: REPO,
    encoding: "utf8",
    timeout: 60_000
  })
  const summary = out.stdout
    .split("\n")
    .filter((l) => l.includes('"summary"'))
    .map((l) => JSON.parse(l) as { annotations: Record<string, unknown> })[0]
  return { code: out.status, summary: summary?.annotations }
}

describe.each(["fire-and-forget", "acknowledged"] as const)(
  "txlane-sender CLI → deployed-server emulator (%s)",
  (delivery) => {
    it.each([
      {
        what: "rejections: exit 3, delivered and --digest cover the accepted batches only",
        server: ["--fail-submit-every", "20"],
        code: 3,
        summary: { batches: 100, delivered: 95, rejected: 5, undelivered: 0, exit_code: 3 }
      },
      {
        what: "start-up phases: exit 0, nothing lost",
        server: ["--not-ready", "3", "--not-ready-close", "3"],
        code: 0,
        summary: { batches: 100, delivered: 100, rejected: 0, undelivered: 0, transient_rejections: 6 }
      }
    ])("$what", async ({ server, code, summary }) => {
      const emu = await startServer(server)
      const run = runCli([
        "--endpoint",
        emu.path,
        "--delivery",
        delivery,
        "--batches",
        "100",
        "--digest",
        "--output",
        "json"
      ])
      const seen = await reportOf(emu.child)
      expect(run.code).toBe(code)
      expect(run.summary).toMatchObject(summary)
      expect(run.summary?.digest).toBe(seen.digest)
    })
  }
)

describe("deployed-producer emulator → txlane receiver (respond json)", () => {
  it("every batch acknowledged once, digests equal", async () => {
    const path = Path.join(tempDir(), "txlane.sock")
    const receiver = spawn(process.execPath, [
      "--conditions=txlane-source",
      "--import",
      "tsx",
      Path.join(import.meta.dirname, "..", "src", "bin", "txlane-ts-peer.ts"),
      "receive",
      "--listen",
      path,
      "--respond",
      "json"
    ])
    await receiver.next("listening")
    if (producer === undefined)
      throw new Error("txlane-deployed-producer is not built (npm run build:peers -w @txlane/conformance)")
    const sender = spawn(producer, ["send", "--endpoint", path, "--batches", "500", "--retry-interval-ms", "50"])
    const sent = (await sender.next("report")) as unknown as {
      acknowledged: number
      undelivered: number
      digest: string
    }
    expect(await sender.exited).toBe(0)
    receiver.signal("SIGTERM")
    const received = (await receiver.next("report")) as unknown as { frames: number; digest: string }
    expect(sent).toMatchObject({ acknowledged: 500, undelivered: 0 })
    expect(received.frames).toBe(500)
    expect(received.digest).toBe(sent.digest)
  })
})
