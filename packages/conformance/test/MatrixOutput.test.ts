/**
 * The harness's machine-facing outputs and its fail-safe checks: the `--only` validation
 * against a real plan, `--require` in the verdict, the JUnit XML (parsed back with a strict
 * parser) and the markdown step summary.
 */
import { describe, expect, it } from "vitest"
import { makePlan } from "../src/harness/Cli.js"
import * as Matrix from "../src/harness/Matrix.js"
import { Outcome, type Outcome as OutcomeType, verdict } from "../src/harness/Outcome.js"
import * as Scenarios from "../src/harness/Scenarios.js"
import { findAll, parseXml } from "./lib/xml.js"

const cases = Matrix.casesOf(Scenarios.all, makePlan({ quick: true }))
const errorOf = (only: string) => {
  const checked = Matrix.checkFilter(only, cases, Scenarios.all)
  return "error" in checked ? checked.error : undefined
}

describe("--only is checked against the plan", () => {
  it("accepts valid terms and keeps exactly the matching cases", () => {
    const checked = Matrix.checkFilter("scenario=stream,receiver=go,transport=uds", cases, Scenarios.all)
    if ("error" in checked) throw new Error(checked.error)
    const kept = cases.filter(checked.filter)
    expect(kept.length).toBeGreaterThan(0)
    expect(kept.every((c) => c.scenario === "stream" && c.receiver === "go" && c.transport === "uds")).toBe(true)
  })

  it.each([
    ["scenario=strem", /unknown scenario `strem` \(valid: stream, tx1, workers16/],
    ["colour=red", /unknown key `colour`.*valid keys: scenario, sender, receiver, impl, transport, delivery/],
    ["receiver=java", /unknown receiver `java` \(valid: ts, rust, go\)/],
    ["delivery=ff", /unknown delivery `ff` \(valid: (fire-and-forget, acknowledged|acknowledged, fire-and-forget)\)/],
    ["kill-restrt", /`kill-restrt` is in no case id/],
    ["scenario=vectors,sender=go", /together match no case/],
    [" , ", /no terms/]
  ])("%s is an error", (only, message) => {
    expect(errorOf(only)).toMatch(message)
  })

  it("names a real scenario that this run does not have as such", () => {
    const senderOnly = Matrix.casesOf(
      Scenarios.all,
      makePlan({ quick: true, senderCmd: "./s send --endpoint {endpoint}" })
    )
    const checked = Matrix.checkFilter("scenario=vectors", senderOnly, Scenarios.all)
    expect("error" in checked ? checked.error : "").toMatch(/scenario `vectors` has no cases in this run/)
  })
})

describe("--require", () => {
  const missing = Outcome.skipped({ detail: "go sender not available", toolchain: true, impl: "go" })
  it("a missing peer is a skip, and a failure only when required", () => {
    expect(verdict(missing, false)).toBe("skip")
    expect(verdict(missing, false, new Set(["rust"]))).toBe("skip")
    expect(verdict(missing, false, new Set(["rust", "go"]))).toBe("fail")
    expect(verdict(Outcome.skipped({ detail: "needs --record", toolchain: false }), false, new Set(["go"]))).toBe(
      "skip"
    )
  })
})

const result = (id: string, outcome: OutcomeType, expectedFailure = false, required = new Set<string>()) => ({
  id,
  scenario: id.split("/")[0]!,
  row: "r",
  col: "c",
  outcome,
  expectedFailure,
  verdict: verdict(outcome, expectedFailure, required),
  elapsedMs: 1234
})

const report = (results: ReadonlyArray<ReturnType<typeof result>>): Matrix.MatrixReport => {
  const summary = { pass: 0, fail: 0, xfail: 0, xpass: 0, skip: 0 }
  for (const r of results) summary[r.verdict]++
  return {
    format: "txlane-conformance/1",
    quick: true,
    ci: false,
    startedAt: "2026-11-30T00:00:00.000Z",
    elapsedMs: 5000,
    senders: ["ts", "go"],
    receivers: ["ts", "go"],
    required: ["go"],
    summary,
    passed: summary.fail === 0 && summary.xpass === 0,
    staleExpectedFailures: [],
    cases: results
  }
}

const sample = report([
  result("stream/ts->ts/uds/acknowledged", Outcome.ok({ detail: "ok" })),
  result("stream/ts->go/uds/acknowledged", Outcome.mismatch({ detail: 'digest <a> & "b"\nsecond line | pipe' })),
  result(
    "stream/ts->rust/uds/acknowledged",
    Outcome.skipped({ detail: "rust receiver not available", toolchain: true, impl: "rust" })
  ),
  result(
    "stream/go->ts/uds/acknowledged",
    Outcome.skipped({ detail: "go sender not available", toolchain: true, impl: "go" }),
    false,
    new Set(["go"])
  ),
  result("vector.x/ts/uds", Outcome.timeout({ detail: "slow\u0007" }), true),
  result("vector.y/ts/uds", Outcome.ok({ detail: "ok" }), true)
])

describe("JUnit XML", () => {
  const xml = parseXml(Matrix.toJUnit(sample))
  const testcases = findAll(xml, "testcase")

  it("is well-formed, with one testcase per cell and correct totals", () => {
    expect(xml.name).toBe("testsuites")
    expect(xml.attributes).toMatchObject({ tests: "6", failures: "3", skipped: "2", errors: "0", time: "5.000" })
    expect(findAll(xml, "testsuite").map((s) => [s.attributes.name, s.attributes.tests])).toEqual([
      ["stream", "4"],
      ["vector.x", "1"],
      ["vector.y", "1"]
    ])
    expect(testcases.map((t) => t.attributes.name)).toEqual(sample.cases.map((c) => c.id))
    expect(testcases.every((t) => t.attributes.time === "1.234")).toBe(true)
    expect(testcases[0]!.attributes.classname).toBe("txlane-conformance.stream")
  })

  it("carries the failure text (escaped and decoded back exactly), skips with their reason", () => {
    const [pass, fail, skip, required, xfail, xpass] = testcases
    expect(pass!.children).toEqual([])
    expect(fail!.children[0]).toMatchObject({
      name: "failure",
      attributes: { type: "mismatch", message: 'mismatch: digest <a> & "b"\nsecond line | pipe' },
      text: 'mismatch: digest <a> & "b"\nsecond line | pipe'
    })
    expect(skip!.children[0]).toMatchObject({
      name: "skipped",
      attributes: { message: "rust receiver not available" }
    })
    expect(required!.children[0]).toMatchObject({ name: "failure", attributes: { type: "unavailable" } })
    // The BEL character is not allowed in XML 1.0: dropped, not written raw.
    expect(xfail!.children[0]!.attributes.message).toBe(
      "expected failure (listed in expected-failures.txt): timeout: slow"
    )
    expect(xpass!.children[0]).toMatchObject({ name: "failure", attributes: { type: "xpass" } })
  })
})

describe("step summary markdown", () => {
  const md = Matrix.toSummaryMarkdown(sample)
  it("has the verdict, a count table per scenario and a row per cell that did not pass", () => {
    const lines = md.split("\n")
    expect(lines[0]).toBe("### txlane conformance (quick): ❌ FAIL")
    expect(lines).toContain("| stream | 1 | 2 | 0 | 0 | 1 |")
    expect(lines).toContain("| **total** | **1** | **2** | **1** | **1** | **1** |")
    expect(md).toContain("required: go")
    // A pipe or newline in a detail must not break the table.
    expect(lines).toContain(
      '| `stream/ts->go/uds/acknowledged` | fail | mismatch | digest <a> & "b" second line \\| pipe |'
    )
    expect(lines.filter((l) => l.startsWith("| `")).length).toBe(5)
    expect(md.endsWith("\n")).toBe(true)
  })
})

describe("the test's XML parser is strict", () => {
  it.each([
    ["<a><b></a>", /closes/],
    ["<a>x & y</a>", /bare '&'/],
    ['<a x="1" x="2"/>', /duplicate/],
    ["<a/><b/>", /after the root/],
    ["<a>", /not closed/]
  ])("rejects %s", (text, message) => {
    expect(() => parseXml(text)).toThrow(message)
  })
})
