/**
 * The Rust testee kit's README example, built as a crate of its own outside the repository
 * (`src/main.rs` = the README block, a path dependency on `peers/rust`, the peer's Cargo.lock
 * as a start so the versions match), then run through the quick matrix as both `--sender-cmd`
 * and `--receiver-cmd`: every cell green. `cargo build --offline` first (the registry cache of
 * the peer's own build suffices), online if that fails. One CARGO_TARGET_DIR under the OS
 * temp dir (`txlane-testee-cargo`) is shared between runs, so only the first build compiles the
 * dependencies. Skipped, loudly, without `cargo`;
 * under `CI=true` that skip fails (packages/testkit/allowed-skips.txt).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Skip } from "@txlane/testkit"
import { afterAll, describe, expect, it } from "vitest"
import { exec, expectAllGreen, readmeExample } from "./lib/testee.js"

const RUST_DIR = Path.resolve(import.meta.dirname, "../peers/rust")
const TARGET_DIR = Path.join(Os.tmpdir(), "txlane-testee-cargo")
const hasCargo = ChildProcess.spawnSync("cargo", ["--version"]).status === 0

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txlane-testee-rust-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const CARGO_TOML = `[package]
name = "acme"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
txlane-peer = { path = ${JSON.stringify(RUST_DIR)} }
bytes = "1"
tokio = { version = "1", features = ["io-util", "time"] }
`

describe.skipIf(Skip.unless(hasCargo, "conformance/testee-rust", "`cargo` not found on PATH"))(
  "Rust testee kit",
  () => {
    it("the README example, built outside the repo, passes every quick cell as sender and receiver", async () => {
      expect(Path.relative(Path.resolve(RUST_DIR, "../../../.."), dir).startsWith("..")).toBe(true)
      const example = readmeExample(Path.join(RUST_DIR, "README.md"), "rust")
      expect(example.split("\n").length).toBeLessThan(60)
      Fs.mkdirSync(Path.join(dir, "src"))
      Fs.writeFileSync(Path.join(dir, "src", "main.rs"), example)
      Fs.writeFileSync(Path.join(dir, "Cargo.toml"), CARGO_TOML)
      Fs.copyFileSync(Path.join(RUST_DIR, "Cargo.lock"), Path.join(dir, "Cargo.lock"))
      const env = { ...process.env, CARGO_TARGET_DIR: TARGET_DIR }
      let build = await exec(["cargo", "build", "--offline"], { cwd: dir, env, timeoutMs: 240_000 })
      if (build.code !== 0) build = await exec(["cargo", "build"], { cwd: dir, env, timeoutMs: 240_000 })
      if (build.code !== 0) throw new Error(`cargo build: exit ${build.code}\n${build.stderr.slice(-4000)}`)
      await expectAllGreen(dir, "acme", Path.join(TARGET_DIR, "debug", "acme"))
    }, 400_000)
  }
)
