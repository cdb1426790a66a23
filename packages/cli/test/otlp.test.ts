/**
 * `--otlp-endpoint`: the real commands export traces and metrics over OTLP/HTTP to a real HTTP
 * endpoint (a `node:http` server of the test on 127.0.0.1, standing in for an OpenTelemetry
 * Collector), which decodes the JSON bodies. The sender's `txlane.send` and the receiver's
 * `txlane.process` spans arrive with `messaging.system = "txlane"`; the txlane series and the
 * runtime series arrive as metrics of each service.
 */
import * as Fs from "node:fs"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { BIN, start } from "./helpers.js"

interface KeyValue {
  readonly key: string
  readonly value: { readonly stringValue?: string; readonly intValue?: string | number }
}
interface Resource {
  readonly attributes: ReadonlyArray<KeyValue>
}
interface Span {
  readonly name: string
  readonly attributes: ReadonlyArray<KeyValue>
}
interface TracesBody {
  readonly resourceSpans: ReadonlyArray<{
    readonly resource: Resource
    readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<Span> }>
  }>
}
interface MetricsBody {
  readonly resourceMetrics: ReadonlyArray<{
    readonly resource: Resource
    readonly scopeMetrics: ReadonlyArray<{ readonly metrics: ReadonlyArray<{ readonly name: string }> }>
  }>
}

const exports: Array<{ readonly path: string; readonly contentType: string; readonly body: unknown }> = []
const server = Http.createServer((request, response) => {
  const chunks: Array<Buffer> = []
  request.on("data", (chunk: Buffer) => chunks.push(chunk))
  request.on("end", () => {
    exports.push({
      path: request.url ?? "",
      contentType: request.headers["content-type"] ?? "",
      body: JSON.parse(Buffer.concat(chunks).toString("utf8"))
    })
    response.writeHead(200, { "content-type": "application/json" }).end("{}")
  })
})
let endpoint = ""
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txotlp-"))

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  endpoint = `http://127.0.0.1:${(server.address() as Net.AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  Fs.rmSync(dir, { recursive: true, force: true })
})

const serviceOf = (resource: Resource) => resource.attributes.find((a) => a.key === "service.name")?.value.stringValue

/** Every span received, with the service that sent it. */
const spans = () =>
  exports
    .filter((e) => e.path === "/v1/traces")
    .flatMap((e) =>
      (e.body as TracesBody).resourceSpans.flatMap((r) =>
        r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ service: serviceOf(r.resource), span })))
      )
    )

/** The names of the metrics a service exported. */
const metricNames = (service: string) =>
  new Set(
    exports
      .filter((e) => e.path === "/v1/metrics")
      .flatMap((e) =>
        (e.body as MetricsBody).resourceMetrics
          .filter((r) => serviceOf(r.resource) === service)
          .flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name)))
      )
  )

const attribute = (span: Span, key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue

it("the sender and the receiver export txlane.send / txlane.process spans and their metrics to an OTLP/HTTP endpoint", async () => {
  const socket = Path.join(dir, "o.sock")
  const receiver = start(BIN.receiver, ["--listen", socket, "--otlp-endpoint", endpoint])
  await receiver.waitFor("listening on")
  // The environment variable of the OpenTelemetry SDKs works as well as the flag.
  const sender = start(BIN.sender, ["--endpoint", socket, "--batches", "25", "--delivery", "acknowledged"], {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint
  })
  expect(await sender.exited).toBe(0)
  receiver.child.kill("SIGTERM")
  expect(await receiver.exited).toBe(0)

  expect(exports.every((e) => e.contentType.startsWith("application/json"))).toBe(true)
  const sent = spans().filter((s) => s.span.name === "txlane.send")
  const processed = spans().filter((s) => s.span.name === "txlane.process")
  expect(sent).toHaveLength(25)
  expect(processed).toHaveLength(25)
  expect(new Set(sent.map((s) => s.service))).toEqual(new Set(["txlane-sender"]))
  expect(new Set(processed.map((s) => s.service))).toEqual(new Set(["txlane-receiver"]))
  for (const { span } of [...sent, ...processed]) expect(attribute(span, "messaging.system")).toBe("txlane")

  const senderMetrics = metricNames("txlane-sender")
  const receiverMetrics = metricNames("txlane-receiver")
  for (const name of ["txlane_sender_batches_delivered_total", "txlane_sender_bytes_sent_total"]) {
    expect(senderMetrics).toContain(name)
  }
  expect(receiverMetrics).toContain("txlane_receiver_frames_received_total")
  for (const names of [senderMetrics, receiverMetrics]) {
    for (const name of [
      "process_resident_memory_bytes",
      "nodejs_heap_size_used_bytes",
      "nodejs_eventloop_lag_p99_seconds"
    ]) {
      expect(names).toContain(name)
    }
  }
}, 120_000)
