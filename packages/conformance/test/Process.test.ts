import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import type { CaseFailure } from "../src/harness/Outcome.js"
import { spawn } from "../src/harness/Process.js"

const node = (script: string) => [process.execPath, "-e", script]

const run = <A>(effect: Effect.Effect<A, CaseFailure, import("effect").Scope.Scope>) =>
  Effect.runPromiseExit(Effect.scoped(effect))

const failureOf = (exit: Exit.Exit<unknown, CaseFailure>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason?._tag !== "Fail") throw new Error(String(exit.cause))
  return reason.error
}

describe("spawn", () => {
  it("parses the ready line and the report line", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const peer = yield* spawn(
          "fake receiver",
          node(`
            process.on("SIGTERM", () => {
              process.stdout.write(JSON.stringify({ event: "report", role: "receiver", impl: "fake", frames: 0, transactions: 0,
                bytes: 0, digest: "0000000000000000", acknowledged: 0, undelivered: 0, responses: { ok: 0, error: 0 },
                errors: {}, elapsedMs: 0 }) + "\\n", () => process.exit(0))
            })
            // The handler exists before the ready line: a peer may be signalled right after it.
            console.log(JSON.stringify({ event: "listening", endpoint: "/tmp/x.sock" }))
            setInterval(() => {}, 1000)
          `)
        )
        const ready = yield* peer.listening(5000)
        const exited = yield* peer.terminate(5000)
        const report = yield* peer.requireReport()
        return { ready, exited, report }
      })
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    if (Exit.isSuccess(exit)) {
      expect(exit.value.ready.endpoint).toBe("/tmp/x.sock")
      expect(exit.value.exited).toEqual({ code: 0, signal: null })
      expect(exit.value.report.impl).toBe("fake")
    }
  })

  it("turns garbage on stdout into decodeError", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const peer = yield* spawn("chatty", node(`console.log("hello"); setInterval(() => {}, 1000)`))
        return yield* peer.listening(5000)
      })
    )
    expect(failureOf(exit).outcome).toBe("decodeError")
  })

  it("turns an early exit into transportError, with stderr", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const peer = yield* spawn("crasher", node(`console.error("boom"); process.exit(3)`))
        return yield* peer.listening(5000)
      })
    )
    const failure = failureOf(exit)
    expect(failure.outcome).toBe("transportError")
    expect(failure.detail).toMatch(/exit code 3.*boom/)
  })

  it("times out a silent peer and kills it with the scope", async () => {
    let pid = -1
    const exit = await run(
      Effect.gen(function* () {
        const peer = yield* spawn("silent", node(`process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)`))
        pid = peer.pid
        return yield* peer.listening(200)
      })
    )
    expect(failureOf(exit).outcome).toBe("timeout")
    expect(() => process.kill(pid, 0)).toThrow()
  })

  it("fails to start a missing program with transportError", async () => {
    const exit = await run(
      Effect.gen(function* () {
        const peer = yield* spawn("ghost", ["/nonexistent/txlane-peer"])
        return yield* peer.listening(5000)
      })
    )
    expect(failureOf(exit).outcome).toBe("transportError")
  })
})
