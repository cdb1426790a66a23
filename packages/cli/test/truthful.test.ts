/**
 * The commands tell the truth (issue #15, "CLIs"): real bins (from source), real sockets.
 * A missing socket or a refused connection is a failure named by its cause, never "delivered";
 * a taken metrics port is a message; a bad endpoint is a usage error with a hint; the version,
 * the environment fallback, `:PORT` for `--metrics`, `--duration`, the JSON line format.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { stripVTControlCharacters } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, type Event, start } from "./helpers.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txtruth-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const version = (
  JSON.parse(Fs.readFileSync(Path.join(import.meta.dirname, "../package.json"), "utf8")) as {
    version: string
  }
).version

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** A TCP port on 127.0.0.1 held by a server of the test until `close`. */
const takenPort = (): Promise<{ port: number; close: () => void }> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () =>
      resolve({ port: (server.address() as Net.AddressInfo).port, close: () => server.close() })
    )
  })

describe("summaries tell the truth", () => {
  it("a missing socket: nothing delivered, 0 B written, the connect failures counted as errors named ENOENT, exit 1", async () => {
    const socket = Path.join(dir, "missing.sock")
    const run = start(BIN.sender, ["--endpoint", socket, "--batches", "10", "--close-timeout", "1500ms"])
    expect(await run.exited).toBe(1)
    const summary = (await run.waitFor("summary")).annotations
    expect(summary).toMatchObject({ batches: 10, delivered: 0, undelivered: 10, bytes_sent: 0, connects: 0 })
    expect(summary.errors).toBeGreaterThan(0)
    expect(summary.errors).toBe(summary.connect_failures)
    expect(Object.keys(summary.error_kinds as object)).toEqual(["connect ENOENT"])
    expect(run.events().some((e) => e.level === "ERROR" && e.message === `cannot connect to ${socket}: ENOENT`)).toBe(
      true
    )
    // The human table (stderr in JSON mode) says so too.
    expect(run.stderr()).toContain("0 of 10 batches")
    expect(run.stderr()).toContain("never connected: ENOENT")
    expect(run.stderr()).toContain("0 B written")
    expect(run.stderr()).not.toContain("SenderClosed")
  })

  it("a refused TCP connection is named ECONNREFUSED", async () => {
    const port = await freePort()
    const run = start(BIN.sender, ["--endpoint", `tcp://127.0.0.1:${port}`, "--batches", "5", "--close-timeout", "1s"])
    expect(await run.exited).toBe(1)
    const summary = (await run.waitFor("summary")).annotations
    expect(summary).toMatchObject({ delivered: 0, undelivered: 5 })
    expect(Object.keys(summary.error_kinds as object)).toEqual(["connect ECONNREFUSED"])
  })

  it("a metrics port already in use is a message naming the address and EADDRINUSE, exit 1 (both commands)", async () => {
    const taken = await takenPort()
    try {
      const receiver = start(BIN.receiver, [
        ...["--listen", Path.join(dir, "m.sock"), "--metrics", `127.0.0.1:${taken.port}`]
      ])
      const sender = start(BIN.sender, [
        ...["--endpoint", Path.join(dir, "none.sock"), "--metrics", `127.0.0.1:${taken.port}`]
      ])
      const text = `cannot serve metrics on 127.0.0.1:${taken.port}: address already in use (EADDRINUSE)`
      for (const run of [receiver, sender]) {
        expect(await run.exited).toBe(1)
        expect(run.events().find((e) => e.level === "ERROR")?.message).toBe(text)
      }
    } finally {
      taken.close()
    }
  })

  it("a bad endpoint or option value exits 2 before anything starts; host:port gets the tcp:// hint (sender and receiver)", async () => {
    const sender = start(BIN.sender, ["--endpoint", "localhost:9000"])
    const receiver = start(BIN.receiver, ["--listen", "127.0.0.1:9000"])
    const relative = start(BIN.sender, ["--endpoint", "relative.sock"])
    const tooLarge = start(BIN.sender, ["--endpoint", "/tmp/x.sock", "--max-frame-bytes", "5000000000"])
    expect(await sender.exited).toBe(2)
    expect(sender.stderr()).toContain("for TCP write tcp://localhost:9000")
    expect(await receiver.exited).toBe(2)
    expect(receiver.stderr()).toContain("for TCP write tcp://127.0.0.1:9000")
    expect(await relative.exited).toBe(2)
    expect(relative.stderr()).toContain("absolute socket path")
    expect(relative.stderr()).not.toContain("tcp://relative.sock")
    // A value only the library can judge is a usage error too, with the library's message.
    expect(await tooLarge.exited).toBe(2)
    expect(tooLarge.events().find((e) => e.level === "ERROR")?.message).toContain("invalid option maxFrameBytes")
  })
})

describe("the flags users expect", () => {
  it("-V and --version print the version on every bin, exit 0", async () => {
    const runs = [BIN.sender, BIN.receiver, BIN.txlane].flatMap((bin) => [
      start(bin, ["-V"]),
      start(bin, ["--version"])
    ])
    for (const run of runs) {
      expect(await run.exited).toBe(0)
      // Under nx, FORCE_COLOR is set and the version line is styled: compare the text.
      expect(stripVTControlCharacters(run.stdout())).toContain(`v${version}`)
    }
  }, 120_000)

  it("TXLANE_ENDPOINT is the endpoint of both commands when no flag is given; txlane send/receive are the same commands", async () => {
    const env = { TXLANE_ENDPOINT: Path.join(dir, "env.sock") }
    const receiver = start(BIN.txlane, ["receive"], env)
    expect((await receiver.waitFor("listening on")).annotations.address).toBe(env.TXLANE_ENDPOINT)
    const sender = start(BIN.txlane, ["send", "--batches", "20"], env)
    expect(await sender.exited).toBe(0)
    expect((await sender.waitFor("summary")).annotations).toMatchObject({
      endpoint: env.TXLANE_ENDPOINT,
      delivered: 20
    })
    receiver.child.kill("SIGTERM")
    expect(await receiver.exited).toBe(0)
    expect((await receiver.waitFor("summary")).annotations.frames).toBe(20)
  })

  it("--metrics :PORT listens on every interface (reachable on 127.0.0.1) and serves runtime metrics next to txlane's", async () => {
    const run = start(BIN.receiver, ["--listen", Path.join(dir, "all.sock"), "--metrics", ":0"])
    const url = String((await run.waitFor("metrics on")).annotations.metrics_url)
    const port = new URL(url).port
    expect(new URL(url).hostname).toMatch(/^(\[::\]|0\.0\.0\.0)$/)
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    for (const name of [
      "txlane_receiver_frames_received_total",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
      "nodejs_heap_size_used_bytes",
      "nodejs_eventloop_lag_p99_seconds"
    ]) {
      expect(text).toContain(name)
    }
    run.child.kill("SIGTERM")
    expect(await run.exited).toBe(0)
  })

  it("--duration ends an unbounded run by itself: what was queued is delivered, exit 0", async () => {
    const socket = Path.join(dir, "d.sock")
    const receiver = start(BIN.receiver, ["--listen", socket])
    await receiver.waitFor("listening on")
    const sender = start(BIN.sender, ["--endpoint", socket, "--rate", "100", "--duration", "1500ms"])
    expect(await sender.exited).toBe(0)
    expect(sender.find("--duration reached")).toBeDefined()
    const summary = (await sender.waitFor("summary")).annotations
    expect(summary).toMatchObject({ errors: 0, undelivered: 0 })
    expect(summary.elapsed_ms).toBeGreaterThanOrEqual(1500)
    expect(summary.delivered).toBe(summary.batches)
    receiver.child.kill("SIGTERM")
    expect(await receiver.exited).toBe(0)
  })
})

describe("logs", () => {
  const isNoisy = (value: unknown): boolean =>
    typeof value === "number"
      ? !Number.isInteger(value) && String(value).split(".")[1]!.length > 3
      : typeof value === "object" && value !== null && Object.values(value).some(isNoisy)

  it("JSON lines have the documented fields only, snake_case annotations, no float noise; --output tty prints human lines", async () => {
    const socket = Path.join(dir, "j.sock")
    const receiver = start(BIN.receiver, ["--listen", socket])
    await receiver.waitFor("listening on")
    const sender = start(BIN.sender, [
      "--endpoint",
      socket,
      "--rate",
      "50",
      "--batches",
      "100",
      "--delivery",
      "acknowledged"
    ])
    expect(await sender.exited).toBe(0)
    receiver.child.kill("SIGTERM")
    expect(await receiver.exited).toBe(0)
    for (const run of [sender, receiver]) {
      const lines = run.stdout().trim().split("\n")
      const events = lines.map((l) => JSON.parse(l) as Event)
      for (const event of events) {
        expect(Object.keys(event).sort()).toEqual(["annotations", "level", "message", "timestamp"])
        expect(typeof event.message).toBe("string")
        expect(Object.keys(event.annotations).every((k) => /^[a-z0-9_]+$/.test(k))).toBe(true)
        expect(isNoisy(event.annotations)).toBe(false)
      }
      expect(events.find((e) => e.message === "progress")?.annotations.elapsed_ms).toBeGreaterThan(0)
    }
    const summary = sender.find("summary")!.annotations
    expect(typeof summary.ack_p99_ms).toBe("number")

    const tty = start(BIN.sender, ["--endpoint", Path.join(dir, "nobody.sock"), "--batches", "1", "--output", "tty"])
    expect(await tty.exited).toBe(1)
    expect(tty.stderr()).toMatch(/\d\d:\d\d:\d\d ERROR cannot connect to .*nobody\.sock: ENOENT/)
    expect(tty.stdout()).toContain("┌ txlane-sender")
    expect(tty.stdout()).not.toContain("{")
  }, 120_000)
})
