/**
 * The Go testee kit's README example, built as a module of its own outside the repository
 * (`go mod init example.com/acme` + a `replace` of the kit's module by this checkout's
 * `peers/go`, i.e. what `go get` gives a team once the repository is public), then run through
 * the quick matrix as both `--sender-cmd` and `--receiver-cmd`: every cell green.
 * Skipped, loudly, without `go`; under `CI=true` that skip fails (packages/testkit/allowed-skips.txt).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Skip } from "@txlane/testkit"
import { afterAll, describe, expect, it } from "vitest"
import { exec, expectAllGreen, readmeExample } from "./lib/testee.js"

const GO_DIR = Path.resolve(import.meta.dirname, "../peers/go")
const MODULE = "github.com/txlane/txlane/packages/conformance/peers/go"
const hasGo = ChildProcess.spawnSync("go", ["version"]).status === 0

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txlane-testee-go-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

describe.skipIf(Skip.unless(hasGo, "conformance/testee-go", "`go` not found on PATH"))("Go testee kit", () => {
  it("go.mod declares the documented module path", () => {
    expect(Fs.readFileSync(Path.join(GO_DIR, "go.mod"), "utf8")).toMatch(new RegExp(`^module ${MODULE}$`, "m"))
  })

  it("the README example, built outside the repo, passes every quick cell as sender and receiver", async () => {
    expect(Path.relative(Path.resolve(GO_DIR, "../../../.."), dir).startsWith("..")).toBe(true)
    const example = readmeExample(Path.join(GO_DIR, "README.md"), "go")
    expect(example.split("\n").length).toBeLessThan(60)
    Fs.writeFileSync(Path.join(dir, "main.go"), example)
    // GOFLAGS=-mod=mod and no network: the kit comes from the replace directive alone.
    const env = { ...process.env, GOFLAGS: "-mod=mod", GOPROXY: "off", GOWORK: "off" }
    for (const argv of [
      ["go", "mod", "init", "example.com/acme"],
      ["go", "mod", "edit", `-require=${MODULE}@v0.0.0`, `-replace=${MODULE}=${GO_DIR}`],
      ["go", "vet", "."],
      ["go", "build", "-o", "acme", "."]
    ]) {
      const r = await exec(argv, { cwd: dir, env, timeoutMs: 90_000 })
      if (r.code !== 0) throw new Error(`${argv.join(" ")}: exit ${r.code}\n${r.stderr}`)
    }
    await expectAllGreen(dir, "acme", Path.join(dir, "acme"))
  }, 170_000)
})
