import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Report } from "../src/index.js"

const report = {
  event: "report",
  role: "receiver",
  impl: "rust",
  frames: 2,
  transactions: 100,
  bytes: 65300,
  digest: "9f1c0a5e3b2d4c17",
  acknowledged: 0,
  undelivered: 0,
  responses: { ok: 2, error: 0 },
  errors: { TruncatedFrame: 1 },
  elapsedMs: 3
}

describe("Report", () => {
  it("decodes the ready line and the report line of PEERS.md", () => {
    expect(Result.getOrThrow(Report.decodeLine('{"event":"listening","endpoint":"tcp://127.0.0.1:4000"}'))).toEqual({
      event: "listening",
      endpoint: "tcp://127.0.0.1:4000"
    })
    expect(Result.getOrThrow(Report.decodeLine(JSON.stringify(report)))).toEqual(report)
  })

  it.each([
    ["a digest that is not 16 hex digits", { ...report, digest: "XYZ" }],
    ["a negative count", { ...report, frames: -1 }],
    ["a fractional elapsedMs (PEERS.md numbers are integers)", { ...report, elapsedMs: 3.5 }],
    ["an unknown role", { ...report, role: "proxy" }],
    ["a missing field", { ...report, bytes: undefined }]
  ])("rejects %s", (_, line) => {
    expect(Result.isFailure(Report.decodeLine(JSON.stringify(line)))).toBe(true)
  })

  it("rejects a line that is not JSON", () => {
    expect(Result.isFailure(Report.decodeLine("listening on /tmp/x"))).toBe(true)
  })
})
