import { describe, expect, it } from "vitest"
import { EXIT_USAGE, main } from "../src/peers/ts.js"

describe("txlane-ts-peer command line (PEERS.md: bad command line → exit 2)", () => {
  it.each([
    [[]],
    [["serve"]],
    [["receive"]],
    [["receive", "--listen", "/tmp/x.sock", "--bogus", "1"]],
    [["receive", "--listen", "/tmp/x.sock", "--respond", "maybe"]],
    [["send"]],
    [["send", "--endpoint", "/tmp/x.sock", "--batches", "-1"]],
    [["send", "--endpoint", "/tmp/x.sock", "--delivery", "eventually"]],
    [["send", "--endpoint", "/tmp/x.sock", "--seed", "18446744073709551616"]]
  ])("%j", async (argv) => {
    expect(await main(argv)).toBe(EXIT_USAGE)
  })
})
