/**
 * OTLP export of the txlane command-line tools (`--otlp-endpoint URL`, or the standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT`): traces and metrics over OTLP/HTTP with JSON bodies, to
 * `URL/v1/traces` and `URL/v1/metrics` as the OpenTelemetry exporters do.
 *
 * Effect 4.1 ships the exporters itself (`effect/observability`: `OtlpTracer`, `OtlpMetrics`,
 * `OtlpSerialization`), sending with the platform's `fetch`. That is the lightest working set:
 * no `@opentelemetry/*` SDK, no extra dependency; `@effect/opentelemetry` is the bridge to that
 * SDK, which a command-line tool does not need.
 *
 * @module
 */
import { Config, Effect, Layer, Option } from "effect"
import { Flag } from "effect/cli"
import { FetchHttpClient } from "effect/http"
import { OtlpExporter, OtlpMetrics, OtlpSerialization, OtlpTracer } from "effect/observability"

/** The standard environment variable `--otlp-endpoint` falls back to. */
export const OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"

/** How often metrics are exported while the tool runs; a last export happens when it ends. */
export const METRICS_EXPORT_INTERVAL_MS = 10_000

/** `--otlp-endpoint URL`: an `http(s)://` base URL; without it, `$OTEL_EXPORTER_OTLP_ENDPOINT`. */
export const otlpEndpoint: Flag.Flag<Option.Option<string>> = Flag.String("otlp-endpoint").pipe(
  Flag.withFallbackConfig(Config.String(OTLP_ENDPOINT_ENV)),
  Flag.withMetavar("URL"),
  Flag.filterMap(
    (url) => (/^https?:\/\/[^/]/.test(url) ? Option.some(url.replace(/\/+$/, "")) : Option.none()),
    () => "an http:// or https:// URL, e.g. http://127.0.0.1:4318"
  ),
  Flag.optional,
  Flag.withDescription(
    `Export traces and metrics over OTLP/HTTP (JSON) to URL/v1/traces and URL/v1/metrics (an OpenTelemetry Collector listens on :4318). Default: $${OTLP_ENDPOINT_ENV}.`
  )
)

/** The longest a final {@link flush} may hold up the end of a run. */
export const FLUSH_TIMEOUT_MS = 5_000

/**
 * Exports what the exporters hold now, when there are any (`--otlp-endpoint`); otherwise
 * nothing. The commands call it after their summary and before their Scope closes, because the
 * libraries' series leave the registry with the sender or receiver that owns them.
 */
export const flush: Effect.Effect<void> = Effect.serviceOption(OtlpExporter.Flusher).pipe(
  Effect.flatMap(
    Option.match({
      onNone: () => Effect.void,
      onSome: (flusher) => Effect.asVoid(Effect.timeoutOption(flusher.flush, FLUSH_TIMEOUT_MS))
    })
  )
)

/** What the exports say about their source: `service.name`, `service.version`. */
export interface Service {
  readonly name: string
  readonly version: string
}

/**
 * The exporters, as one layer: spans and metrics of everything run under it go to `endpoint`.
 * Releasing the layer exports what is still buffered (bounded by the exporters' shutdown timeout).
 */
export const layer = (endpoint: string, service: Service): Layer.Layer<OtlpExporter.Flusher> => {
  const resource = { serviceName: service.name, serviceVersion: service.version }
  return Layer.mergeAll(
    OtlpTracer.layer({ url: `${endpoint}/v1/traces`, resource }),
    OtlpMetrics.layer({ url: `${endpoint}/v1/metrics`, resource, exportInterval: METRICS_EXPORT_INTERVAL_MS })
  ).pipe(Layer.provide([OtlpSerialization.layerJson, FetchHttpClient.layer]))
}
