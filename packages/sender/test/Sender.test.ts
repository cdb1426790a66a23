import { assert, describe, expect, it } from "@effect/vitest"
import { Digest, Workload } from "@txlane/protocol/testing"
import { Duration, Effect, Exit, Fiber, Metric, Schedule, Scope } from "effect"
import { Metrics, Options, Sender, SenderClosed } from "../src/index.js"
import { socketPath, startServer, type TestServer } from "./server.js"

const withServer = (options: Parameters<typeof startServer>[0] = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startServer(options)),
    (s: TestServer) => Effect.promise(() => s.close())
  )

const batches = (n: number) => [...Workload.batches({ batches: n, txPerBatch: 3, txSize: 150 })]
const digestOf = (bs: ReadonlyArray<ReadonlyArray<Uint8Array>>) => {
  const d = Digest.make()
  for (const b of bs) d.addAll(b)
  return d.value
}

describe("Sender (Effect API)", () => {
  it.live("closing the layer's scope closes gracefully: everything queued is delivered", () =>
    Effect.gen(function* () {
      const server = yield* withServer()
      const work = batches(500)
      yield* Effect.gen(function* () {
        const sender = yield* Sender.Sender
        for (const b of work) yield* sender.send(b)
      }).pipe(Effect.provide(Sender.layer({ endpoint: server.path, workers: 2 })))
      assert.strictEqual(server.frames, 500)
      assert.strictEqual(server.digest.value, digestOf(work))
    })
  )

  it.live("acknowledged send succeeds with the peer's count; close returns the report; send after close fails", () =>
    Effect.gen(function* () {
      const server = yield* withServer()
      const sender = yield* Sender.make({ endpoint: server.path, delivery: "acknowledged" })
      const work = batches(20)
      const counts = yield* Effect.forEach(work, (b) => sender.send(b), { concurrency: "unbounded" })
      assert.deepStrictEqual(
        counts,
        work.map(() => 3)
      )
      const report = yield* sender.close({ timeout: "2 seconds" })
      assert.strictEqual(report.acknowledged, 20)
      assert.strictEqual(report.delivered, 20)
      assert.deepStrictEqual(report.undelivered, [])
      const error = yield* Effect.flip(sender.send(work[0]!))
      assert.instanceOf(error, SenderClosed)
      assert.strictEqual(error._tag, "SenderClosed")
    })
  )

  it.live("metrics: Prometheus text per sender, several senders in one registry stay apart", () =>
    Effect.gen(function* () {
      const server = yield* withServer()
      const a = yield* Sender.make({ endpoint: server.path, name: "alpha", delivery: "acknowledged" })
      const b = yield* Sender.make({ endpoint: server.path, name: "beta", workers: 2 })
      for (const batch of batches(7)) yield* a.send(batch)
      for (const batch of batches(5)) yield* b.sendPayload(new Uint8Array(batch[0]!.length))
      yield* b.close()
      // `metrics` is one sender's series; the registry holds both senders'.
      const own = yield* a.metrics
      const text = yield* Metrics.renderPrometheus()
      expect(own).toContain(`${Metrics.names.batchesSent}{sender="alpha"} 7`)
      expect(own).not.toContain(`sender="beta"`)
      expect(text).toContain(`${Metrics.names.batchesSent}{sender="alpha"} 7`)
      expect(text).toContain(`${Metrics.names.batchesSent}{sender="beta"} 5`)
      expect(text).toContain(`${Metrics.names.transactionsSent}{sender="alpha"} 21`)
      expect(text).toContain(`${Metrics.names.transactionsSent}{sender="beta"} 0`)
      expect(own).toContain(`${Metrics.names.acknowledged}{sender="alpha"} 7`)
      expect(text).toMatch(/txlane_sender_failures_total\{sender="beta",kind="rejected"\} 5/)
      expect(own).toContain(`${Metrics.names.ackLatency}_count{sender="alpha"} 7`)
      expect(text).toContain(`${Metrics.names.workerBusyRatio}{sender="beta",worker="1"}`)
      expect(own).toContain(`${Metrics.names.queueCapacity}{sender="alpha"} 1000`)
      const stats = yield* a.stats
      assert.strictEqual(stats.acknowledged, 7)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  it.live("a suspended send is released by the close: its batch is delivered", () =>
    Effect.gen(function* () {
      const path = socketPath()
      const scope = yield* Scope.make()
      const sender = yield* Sender.make({ endpoint: path, workers: 1, queueCapacity: 1, maxBatchesPerWrite: 1 }).pipe(
        Scope.provide(scope)
      )
      const work = batches(3)
      yield* sender.send(work[0]!)
      yield* Effect.sleep("30 millis") // the worker takes it and waits for a connection
      yield* sender.send(work[1]!) // fills the queue
      const third = yield* Effect.forkChild(sender.send(work[2]!))
      yield* Effect.sleep("30 millis")
      assert.isUndefined(third.pollUnsafe())
      const server = yield* withServer({ path })
      yield* Fiber.join(third)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(server.digest.value, digestOf(work))
    })
  )
})

describe("Options", () => {
  it.effect("the default reconnect schedule grows exponentially and is capped at 1 s (+20 % jitter)", () =>
    Effect.gen(function* () {
      const step = yield* Schedule.toStep(Options.defaultReconnect)
      const delays: Array<number> = []
      for (let i = 0; i < 12; i++) {
        const [, delay] = yield* step(0, undefined as never)
        delays.push(Duration.toMillis(delay))
      }
      assert.isAtLeast(delays[0]!, 16)
      assert.isAtMost(delays[0]!, 24)
      assert.isAbove(delays[3]!, delays[0]! * 4)
      for (const d of delays) assert.isAtMost(d, 1200)
      assert.isAtLeast(delays[11]!, 800)
    })
  )

  it.effect("make fails with InvalidOptions for out-of-range values", () =>
    Effect.gen(function* () {
      for (const bad of [
        { queueCapacity: 0 },
        { maxInFlight: 1.5 },
        { maxFrameBytes: -1 },
        { closeTimeout: "-1 seconds" }
      ]) {
        const error = yield* Effect.flip(Sender.make({ endpoint: "/tmp/never.sock", ...bad } as Options.Options))
        assert.strictEqual(error._tag, "InvalidOptions")
      }
    })
  )
})
