/**
 * Hands a sender's or receiver's series to an OpenTelemetry `Meter` without a dependency on
 * OpenTelemetry: {@link observe} takes anything shaped like `@opentelemetry/api`'s `Meter` and a
 * function returning Prometheus text (`sender.metrics()`, `receiver.metrics()`), and registers one
 * observable instrument per counter and gauge family, read at collection time.
 *
 * ```ts
 * import { metrics } from "@opentelemetry/api"
 * HostMetrics.observe(metrics.getMeter("txlane"), () => sender.metrics())
 * ```
 *
 * Histograms are not observable in OpenTelemetry's API: their `_sum` and `_count` are registered
 * as observable counters (`…_seconds_sum`, `…_seconds_count`); scrape the Prometheus text for
 * the buckets.
 *
 * @module
 */

/** What an observable instrument's callback is given (`ObservableResult` in `@opentelemetry/api`). */
export interface ObservableResultLike {
  /** Records one value of the series with these attributes. */
  observe(value: number, attributes?: Record<string, string>): void
}

/** An observable instrument (`Observable` in `@opentelemetry/api`). */
export interface ObservableLike {
  /** Adds a callback run at every collection. */
  addCallback(callback: (result: ObservableResultLike) => void): void
}

/** The part of `@opentelemetry/api`'s `Meter` this adapter uses. */
export interface MeterLike {
  /** Creates a monotonic observable counter. */
  createObservableCounter(name: string, options?: { readonly description?: string }): ObservableLike
  /** Creates an observable gauge. */
  createObservableGauge(name: string, options?: { readonly description?: string }): ObservableLike
}

/** One sample of the text exposition format. */
interface Sample {
  readonly name: string
  readonly attributes: Record<string, string>
  readonly value: number
}

const parseSamples = (text: string): Array<Sample> => {
  const samples: Array<Sample> = []
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    if (match === null) continue
    const attributes: Record<string, string> = {}
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      attributes[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))
    }
    samples.push({ name: match[1]!, attributes, value: Number(match[3]) })
  }
  return samples
}

/**
 * Registers an observable counter or gauge on `meter` for every counter and gauge family in
 * `read()`'s text (histograms: their `_sum` and `_count`), each reading `read()` again at
 * collection time. Families that appear later (none do for one sender or receiver) are not added.
 */
export const observe = (meter: MeterLike, read: () => string): void => {
  const text = read()
  const help = new Map<string, string>()
  for (const [, name, description] of text.matchAll(/^# HELP (\S+) (.*)$/gm)) help.set(name!, description!)
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const series =
      type === "histogram"
        ? ([
            [`${name}_sum`, "counter"],
            [`${name}_count`, "counter"]
          ] as const)
        : type === "counter" || type === "gauge"
          ? ([[name!, type]] as const)
          : []
    for (const [sample, kind] of series) {
      const options = { description: help.get(name!) ?? "" }
      const instrument =
        kind === "counter"
          ? meter.createObservableCounter(sample, options)
          : meter.createObservableGauge(sample, options)
      instrument.addCallback((result) => {
        for (const s of parseSamples(read())) if (s.name === sample) result.observe(s.value, s.attributes)
      })
    }
  }
}
