import { describe, expect, it } from "vitest"
import { makeFilter, parseExpectedFailures } from "../src/harness/Matrix.js"
import { Outcome, verdict } from "../src/harness/Outcome.js"
import type { CaseInfo } from "../src/harness/Scenarios.js"

const info = (over: Partial<CaseInfo>): CaseInfo => ({
  id: "stream/ts->rust/uds/acknowledged",
  scenario: "stream",
  row: "ts → rust",
  col: "uds ack",
  sender: "ts",
  receiver: "rust",
  transport: "uds",
  delivery: "acknowledged",
  ...over
})

describe("expected failures", () => {
  it("parses one id per line with comments", () => {
    expect([...parseExpectedFailures("# header\n\nstream/a->b/uds/acknowledged  # flaky\n  x/y \n")]).toEqual([
      "stream/a->b/uds/acknowledged",
      "x/y"
    ])
  })

  it("judges every outcome: an unexpected pass fails like an unexpected failure", () => {
    expect(verdict(Outcome.ok({ detail: "" }), false)).toBe("pass")
    expect(verdict(Outcome.ok({ detail: "" }), true)).toBe("xpass")
    expect(verdict(Outcome.mismatch({ detail: "" }), false)).toBe("fail")
    expect(verdict(Outcome.timeout({ detail: "" }), true)).toBe("xfail")
    expect(verdict(Outcome.skipped({ detail: "no cargo", toolchain: true }), false)).toBe("skip")
  })
})

describe("--only", () => {
  it("keeps everything without terms", () => {
    expect(makeFilter(undefined)(info({}))).toBe(true)
  })

  it("ands keys and ors values of one key", () => {
    const f = makeFilter("scenario=stream,receiver=rust,receiver=go")
    expect(f(info({}))).toBe(true)
    expect(f(info({ receiver: "ts" }))).toBe(false)
    expect(f(info({ scenario: "tx1" }))).toBe(false)
  })

  it("matches impl on either side and bare terms as id substrings", () => {
    expect(makeFilter("impl=ts")(info({}))).toBe(true)
    expect(makeFilter("impl=go")(info({}))).toBe(false)
    expect(makeFilter("ts->rust")(info({}))).toBe(true)
  })

  it("rejects unknown keys", () => {
    expect(() => makeFilter("colour=red")).toThrow(/unknown key/)
  })
})
