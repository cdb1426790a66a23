/**
 * A library never writes to stdout: the host program owns it (issue 15). A child process uses
 * the sender's and the receiver's Promise APIs in ways that make both warn; its stdout must stay
 * empty. By default the warnings go to stderr; with an injected `logger` they go there instead,
 * and stderr stays empty too.
 */
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, it } from "vitest"

const run = (mode: "default" | "injected") => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "txq-out-")), "seen.json")
  const child = ChildProcess.spawnSync(
    process.execPath,
    [
      "--conditions=txlane-source",
      "--import",
      "tsx",
      path.join(import.meta.dirname, "children", "quiet.ts"),
      mode,
      out
    ],
    { encoding: "utf8", timeout: 60_000 }
  )
  return { ...child, seen: JSON.parse(fs.readFileSync(out, "utf8")) as Array<string> }
}

it("by default the libraries warn on stderr, never on stdout", () => {
  const child = run("default")
  expect(child.status).toBe(0)
  expect(child.stdout).toBe("")
  expect(child.stderr).toMatch(/WARN .*cannot connect/)
  expect(child.stderr).toMatch(/WARN connection \d+: frame of 4294967295 bytes exceeds the limit/)
})

it("with an injected logger the warnings go to it: stdout and stderr stay empty", () => {
  const child = run("injected")
  expect(child.status).toBe(0)
  expect(child.stdout).toBe("")
  expect(child.stderr).toBe("")
  expect(child.seen.some((line) => /^warn .*cannot connect/.test(line))).toBe(true)
  expect(child.seen.some((line) => /^warn connection \d+: frame of 4294967295 bytes/.test(line))).toBe(true)
})
