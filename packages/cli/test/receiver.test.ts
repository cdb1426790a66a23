/**
 * The `txlane-receiver` command as a user runs it: a real process (from source, via tsx), real
 * sockets, real signals, and its `/metrics` scraped over HTTP.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { Envelope, FrameDecoder, FrameEncoder } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { afterAll, describe, expect, it } from "vitest"
import { BIN as BINS, cleanupTempDirs, printed, start as startBin, tempSocketPath } from "./helpers.js"

const BIN = BINS.receiver
const start = (args: ReadonlyArray<string>) => startBin(BIN, args)

const messageOf = (e: { message: unknown }) => (Array.isArray(e.message) ? e.message.join(" ") : String(e.message))

const sendAll = (path: string, bytes: Uint8Array, expectResponses: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = Net.connect(path)
    let responses = 0
    const decoder = FrameDecoder.make()
    socket.on("data", (chunk) => {
      responses += decoder.push(chunk).frames.length
      if (responses === expectResponses) socket.end()
    })
    socket.on("error", reject)
    socket.on("close", () => resolve(responses))
    socket.write(bytes)
  })

const scrape = async (url: string, path: string) => {
  const response = await fetch(`${url}${path}`)
  return { status: response.status, text: await response.text() }
}

const metricValue = (text: string, name: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(" ") + 1))
}

afterAll(cleanupTempDirs)

describe("txlane-receiver", () => {
  it("--help lists the flags and exits 0; a bad flag exits 2 with a short message", async () => {
    const help = start(["--help"])
    expect(await help.exited).toBe(0)
    for (const flag of ["--listen", "--respond", "--metrics", "--out", "--output", "--log-level", "Exit codes"]) {
      expect(help.stdout()).toContain(flag)
    }
    const bad = start(["--listen", "/tmp/x.sock", "--respond", "maybe"])
    expect(await bad.exited).toBe(2)
    expect(bad.stderr()).toContain("--respond")
    expect(bad.stderr()).toContain("txlane-receiver --help")
  })

  it("serves /metrics and /healthz, captures to --out, logs JSON lines, and shuts down on SIGTERM with a summary", async () => {
    const socket = tempSocketPath()
    const out = Path.join(Path.dirname(socket), "capture.bin")
    const run = start(["--listen", socket, "--out", out, "--digest", "--metrics", "127.0.0.1:0"])
    await printed(run.child.stdout!, "metrics on")
    const url = String(run.events().find((e) => messageOf(e).startsWith("metrics on"))?.annotations.metrics_url)

    expect(await scrape(url, "/healthz")).toEqual({ status: 200, text: "ok\n" })
    const before = await scrape(url, "/metrics")
    expect(before.status).toBe(200)
    expect(before.text).toContain("# TYPE txlane_receiver_frames_received_total counter")
    expect(before.text).toContain("# TYPE txlane_receiver_connections_open gauge")
    expect(metricValue(before.text, "txlane_receiver_frames_received_total")).toBe(0)

    const batches = [...Workload.batches({ batches: 40, txPerBatch: 10, txSize: 200, seed: 7 })]
    const expected = Digest.make()
    for (const b of batches) expected.addAll(b)
    expect(await sendAll(socket, FrameEncoder.concat(batches.map((b) => Envelope.encode(b))), 40)).toBe(40)

    const after = await scrape(url, "/metrics")
    expect(after.text).toContain("# TYPE txlane_receiver_submit_duration_seconds histogram")
    expect(metricValue(after.text, "txlane_receiver_frames_received_total")).toBe(40)
    expect(metricValue(after.text, "txlane_receiver_transactions_received_total")).toBe(400)
    expect(metricValue(after.text, "txlane_receiver_bytes_received_total")).toBeGreaterThan(40 * 10 * 200)

    run.child.kill("SIGTERM")
    expect(await run.exited).toBe(0)
    const summary = run.events().find((e) => messageOf(e) === "summary")
    expect(summary?.annotations).toMatchObject({
      frames: 40,
      transactions: 400,
      errors: 0,
      unsubmitted_frames: 0,
      capture_frames: 40,
      digest: expected.value,
      exit_code: 0
    })
    // Every stdout line is JSON; the human table goes to stderr.
    expect(
      run
        .stdout()
        .trim()
        .split("\n")
        .every((l) => l.startsWith("{"))
    ).toBe(true)
    expect(run.stderr()).toContain("txlane-receiver")
    expect(run.stderr()).toContain(expected.value)
    expect(Fs.existsSync(socket)).toBe(false)

    // The capture replays: same frames, same digest.
    const captured = FrameDecoder.decodeAll(Fs.readFileSync(out))
    expect(captured.error).toBeUndefined()
    const replayed = Digest.make()
    for (const frame of captured.frames) {
      const decoded = Envelope.decode(frame)
      if (decoded._tag === "Success") replayed.addAll(decoded.success)
    }
    expect(replayed.value).toBe(expected.value)
    expect(replayed.count).toBe(400)
  })

  it("exits 1 with a one-line error when it cannot listen", async () => {
    const path = tempSocketPath("file.txt")
    Fs.writeFileSync(path, "not a socket")
    const run = start(["--listen", path])
    expect(await run.exited).toBe(1)
    const errors = run.events().filter((e) => e.level === "ERROR")
    expect(errors.map(messageOf)).toEqual([expect.stringContaining("not a socket")])
    expect(Fs.readFileSync(path, "utf8")).toBe("not a socket")
  })
})
