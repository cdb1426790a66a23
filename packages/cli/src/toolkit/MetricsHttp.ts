/**
 * The `--metrics HOST:PORT` endpoint of the txlane command-line tools: `GET /metrics` serves
 * every metric of Effect's registry in the Prometheus text format (Effect's own
 * `PrometheusMetrics.layerHttp`, no formatter of ours), `GET /healthz` answers `200 ok`.
 *
 * Only `effect/http` is used here; the caller provides the `HttpServer` (e.g.
 * `NodeHttpServer.layer(() => createServer(), { host, port })` from `@effect/platform-node`),
 * which keeps `@txlane/protocol` free of platform dependencies.
 *
 * @module
 */
import { Context, Effect, Layer, Result, type Scope } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"

/** A parsed `HOST:PORT`. */
export interface Address {
  readonly host: string
  readonly port: number
}

/**
 * Parses `HOST:PORT`, `:PORT` (loopback) or `[IPv6]:PORT`. Port 0 picks a free port (the
 * actual one is logged). Fails with a message for humans.
 */
export const parseAddress = (input: string): Result.Result<Address, string> => {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(input.trim())
  const port = match === null ? Number.NaN : Number(match[3])
  if (match === null || !(port >= 0 && port <= 65535)) {
    return Result.fail(`expected HOST:PORT (e.g. 127.0.0.1:9464), got ${JSON.stringify(input)}`)
  }
  return Result.succeed({ host: match[1] ?? (match[2] === "" ? "127.0.0.1" : (match[2] as string)), port })
}

/** The routes: `GET /metrics` (Prometheus text) and `GET /healthz` (`200 ok`). */
export const routes: Layer.Layer<never, never, HttpRouter.HttpRouter> = Layer.mergeAll(
  PrometheusMetrics.layerHttp({ path: "/metrics" }),
  HttpRouter.add("GET", "/healthz", HttpServerResponse.text("ok\n"))
)

/**
 * Serves {@link routes} on the given server layer in the current Scope (closed with it) and
 * returns the URL it listens on, e.g. `http://127.0.0.1:9464`.
 */
export const serve = <E>(server: Layer.Layer<HttpServer.HttpServer, E>): Effect.Effect<string, E, Scope.Scope> =>
  Effect.gen(function* () {
    const app = HttpRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provideMerge(server)
    )
    const context = yield* Layer.build(app)
    return HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)
  })
