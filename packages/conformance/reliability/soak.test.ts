/**
 * The CI soak (issue 7): 60 seconds of sustained acknowledged load — 30 s TypeScript →
 * TypeScript, 30 s TypeScript → Rust — failing on any loss or a growing memory trend. The long
 * run is `npm run soak -w @txlane/conformance -- --minutes N` (figures in RELIABILITY.md).
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Skip } from "@txlane/testkit"
import { afterAll, describe, expect, it } from "vitest"
import { killAll } from "./lib/process.js"
import { figure } from "./lib/util.js"
import { floorGrowth, RUST_RECEIVER, soak } from "./soak.js"

const SECONDS = 30
const out = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txsoak-ci-"))
const rustBuilt = Fs.existsSync(RUST_RECEIVER)

afterAll(() => {
  killAll()
  Fs.rmSync(out, { recursive: true, force: true })
})

describe("soak (CI: 60 s)", () => {
  it(
    `ts → ts, ${SECONDS} s: no loss, no growing memory`,
    async () => {
      const r = await soak("ts-ts", SECONDS, out)
      figure("soak-ci-ts-ts", { ...r, files: undefined })
      expect(r.reasons).toEqual([])
      expect(r.ok).toBe(true)
      expect(Fs.readFileSync(Path.join(out, "soak-ts-ts.csv"), "utf8").trim().split("\n")).toHaveLength(SECONDS + 1)
    },
    (SECONDS + 60) * 1000
  )

  it.skipIf(
    Skip.unless(
      rustBuilt,
      "conformance/soak/ts-rust",
      `${RUST_RECEIVER} is not built (npm run build:peers -w @txlane/conformance)`
    )
  )(
    `ts → rust, ${SECONDS} s: no loss, no growing memory`,
    async () => {
      const r = await soak("ts-rust", SECONDS, out)
      figure("soak-ci-ts-rust", { ...r, files: undefined })
      expect(r.reasons).toEqual([])
      expect(r.ok).toBe(true)
    },
    (SECONDS + 60) * 1000
  )

  it("the trend check flags a leak and ignores a GC sawtooth", () => {
    const MiB = 2 ** 20
    const sawtooth = Array.from({ length: 60 }, (_, i) => 100 * MiB + (i % 7) * 10 * MiB)
    const leak = Array.from({ length: 60 }, (_, i) => 100 * MiB + i * MiB + (i % 7) * 10 * MiB)
    expect(floorGrowth(sawtooth).growth).toBe(0)
    expect(floorGrowth(leak).growth).toBeGreaterThan(24 * MiB)
  })
})
