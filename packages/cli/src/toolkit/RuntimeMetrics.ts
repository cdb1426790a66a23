/**
 * Process and runtime metrics of the txlane command-line tools, named as prom-client names
 * them so existing Node.js dashboards work: resident memory, CPU, heap, event-loop delay, GC.
 * They are Effect metrics in the ambient registry, so `/metrics` (Prometheus) and the OTLP
 * exporter both carry them next to the txlane series.
 *
 * Sampled by one fiber in the caller's Scope (and before each scrape, through {@link sample}),
 * not by a callback of our own outside Effect: Effect's gauges are set, not computed at read time.
 *
 * @module
 */
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import * as V8 from "node:v8"
import { Effect, Metric, Schedule, type Scope } from "effect"

/** How often the gauges are refreshed when nothing scrapes them (the OTLP exporter reads them on its own period). */
export const SAMPLE_INTERVAL_MS = 1000

/** GC pause buckets, in seconds (prom-client's `nodejs_gc_duration_seconds` buckets). */
export const GC_BUCKETS_SECONDS: ReadonlyArray<number> = [0.001, 0.01, 0.1, 1, 2, 5]

const gauge = (name: string, description: string) => Metric.gauge(name, { description })

const residentMemory = gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
const cpuSeconds = gauge("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.")
const startTime = gauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.")
const heapUsed = gauge("nodejs_heap_size_used_bytes", "V8 heap in use, in bytes.")
const heapTotal = gauge("nodejs_heap_size_total_bytes", "V8 heap allocated, in bytes.")
const heapLimit = gauge("nodejs_heap_size_limit_bytes", "V8 heap limit, in bytes.")
const external = gauge("nodejs_external_memory_bytes", "Memory of C++ objects bound to JavaScript objects, in bytes.")
const lagMean = gauge(
  "nodejs_eventloop_lag_mean_seconds",
  "Mean event-loop delay since the previous sample, in seconds."
)
const lagP50 = gauge(
  "nodejs_eventloop_lag_p50_seconds",
  "Median event-loop delay since the previous sample, in seconds."
)
const lagP99 = gauge(
  "nodejs_eventloop_lag_p99_seconds",
  "99th percentile event-loop delay since the previous sample, in seconds."
)
const lagMax = gauge(
  "nodejs_eventloop_lag_max_seconds",
  "Largest event-loop delay since the previous sample, in seconds."
)
const gcDuration = Metric.histogram("nodejs_gc_duration_seconds", {
  description: "Garbage-collection pauses, in seconds, by kind (major, minor, incremental, weakcb).",
  boundaries: GC_BUCKETS_SECONDS
})

const GC_KINDS: Readonly<Record<number, string>> = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" }

/** The names of every series this module exports (for docs and tests). */
export const names: ReadonlyArray<string> = [
  "process_resident_memory_bytes",
  "process_cpu_seconds_total",
  "process_start_time_seconds",
  "nodejs_heap_size_used_bytes",
  "nodejs_heap_size_total_bytes",
  "nodejs_heap_size_limit_bytes",
  "nodejs_external_memory_bytes",
  "nodejs_eventloop_lag_mean_seconds",
  "nodejs_eventloop_lag_p50_seconds",
  "nodejs_eventloop_lag_p99_seconds",
  "nodejs_eventloop_lag_max_seconds",
  "nodejs_gc_duration_seconds"
]

/** A running sampler: {@link sample} refreshes every gauge and records the GC pauses seen since the last call. */
export interface Sampler {
  readonly sample: Effect.Effect<void>
}

/**
 * Starts the event-loop delay monitor and the GC observer in the current Scope (both stopped
 * when it closes) and a fiber that samples every {@link SAMPLE_INTERVAL_MS}.
 */
export const start: Effect.Effect<Sampler, never, Scope.Scope> = Effect.gen(function* () {
  const delay = monitorEventLoopDelay({ resolution: 10 })
  // GC pauses arrive in an observer callback (outside any fiber); they wait here until the
  // next sample, at most one interval's worth.
  let pauses: Array<{ readonly kind: string; readonly seconds: number }> = []
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { readonly detail?: { readonly kind?: number } }).detail?.kind ?? 0
      pauses.push({ kind: GC_KINDS[kind] ?? "unknown", seconds: entry.duration / 1000 })
    }
  })
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      delay.enable()
      observer.observe({ entryTypes: ["gc"] })
    }),
    () =>
      Effect.sync(() => {
        observer.disconnect()
        delay.disable()
      })
  )
  yield* Metric.update(startTime, Math.round(Date.now() / 1000 - process.uptime()))

  const sample = Effect.suspend(() => {
    const memory = process.memoryUsage()
    const cpu = process.cpuUsage()
    const heap = V8.getHeapStatistics()
    // The histogram is in nanoseconds; with no sample yet its figures are NaN / huge, so skip.
    const lag =
      delay.count > 0
        ? {
            mean: delay.mean / 1e9,
            p50: delay.percentile(50) / 1e9,
            p99: delay.percentile(99) / 1e9,
            max: delay.max / 1e9
          }
        : undefined
    delay.reset()
    const gcs = pauses
    pauses = []
    return Effect.all(
      [
        Metric.update(residentMemory, memory.rss),
        Metric.update(cpuSeconds, (cpu.user + cpu.system) / 1e6),
        Metric.update(heapUsed, memory.heapUsed),
        Metric.update(heapTotal, memory.heapTotal),
        Metric.update(heapLimit, heap.heap_size_limit),
        Metric.update(external, memory.external),
        lag === undefined
          ? Effect.void
          : Effect.all([
              Metric.update(lagMean, lag.mean),
              Metric.update(lagP50, lag.p50),
              Metric.update(lagP99, lag.p99),
              Metric.update(lagMax, lag.max)
            ]),
        Effect.forEach(gcs, (gc) => Metric.update(Metric.withAttributes(gcDuration, { kind: gc.kind }), gc.seconds), {
          discard: true
        })
      ],
      { discard: true }
    )
  })
  yield* sample
  yield* Effect.forkScoped(Effect.repeat(sample, Schedule.spaced(SAMPLE_INTERVAL_MS)))
  return { sample }
})
