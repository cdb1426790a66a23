/**
 * `txlane-sender` and `txlane-receiver` together, as processes (from source, via tsx) over a
 * real socket: a synthetic run captured with `--out`, the capture replayed with `--input`, and
 * the digests of all three compared; SIGTERM mid-run; usage errors.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, start } from "./helpers.js"

const RECEIVER = BIN.receiver
const SENDER = BIN.sender

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
      "--queue-capacity",
      "--overflow",
      "--delivery",
      "--max-in-flight",
      "--ack-timeout",
      "--retries",
      "--connect-timeout",
      "--close-timeout",
      "--duration",
      "--metrics",
      "--otlp-endpoint",
      "TXLANE_ENDPOINT",
      "OTEL_EXPORTER_OTLP_ENDPOINT",
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

  it("acknowledged: sends outstanding are bounded by workers × max-in-flight (a silent receiver; SIGTERM)", async () => {
    const socket = Path.join(dir, "window.sock")
    const silent = start(RECEIVER, ["--listen", socket, "--respond", "none"])
    await silent.waitFor("listening on")
    const sender = start(SENDER, [
      ...["--endpoint", socket, "--batches", "50", "--delivery", "acknowledged"],
      ...["--workers", "2", "--max-in-flight", "3", "--queue-capacity", "20", "--close-timeout", "300ms"]
    ])
    await sender.waitFor("progress")
    sender.child.kill("SIGTERM")
    expect(await sender.exited).toBe(3)
    // The window is min(queue capacity, workers × max in flight) = 6: no answer, so no 7th send.
    expect((await sender.waitFor("summary")).annotations).toMatchObject({
      batches: 6,
      delivered: 0,
      undelivered: 6
    })
    silent.child.kill("SIGTERM")
    expect(await silent.exited).toBe(0)
  })

  it("exits 3 when batches are not delivered (a silent receiver, --ack-timeout 300ms --retries 0), and 1 on a corrupt input file", async () => {
    const socket = Path.join(dir, "silent.sock")
    const silent = start(RECEIVER, ["--listen", socket, "--respond", "none"])
    await silent.waitFor("listening on")
    const corrupt = Path.join(dir, "corrupt.bin")
    Fs.writeFileSync(corrupt, Buffer.from([0, 0, 0, 9, 1, 2]))
    const unanswered = start(SENDER, [
      ...["--endpoint", socket, "--batches", "3", "--delivery", "acknowledged", "--workers", "1"],
      ...["--ack-timeout", "300ms", "--retries", "0", "--close-timeout", "20s"]
    ])
    const bad = start(SENDER, ["--endpoint", Path.join(dir, "nobody.sock"), "--input", corrupt])
    expect(await unanswered.exited).toBe(3)
    const summary = (await unanswered.waitFor("summary")).annotations
    expect(summary).toMatchObject({ batches: 3, delivered: 0, failed: 3, undelivered: 3, resends: 0 })
    // The batches failed on the 300 ms answer deadline, not on the 20 s close deadline.
    expect(summary.timed_out).toBe(false)
    expect(Number(summary.elapsed_ms)).toBeLessThan(15_000)
    expect(await bad.exited).toBe(1)
    expect(bad.events().some((e) => e.level === "ERROR" && String(e.message).includes("corrupt.bin"))).toBe(true)
    silent.child.kill("SIGTERM")
    expect(await silent.exited).toBe(0)
  })
})
