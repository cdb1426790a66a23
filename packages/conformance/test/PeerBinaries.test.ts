/**
 * Locating the reference peer binaries: the from-source build first, then the prebuilt copy
 * of this platform; a missing one is a skip whose reason names the binary, where it was looked
 * for and the command that fixes it (with an install hint when the toolchain is missing too).
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { binaryAvailability, go, locatePeerBinary, packageRoot } from "../src/harness/Peers.js"
import { builtDir, PLATFORM, prebuiltDir } from "../src/harness/Toolchain.js"

const PATH = process.env.PATH
afterEach(() => {
  process.env.PATH = PATH
})

describe("reference peer binaries", () => {
  it("a missing binary: not available, with where it was looked for and how to build it", () => {
    const a = binaryAvailability("go", "txlane-go-nonexistent", "go thing")
    expect(a.ok).toBe(false)
    if (a.ok) return
    expect(a.toolchain).toBe(true)
    expect(a.reason).toMatch(/^go thing not available \(txlane-go-nonexistent: /)
    expect(a.reason).toContain(`not built in ${Path.relative(packageRoot, builtDir(packageRoot, "go"))}`)
    expect(a.reason).toContain(
      PLATFORM === "linux-x64"
        ? `not in ${Path.relative(packageRoot, prebuiltDir(packageRoot))}`
        : `no prebuilt binaries for ${PLATFORM}`
    )
    expect(a.reason).toContain("npm run build:peers -w @txlane/conformance")
  })

  it("without the toolchain on PATH the reason says what to install", () => {
    process.env.PATH = ""
    const a = binaryAvailability("rust", "txlane-rust-nonexistent")
    expect(a.ok ? "" : a.reason).toContain("no `cargo` on PATH to build it: install Rust (https://rustup.rs)")
  })

  it("the built Go peer is found in its build directory, and the Go impl runs that file", () => {
    const built = Path.join(builtDir(packageRoot, "go"), "txlane-go-sender")
    if (!Fs.existsSync(built)) throw new Error("build the peers first (nx builds them before `test`)")
    expect(locatePeerBinary("go", "txlane-go-sender")).toBe(built)
    expect(go.availability(["sender"])).toEqual({ ok: true })
    expect(go.command("sender", "/tmp/x.sock", ["--batches", "1"])).toEqual([
      built,
      "--endpoint",
      "/tmp/x.sock",
      "--batches",
      "1"
    ])
  })
})
