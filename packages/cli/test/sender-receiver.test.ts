/**
 * `txlane-sender` and `txlane-receiver` together, as processes (from source, via tsx) over a
 * real socket: a synthetic run captured with `--out`, the capture replayed with `--input`, and
 * the digests of all three compared; SIGTERM mid-run; usage errors.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { BIN } from "./helpers.js"

const RECEIVER = BIN.receiver
const SENDER = BIN.sender

interface Event {
  readonly message: unknown
  readonly level: string
  readonly annotations: Record<string, unknown>
}

const start = (bin: string, args: ReadonlyArray<string>) => {
  const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", "--conditions=txlane-source", bin, ...args], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  let err = ""
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString()
  })
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  const events = (): Array<Event> =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Event)
  const find = (message: string) =>
    events().find((e) => (Array.isArray(e.message) ? e.message.join(" ") : String(e.message)).startsWith(message))
  const waitFor = async (message: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    while (find(message) === undefined) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no "${message}" line; stderr: ${err}`)
      await new Promise((r) => setTimeout(r, 25))
    }
    return find(message)!
  }
  return { child, exited, events, find, waitFor, stderr: () => err, stdout: () => out }
}

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txcli-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

describe("txlane-sender with txlane-receiver", () => {
  it("--help exits 0; a bad flag exits 2", async () => {
    const help = start(SENDER, ["--help"])
    const bad = start(SENDER, ["--endpoint", "/tmp/x.sock", "--delivery", "sometimes"])
    expect(await help.exited).toBe(0)
    for (const flag of [
      "--endpoint",
      "--workers",
      "--queue",
      "--delivery",
      "--input",
      "--batches",
      "--rate",
      "Exit codes"
    ]) {
      expect(help.stdout()).toContain(flag)
    }
    expect(await bad.exited).toBe(2)
    expect(bad.stderr()).toContain("--delivery")
  })

  it("a capture made with --out replays with --input: the same transactions arrive (digests match)", async () => {
    const capture = Path.join(dir, "capture.bin")
    const first = start(RECEIVER, ["--listen", Path.join(dir, "a.sock"), "--out", capture, "--digest"])
    await first.waitFor("listening on")
    const send = start(SENDER, [
      ...["--endpoint", Path.join(dir, "a.sock"), "--delivery", "acknowledged", "--digest"],
      ...["--batches", "60", "--tx-per-batch", "5", "--tx-size", "300", "--seed", "9"]
    ])
    expect(await send.exited).toBe(0)
    const sent = (await send.waitFor("summary")).annotations
    expect(sent).toMatchObject({ batches: 60, delivered: 60, transactions: 300, errors: 0, undelivered: 0 })
    first.child.kill("SIGTERM")
    expect(await first.exited).toBe(0)
    expect((await first.waitFor("summary")).annotations).toMatchObject({ frames: 60, digest: sent.digest })

    const second = start(RECEIVER, ["--listen", Path.join(dir, "b.sock"), "--digest"])
    await second.waitFor("listening on")
    const replay = start(SENDER, ["--endpoint", Path.join(dir, "b.sock"), "--input", capture, "--digest"])
    expect(await replay.exited).toBe(0)
    expect((await replay.waitFor("summary")).annotations).toMatchObject({
      batches: 60,
      transactions: 300,
      digest: sent.digest
    })
    second.child.kill("SIGTERM")
    expect(await second.exited).toBe(0)
    expect((await second.waitFor("summary")).annotations).toMatchObject({
      frames: 60,
      transactions: 300,
      digest: sent.digest
    })
  })

  it("SIGTERM stops an unbounded sender gracefully: queued batches are delivered, summary, exit 0", async () => {
    const socket = Path.join(dir, "c.sock")
    const receiver = start(RECEIVER, ["--listen", socket])
    await receiver.waitFor("listening on")
    const sender = start(SENDER, [
      "--endpoint",
      socket,
      "--batches",
      "unbounded",
      "--rate",
      "200",
      "--delivery",
      "acknowledged"
    ])
    await sender.waitFor("progress")
    sender.child.kill("SIGTERM")
    expect(await sender.exited).toBe(0)
    const summary = (await sender.waitFor("summary")).annotations
    expect(summary).toMatchObject({ errors: 0, undelivered: 0 })
    expect(summary.delivered).toBeGreaterThan(0)
    receiver.child.kill("SIGTERM")
    expect(await receiver.exited).toBe(0)
    expect((await receiver.waitFor("summary")).annotations.frames).toBe(summary.delivered)
  })

  it("exits 3 when batches cannot be delivered, and 1 on a corrupt input file", async () => {
    const corrupt = Path.join(dir, "corrupt.bin")
    Fs.writeFileSync(corrupt, Buffer.from([0, 0, 0, 9, 1, 2]))
    const missing = start(SENDER, [
      ...["--endpoint", Path.join(dir, "nobody.sock"), "--batches", "3", "--delivery", "acknowledged"],
      "--close-timeout-ms",
      "500"
    ])
    const bad = start(SENDER, ["--endpoint", Path.join(dir, "nobody.sock"), "--input", corrupt])
    expect(await missing.exited).toBe(3)
    expect((await missing.waitFor("summary")).annotations).toMatchObject({ delivered: 0, undelivered: 3 })
    expect(await bad.exited).toBe(1)
    expect(bad.events().some((e) => e.level === "ERROR" && String(e.message).includes("corrupt.bin"))).toBe(true)
  })
})
