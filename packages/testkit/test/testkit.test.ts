import * as Net from "node:net"
import { FrameEncoder, Response } from "@txlane/protocol"
import { afterAll, describe, expect, it } from "vitest"
import { Children, RawClient, Skip, Temp, Window } from "../src/index.js"

afterAll(() => {
  Children.killAll()
  Temp.cleanupTempDirs()
})

describe("RawClient", () => {
  it("resolves a count of responses and the server's close from socket events", async () => {
    const path = Temp.socketPath()
    // Answers every byte it reads with one response, then closes after the third.
    const server = Net.createServer((socket) => {
      let n = 0
      socket.on("data", (chunk) => {
        for (let i = 0; i < chunk.length; i++) {
          n++
          socket.write(FrameEncoder.concat([Response.encode(Response.success(n))]))
        }
        if (n >= 3) socket.end()
      })
    })
    await new Promise<void>((resolve) => server.listen(path, resolve))
    const client = await RawClient.RawClient.connect(path)
    client.write(new Uint8Array([1]))
    expect(await client.awaitResponses(1)).toHaveLength(1)
    client.write(new Uint8Array([2, 3]))
    await client.awaitServerClose()
    expect(client.responses.map((r) => (r.success ? r.count : -1))).toEqual([1, 2, 3])
    await expect(client.awaitResponses(4)).rejects.toThrow("connection closed after 3 of 4 responses")
    server.close()
  })
})

describe("Window", () => {
  it("keeps at most `size` operations in flight", async () => {
    const window = new Window.Window(2)
    const release: Array<() => void> = []
    const op = () => new Promise<void>((resolve) => release.push(resolve))
    await window.add(op())
    const second = window.add(op())
    let admitted = false
    void second.then(() => {
      admitted = true
    })
    await Promise.resolve()
    expect(window.inFlight).toBe(2)
    expect(admitted).toBe(false)
    release.shift()!()
    await second
    expect(window.inFlight).toBe(1)
    release.shift()!()
    await window.drain()
    expect(window.inFlight).toBe(0)
  })
})

describe("Children", () => {
  it("awaits JSON lines by event and answers commands", async () => {
    const child = Children.spawn(process.execPath, [
      "-e",
      `console.log(JSON.stringify({ event: "ready" }));
       require("node:readline").createInterface({ input: process.stdin })
         .on("line", (l) => console.log(JSON.stringify({ event: "echo", l })))`
    ])
    expect((await child.next("ready")).event).toBe("ready")
    expect((await child.ask("hi", "echo")).l).toBe("hi")
    expect((await child.ask("again", "echo")).l).toBe("again")
    child.signal("SIGTERM")
    expect(await child.exited).toBe("SIGTERM")
  })
})

describe("Skip", () => {
  it("skips loudly outside CI, and throws under CI unless the id is allowed", () => {
    expect(Skip.unless(true, "x", "never")).toBe(false)
    expect(Skip.unless(false, "testkit/example", "a reason", {})).toBe(true)
    expect(() => Skip.unless(false, "testkit/example", "a reason", { CI: "true" })).toThrow(
      "testkit/example is skipped under CI"
    )
    expect(Skip.unless(false, "receiver/permissions/another-user", "not root", { CI: "true" })).toBe(true)
    expect([...Skip.parseAllowed("a # why\n\n# only a comment\nb\n")]).toEqual(["a", "b"])
  })
})
