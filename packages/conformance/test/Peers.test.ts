import { describe, expect, it } from "vitest"
import { fromTemplate, splitWords } from "../src/harness/Peers.js"

describe("splitWords", () => {
  it.each([
    ["a b  c", ["a", "b", "c"]],
    ["./recv --listen '{endpoint}'", ["./recv", "--listen", "{endpoint}"]],
    ['sh -c "exec x \\"y z\\""', ["sh", "-c", 'exec x "y z"']],
    ["a\\ b c", ["a b", "c"]],
    ["'' x", ["", "x"]]
  ])("%s", (input, words) => {
    expect(splitWords(input)).toEqual(words)
  })

  it("rejects an unterminated quote", () => {
    expect(() => splitWords("a 'b")).toThrow(/unterminated/)
  })
})

describe("fromTemplate", () => {
  it("substitutes {endpoint} and appends the PEERS.md flags for a peer", () => {
    const impl = fromTemplate("acme", "receiver", "./acme receive --listen {endpoint}")
    expect(impl.command("receiver", "/tmp/a.sock", ["--respond", "json"])).toEqual([
      "./acme",
      "receive",
      "--listen",
      "/tmp/a.sock",
      "--respond",
      "json"
    ])
    expect(impl.command("sender", "/tmp/a.sock", [])).toBeUndefined()
  })

  it("puts the flags at {args}, and gives {path} / {port}", () => {
    const impl = fromTemplate("acme", "sender", "run {args} --port={port} --", "peer")
    expect(impl.command("sender", "tcp://127.0.0.1:4000", ["--batches", "5"])).toEqual([
      "run",
      "--batches",
      "5",
      "--port=4000",
      "--"
    ])
  })

  it("passes no flags to an outside server", () => {
    const impl = fromTemplate("prod", "receiver", "node-server --socket {path}", "server")
    expect(impl.command("receiver", "unix:/tmp/s.sock", ["--respond", "json"])).toEqual([
      "node-server",
      "--socket",
      "/tmp/s.sock"
    ])
  })

  it("requires an endpoint placeholder", () => {
    expect(() => fromTemplate("x", "receiver", "./recv")).toThrow(/\{endpoint\}/)
  })
})
