/**
 * The `--metrics HOST:PORT` endpoint of the txlane command-line tools: `GET /metrics` serves
 * every metric of Effect's registry (the txlane series and {@link RuntimeMetrics}) in the
 * Prometheus text format (Effect's `PrometheusMetrics`, no formatter of ours), `GET /healthz`
 * answers `200 ok`.
 *
 * @module
 */
import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Data, Effect, Layer, Result, type Scope } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import type * as RuntimeMetrics from "./RuntimeMetrics.js"

/** A parsed `HOST:PORT`; `host` undefined: every interface (`:PORT`). */
export interface Address {
  readonly host: string | undefined
  readonly port: number
}

/**
 * Parses `HOST:PORT`, `:PORT` (every interface, as Prometheus exporters read it) or
 * `[IPv6]:PORT`. Port 0 picks a free port (the actual one is logged). Fails with a message for
 * humans.
 */
export const parseAddress = (input: string): Result.Result<Address, string> => {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(input.trim())
  const port = match === null ? Number.NaN : Number(match[3])
  if (match === null || !(port >= 0 && port <= 65535)) {
    return Result.fail(`expected HOST:PORT or :PORT (e.g. 127.0.0.1:9464), got ${JSON.stringify(input)}`)
  }
  return Result.succeed({ host: match[1] ?? (match[2] === "" ? undefined : match[2]), port })
}

/** `HOST:PORT` back to text, for messages. */
export const formatAddress = (address: Address): string =>
  address.host === undefined
    ? `:${address.port}`
    : address.host.includes(":")
      ? `[${address.host}]:${address.port}`
      : `${address.host}:${address.port}`

/** The metrics endpoint could not listen (the port is taken, the host is not local, …). */
export class MetricsListenError extends Data.TaggedError("MetricsListenError")<{
  readonly address: string
  /** The system error code, e.g. `EADDRINUSE`; the error's text when there is none. */
  readonly reason: string
}> {
  override get message(): string {
    const why = this.reason === "EADDRINUSE" ? "address already in use (EADDRINUSE)" : this.reason
    return `cannot serve metrics on ${this.address}: ${why}`
  }
}

/** The system error code (`EADDRINUSE`, `EACCES`, …) somewhere in a server error's causes. */
const rootCause = (error: unknown): string => {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { readonly code?: unknown }).code
    if (typeof code === "string") return code
    e = (e as { readonly cause?: unknown }).cause
  }
  return error instanceof Error && error.message !== "" ? error.message : String(error)
}

/** The routes: `GET /metrics` (Prometheus text, runtime gauges sampled first) and `GET /healthz`. */
export const routes = (runtime: RuntimeMetrics.Sampler): Layer.Layer<never, never, HttpRouter.HttpRouter> =>
  Layer.mergeAll(
    HttpRouter.add(
      "GET",
      "/metrics",
      Effect.andThen(runtime.sample, PrometheusMetrics.format()).pipe(
        Effect.map((text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4" }))
      )
    ),
    HttpRouter.add("GET", "/healthz", HttpServerResponse.text("ok\n"))
  )

/**
 * Serves {@link routes} on `address` in the current Scope (closed with it) and returns the URL
 * it listens on, e.g. `http://127.0.0.1:9464`. Fails with {@link MetricsListenError}.
 */
export const serve = (
  address: Address,
  runtime: RuntimeMetrics.Sampler
): Effect.Effect<string, MetricsListenError, Scope.Scope> =>
  Effect.gen(function* () {
    const server = NodeHttpServer.layer(
      () => Http.createServer(),
      address.host === undefined ? { port: address.port } : { host: address.host, port: address.port }
    )
    const app = HttpRouter.serve(routes(runtime), { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provideMerge(server)
    )
    const context = yield* Layer.build(app).pipe(
      Effect.mapError((error) => new MetricsListenError({ address: formatAddress(address), reason: rootCause(error) }))
    )
    return HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)
  })
