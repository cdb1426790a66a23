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
import { afterAll, describe, expect, it } from "vitest"
import { dialFrames } from "../src/testee/index.js"
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
  const refusing = async (): Promise<{ path: string; close: () => Promise<void> }> => {
    const path = Path.join(dir, `refusing-${process.pid}.sock`)
    Fs.rmSync(path, { force: true })
    const server = Net.createServer((socket) => socket.once("data", () => socket.destroy()))
    await new Promise<void>((resolve) => server.listen(path, resolve))
    return { path, close: () => new Promise((resolve) => server.close(() => resolve())) }
  }

  it("fire-and-forget: a connection closed before any answer is broken (send rejects), not a silent receiver", async () => {
    const server = await refusing()
    try {
      const started = Date.now()
      const conn = await dialFrames(server.path, { delivery: "fire-and-forget", maxFrameBytes: 1024 })
      // A silent receiver would make `send` resolve false after 1 s; a close must reject at once.
      await expect(conn.send(new Uint8Array([0x0a, 0x01, 0x01]))).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(1000)
      conn.close()
    } finally {
      await server.close()
    }
  })
})
