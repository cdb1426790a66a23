/**
 * `txlane-conformance` as a process (from source, via tsx): usage errors exit 2 before anything
 * runs, a real failing cell exits 1 and lands in the JUnit file and the step summary with its
 * detail, a passing run (the built Rust and Go peers, which nx builds before `test`) exits 0 and
 * appends to the summary file.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Children } from "@txlane/testkit"
import { afterAll, describe, expect, it } from "vitest"
import { findAll, parseXml } from "./lib/xml.js"

const BIN = Path.resolve(import.meta.dirname, "../src/bin/txlane-conformance.ts")
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txconf-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const run = (args: ReadonlyArray<string>, timeoutMs = 120_000) =>
  Children.run([process.execPath, "--import", "tsx", "--conditions=txlane-source", BIN, ...args], {
    // NO_COLOR: compare effect/cli's messages as text.
    env: { ...process.env, NO_COLOR: "1" },
    timeoutMs
  })

describe("txlane-conformance usage errors exit 2 and run nothing", () => {
  it.each([
    [["--only", "scenario=strem"], /unknown scenario `strem` \(valid: stream, /],
    [["--only", "colour=red"], /unknown key `colour`/],
    [["--only", "kill-restrt"], /`kill-restrt` is in no case id/],
    [["--only", "scenario=vectors,sender=go"], /match no case/],
    [["--require", "rust,cobol"], /--require: unknown implementation cobol \(valid: ts, rust, go\)/],
    [["--expected-failures", "/nonexistent/list.txt"], /no such file/],
    [["--no-such-flag"], /Unrecognized flag: --no-such-flag/],
    [["peers", "build", "--only", "java"], /unknown peer java \(valid: rust, go\)/]
  ])("%j", async (args, message) => {
    const junit = Path.join(dir, `usage-${args.join("_").replace(/\W/g, "")}.xml`)
    const result = await run(args[0] === "peers" ? args : [...args, "--junit", junit])
    expect(result.stderr).toMatch(message)
    expect(result.code).toBe(2)
    expect(result.stdout).not.toContain("PASS")
    expect(Fs.existsSync(junit)).toBe(false)
  })
})

describe("txlane-conformance reports", () => {
  const summary = Path.join(dir, "summary.md")

  it("a failing outside sender: exit 1, the cell's failure text in JUnit and in the summary", async () => {
    const junit = Path.join(dir, "fail.xml")
    // A real process that connects nowhere and prints no report line: the cell must fail.
    const result = await run([
      ...["--quick", "--name", "broken", "--sender-cmd", "sh -c 'exit 7' {endpoint}"],
      ...["--only", "scenario=stream,receiver=ts,transport=uds,delivery=acknowledged"],
      ...["--junit", junit, "--summary-md", summary]
    ])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain("**FAIL**")
    const xml = parseXml(Fs.readFileSync(junit, "utf8"))
    expect(xml.attributes).toMatchObject({ tests: "1", failures: "1", skipped: "0" })
    const [testcase] = findAll(xml, "testcase")
    expect(testcase!.attributes.name).toBe("stream/broken->ts/uds/acknowledged")
    const failure = testcase!.children[0]!
    expect(failure.name).toBe("failure")
    expect(failure.attributes.type).toBe("transportError")
    expect(failure.text).toMatch(/exit|report/)
    const md = Fs.readFileSync(summary, "utf8")
    expect(md).toContain("### txlane conformance (quick): ❌ FAIL")
    expect(md).toContain("| `stream/broken->ts/uds/acknowledged` | fail | transportError |")
  }, 120_000)

  it("a passing run: exit 0, JUnit all green, the summary appended (not overwritten)", async () => {
    const junit = Path.join(dir, "pass.xml")
    const result = await run([
      ...["--quick", "--only", "scenario=stream,sender=go,receiver=rust,transport=uds"],
      ...["--junit", junit, "--summary-md", summary]
    ])
    expect(result.stderr).not.toMatch(/^fail/m)
    expect(result.code).toBe(0)
    const xml = parseXml(Fs.readFileSync(junit, "utf8"))
    const testcases = findAll(xml, "testcase")
    expect(testcases.map((t) => t.attributes.name).sort()).toEqual([
      "stream/go->rust/uds/acknowledged",
      "stream/go->rust/uds/fire-and-forget"
    ])
    expect(testcases.every((t) => t.children.length === 0)).toBe(true)
    expect(xml.attributes).toMatchObject({ tests: "2", failures: "0", skipped: "0" })
    const md = Fs.readFileSync(summary, "utf8")
    expect(md.indexOf("❌ FAIL")).toBeLessThan(md.indexOf("✅ PASS"))
  }, 120_000)
})
