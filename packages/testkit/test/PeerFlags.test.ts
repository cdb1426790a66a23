import { describe, expect, it } from "vitest"
import { PeerFlags } from "../src/PeerFlags.js"

describe("PeerFlags (PEERS.md Invocation)", () => {
  it("fills in PEERS.md's defaults and leaves implementation defaults absent", () => {
    expect(PeerFlags.parse(PeerFlags.Send, ["--endpoint", "/tmp/a.sock"])).toEqual({
      endpoint: "/tmp/a.sock",
      delivery: "fire-and-forget",
      queue: 1000,
      batches: 1000,
      "tx-per-batch": 50,
      "tx-size": 650,
      seed: 1n,
      "timeout-ms": 60_000,
      "max-frame-bytes": 10_485_760
    })
    expect(PeerFlags.parse(PeerFlags.Receive, ["--listen", "tcp://127.0.0.1:0"])).toEqual({
      listen: "tcp://127.0.0.1:0",
      respond: "json",
      "max-frame-bytes": 10_485_760
    })
  })

  it("decodes every flag given", () => {
    expect(
      PeerFlags.parse(PeerFlags.Receive, [
        ...["--listen", "unix:/tmp/b.sock", "--respond", "none", "--handlers", "3"],
        ...["--max-frame-bytes", "4096", "--record", "/tmp/r", "--expect-transactions", "0"]
      ])
    ).toEqual({
      listen: "unix:/tmp/b.sock",
      respond: "none",
      handlers: 3,
      "max-frame-bytes": 4096,
      record: "/tmp/r",
      "expect-transactions": 0
    })
    const send = PeerFlags.parse(PeerFlags.Send, [
      ...["--endpoint", "/a", "--delivery", "acknowledged", "--workers", "2", "--seed", "18446744073709551615"],
      ...["--transient-retry-ms", "50"]
    ])
    expect([send.delivery, send.workers, send.seed, send["transient-retry-ms"]]).toEqual([
      "acknowledged",
      2,
      2n ** 64n - 1n,
      50
    ])
  })

  it.each([
    [["--batches", "5"], "--endpoint is required"],
    [["--endpoint", "relative.sock"], "--endpoint: invalid endpoint relative.sock"],
    [["--endpoint", "/a", "--delivery", "eventually"], "--delivery must be one of fire-and-forget, acknowledged"],
    [["--endpoint", "/a", "--batches", "1e3"], '--batches must be a non-negative integer, got "1e3"'],
    [["--endpoint", "/a", "--queue", "0"], "--queue must be at least 1, got 0"],
    [["--endpoint", "/a", "--seed", "18446744073709551616"], "--seed must fit in 64 bits"],
    [["--endpoint", "/a", "--colour", "red"], "Unknown option '--colour'"]
  ])("send %j: a usage error, %s", (argv, message) => {
    let thrown: unknown
    try {
      PeerFlags.parse(PeerFlags.Send, argv)
    } catch (error) {
      thrown = error
    }
    expect(PeerFlags.isUsageError(thrown)).toBe(true)
    expect((thrown as Error).message).toContain(message)
  })
})
