import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Endpoint, InvalidEndpoint } from "../src/index.js"

describe("Endpoint", () => {
  it.each([
    ["/tmp/a.sock", Endpoint.unix("/tmp/a.sock"), "/tmp/a.sock"],
    ["unix:/tmp/a.sock", Endpoint.unix("/tmp/a.sock"), "/tmp/a.sock"],
    ["tcp://127.0.0.1:9000", Endpoint.tcp("127.0.0.1", 9000), "tcp://127.0.0.1:9000"],
    ["tcp://localhost:0", Endpoint.tcp("localhost", 0), "tcp://localhost:0"],
    ["tcp://[::1]:80", Endpoint.tcp("::1", 80), "tcp://[::1]:80"]
  ])("parses %s", (input, endpoint, formatted) => {
    const parsed = Result.getOrThrow(Endpoint.parse(input))
    expect(parsed).toEqual(endpoint)
    expect(Endpoint.format(parsed)).toBe(formatted)
  })

  it.each([
    "relative.sock",
    "unix:relative",
    "tcp://host",
    "tcp://:80",
    "tcp://h:99999",
    "tcp://h:-1",
    "http://h:1",
    ""
  ])("rejects %j with InvalidEndpoint", (input) => {
    const result = Endpoint.parse(input)
    expect(Result.isFailure(result) && result.failure).toBeInstanceOf(InvalidEndpoint)
  })

  it("gives node:net options", () => {
    expect(Endpoint.toNetOptions(Endpoint.unix("/x"))).toEqual({ path: "/x" })
    expect(Endpoint.toNetOptions(Endpoint.tcp("::1", 5))).toEqual({ host: "::1", port: 5 })
  })
})
