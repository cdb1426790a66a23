/**
 * `txlane-receiver --out FILE` under a short write (issue 12): the receiver runs with a file-size
 * limit (`ulimit -f`, RLIMIT_FSIZE; Node ignores SIGXFSZ, so the write that crosses the limit
 * is cut short and the next one fails with EFBIG). Before the fix the frame that crossed the
 * limit stayed torn at the end of the capture, and a reader of the file went out of step. Now
 * every frame in the file is whole, the frames answered `success` are exactly the ones in the
 * file, and the frames that did not fit are answered with an error.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { Envelope, FrameDecoder, Response } from "@txlane/protocol"
import { Result } from "effect"
import { afterAll, expect, it } from "vitest"
import { BIN as BINS, cleanupTempDirs, figure, frames, printed, tempSocketPath } from "./helpers.js"

afterAll(cleanupTempDirs)

const BIN = BINS.receiver
const LIMIT_KIB = 1024 // ulimit -f counts 1024-byte blocks
const FRAMES = 24
const TX_BYTES = 100_000

it("a short write (file-size limit) never leaves a torn frame in the capture file", async () => {
  const path = tempSocketPath()
  const out = Path.join(Path.dirname(path), "capture.bin")
  const command = [process.execPath, "--import", "tsx", "--conditions=txlane-source", BIN]
    // The file is asserted to hold the frames in the order sent: only per-connection ordering promises it.
    .concat(["--listen", path, "--out", out, "--ordering", "per-connection", "--output", "json"])
    .map((a) => `'${a}'`)
    .join(" ")
  const child = ChildProcess.spawn("bash", ["-c", `ulimit -f ${LIMIT_KIB}; exec ${command}`], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  // The "listening on" line: the socket is bound (read from the output as it comes, no polling).
  await printed(child.stdout!, "listening on")
  child.stdout!.resume()
  // 24 frames of one 100 kB transaction each: ~2.4 MB offered against a 1 MiB file.
  const payloads = Array.from({ length: FRAMES }, (_, i) => Envelope.encode([new Uint8Array(TX_BYTES).fill(i + 1)]))
  const responses: Array<Response.Response> = []
  await new Promise<void>((resolve, reject) => {
    const socket = Net.connect({ path })
    const decoder = FrameDecoder.make()
    socket.on("data", (chunk) => {
      for (const p of decoder.push(chunk).frames) {
        const r = Response.decode(p)
        if (Result.isSuccess(r)) responses.push(r.success)
      }
      if (responses.length === FRAMES) {
        socket.end()
        resolve()
      }
    })
    socket.on("error", reject)
    socket.write(frames(...payloads))
  })
  child.kill("SIGTERM")
  expect(await exited).toBe(0)
  const file = Fs.readFileSync(out)
  const decoded = FrameDecoder.decodeAll(file)
  const ok = responses.filter((r) => r.success).length
  figure("capture-short-write", {
    limitBytes: LIMIT_KIB * 1024,
    fileBytes: file.length,
    framesInFile: decoded.frames.length,
    succeeded: ok,
    failed: FRAMES - ok,
    tornTail: decoded.error !== undefined
  })
  expect(file.length).toBeLessThanOrEqual(LIMIT_KIB * 1024)
  expect(decoded.error).toBeUndefined() // no torn frame at the end
  expect(ok).toBeGreaterThan(0)
  expect(ok).toBeLessThan(FRAMES) // the limit was really hit
  expect(decoded.frames).toHaveLength(ok)
  // The frames in the file are the first `ok` ones, whole and in order.
  expect(decoded.frames.every((f, i) => Buffer.from(f).equals(Buffer.from(payloads[i]!)))).toBe(true)
  expect(responses.slice(ok).every((r) => !r.success && String(r.error).includes("capture file"))).toBe(true)
}, 60_000)
