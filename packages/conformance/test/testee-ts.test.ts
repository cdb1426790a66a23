/**
 * The TypeScript testee kit's README example, written to a directory outside the repository
 * whose `node_modules/@txlane/{conformance,protocol}` link to this repository's packages
 * (local-path dependencies), type-checked there with `tsc --strict`, and run with the
 * repository's tsx and the `txlane-source` condition (so `@txlane/conformance/testee` resolves
 * to `src/testee/index.ts`, no build needed) through the quick matrix as both `--sender-cmd` and
 * `--receiver-cmd`: every cell green. Also: the kit's usage errors exit 2, and its client
 * (`dialFrames`) takes a close before any answer as a broken connection, not a silent receiver.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { type Conn, dialFrames, runTestee, type SendOptions } from "../src/testee/index.js"
import { exec, expectAllGreen, readmeExample } from "./lib/testee.js"

const PACKAGE_DIR = Path.resolve(import.meta.dirname, "..")
const TSX = Path.resolve(PACKAGE_DIR, "../../node_modules/.bin/tsx")
const TSC = Path.resolve(PACKAGE_DIR, "../../node_modules/.bin/tsc")

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txlane-testee-ts-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const setUp = () => {
  if (Fs.existsSync(Path.join(dir, "acme.ts"))) return
  Fs.writeFileSync(Path.join(dir, "package.json"), JSON.stringify({ name: "acme", private: true, type: "module" }))
  Fs.mkdirSync(Path.join(dir, "node_modules", "@txlane"), { recursive: true })
  Fs.symlinkSync(PACKAGE_DIR, Path.join(dir, "node_modules", "@txlane", "conformance"), "dir")
  Fs.symlinkSync(Path.resolve(PACKAGE_DIR, "../protocol"), Path.join(dir, "node_modules", "@txlane", "protocol"), "dir")
  Fs.writeFileSync(Path.join(dir, "acme.ts"), readmeExample(Path.join(PACKAGE_DIR, "README.md"), "ts"))
}
const command = () => `${TSX} --conditions=txlane-source ${Path.join(dir, "acme.ts")}`

describe("TypeScript testee kit", () => {
  it.each([
    [["send"], /--endpoint is required/],
    [["receive", "--listen", "/tmp/x.sock", "--respond", "maybe"], /--respond must be one of json, none/],
    [["send", "--endpoint", "/tmp/x.sock", "--colour", "red"], /Unknown option '--colour'/],
    [["serve"], /the first argument must be receive or send/]
  ])("usage error %j: exit 2", async (args, message) => {
    setUp()
    const r = await exec([...command().split(" "), ...args], { cwd: dir, timeoutMs: 30_000 })
    expect(r.stderr).toMatch(message)
    expect(r.stdout).toBe("")
    expect(r.code).toBe(2)
  })

  it("the README example, outside the repo, passes every quick cell as sender and receiver", async () => {
    expect(Path.relative(Path.resolve(PACKAGE_DIR, "../.."), dir).startsWith("..")).toBe(true)
    setUp()
    expect(readmeExample(Path.join(PACKAGE_DIR, "README.md"), "ts").split("\n").length).toBeLessThan(50)
    const typecheck = await exec(
      [
        TSC,
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--customConditions",
        "txlane-source",
        "--target",
        "es2022",
        "--skipLibCheck",
        "--types",
        "node",
        "--typeRoots",
        Path.resolve(PACKAGE_DIR, "../../node_modules/@types"),
        "acme.ts"
      ],
      { cwd: dir, timeoutMs: 60_000 }
    )
    expect(typecheck.stdout + typecheck.stderr).toBe("")
    expect(typecheck.code).toBe(0)
    await expectAllGreen(dir, "acme", command(), 150_000)
  }, 170_000)
})

describe("the kit's client, dialFrames", () => {
  /**
   * A receiver that closes every connection without answering, once the frame has arrived: the
   * write completed, as it can for a receiver at its connection limit over TCP (the frame reaches
   * the kernel after its FIN).
   */
  const refusing = async (beforeClose = () => {}): Promise<{ path: string; close: () => Promise<void> }> => {
    const path = Path.join(dir, `refusing-${process.pid}.sock`)
    Fs.rmSync(path, { force: true })
    const server = Net.createServer((socket) =>
      socket.once("data", () => {
        beforeClose()
        socket.destroy()
      })
    )
    await new Promise<void>((resolve) => server.listen(path, resolve))
    return { path, close: () => new Promise((resolve) => server.close(() => resolve())) }
  }

  it("fire-and-forget: a connection closed before any answer is broken (send rejects), not a silent receiver", async () => {
    const server = await refusing()
    try {
      const started = Date.now()
      const conn = await dialFrames(server.path, {
        delivery: "fire-and-forget",
        maxFrameBytes: 1024,
        receiverSilent: () => false
      })
      // A silent receiver would make `send` resolve false after 1 s; a close must reject at once.
      await expect(conn.send(new Uint8Array([0x0a, 0x01, 0x01]))).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(1000)
      conn.close()
    } finally {
      await server.close()
    }
  })

  it("fire-and-forget: once another connection found the receiver silent, a clean close after the write is delivery", async () => {
    // The window CI hit: one worker judged a --respond none receiver silent and sent the rest;
    // the receiver, with every batch, exited before this connection's own second was up. Here
    // the silence becomes known after the write, while this connection waits for its answer.
    let known = false
    const server = await refusing(() => {
      known = true
    })
    try {
      const started = Date.now()
      const conn = await dialFrames(server.path, {
        delivery: "fire-and-forget",
        maxFrameBytes: 1024,
        receiverSilent: () => known
      })
      await expect(conn.send(new Uint8Array([0x0a, 0x01, 0x01]))).resolves.toBe(false)
      expect(known).toBe(true)
      expect(Date.now() - started).toBeLessThan(1000)
      conn.close()
    } finally {
      await server.close()
    }
  })

  it("fire-and-forget: once the receiver is known silent, a frame is delivered when written, without waiting", async () => {
    const path = Path.join(dir, `silent-${process.pid}.sock`)
    Fs.rmSync(path, { force: true })
    const server = Net.createServer((socket) => socket.resume()) // reads, never answers
    await new Promise<void>((resolve) => server.listen(path, resolve))
    try {
      const conn = await dialFrames(path, {
        delivery: "fire-and-forget",
        maxFrameBytes: 1024,
        receiverSilent: () => true
      })
      const started = Date.now()
      await expect(conn.send(new Uint8Array([0x0a, 0x01, 0x01]))).resolves.toBe(false)
      expect(Date.now() - started).toBeLessThan(500)
      conn.close()
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe("the kit's sender loop", () => {
  it.each([false, true])(
    "tells every later send, through receiverSilent, that a send reported a silent receiver (answered: %s)",
    async (answered) => {
      const seen: Array<boolean> = []
      const dial = async (_endpoint: string, options: SendOptions): Promise<Conn> => ({
        send: async () => {
          seen.push(options.receiverSilent())
          return answered
        },
        close: () => {}
      })
      const stdout = vi.spyOn(process.stdout, "write").mockImplementation((_line, callback?: unknown) => {
        if (typeof callback === "function") callback()
        return true
      }) // the report line
      try {
        const argv = ["send", "--endpoint", "/tmp/unused.sock", "--workers", "1", "--batches", "3"]
        expect(await runTestee({ name: "acme", dial }, argv)).toBe(0)
      } finally {
        stdout.mockRestore()
      }
      expect(seen).toEqual([false, !answered, !answered])
    }
  )
})
