/**
 * A process's own stall figures, for the latency benchmark: event-loop delay
 * (`perf_hooks.monitorEventLoopDelay`) and GC pauses (`PerformanceObserver` on `gc` entries).
 * Both are what a latency tail is made of on Node: a frame that arrives while the loop is busy
 * or stopped for a collection waits for it.
 *
 * @module
 */
import * as fs from "node:fs"
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import * as hdr from "hdr-histogram-js"

/** Figures of one {@link LoopStats} window, in microseconds (GC total in milliseconds). */
export interface LoopFigures {
  readonly eventLoopDelayP99Us: number
  readonly eventLoopDelayMaxUs: number
  readonly gcPauseP99Us: number
  readonly gcPauseMaxUs: number
  readonly gcCount: number
  readonly gcTotalMs: number
  /**
   * The process's CPU time (user + system, every thread) over the same window, in milliseconds:
   * what `gcTotalMs` is a share of. Absent in results recorded before 2026-12-02.
   */
  readonly cpuMs?: number | undefined
}

/** Starts both monitors; `read` gives the figures since the last `reset` (or the start). */
export interface LoopStats {
  readonly reset: () => void
  readonly read: () => LoopFigures
  readonly stop: () => void
}

const us = (ns: number): number => Math.round(ns / 100) / 10

/** Starts monitoring this process. `resolutionMs` is the event-loop sampling period. */
export const startLoopStats = (resolutionMs = 1): LoopStats => {
  const delay = monitorEventLoopDelay({ resolution: resolutionMs })
  delay.enable()
  // Nanoseconds, 3 significant digits, up to a minute.
  const gc = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000_000,
    numberOfSignificantValueDigits: 3
  })
  let gcTotalMs = 0
  let cpuAtReset = process.cpuUsage()
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.recordValue(Math.max(1, Math.round(entry.duration * 1e6)))
      gcTotalMs += entry.duration
    }
  })
  observer.observe({ entryTypes: ["gc"] })
  return {
    reset: () => {
      delay.reset()
      gc.reset()
      gcTotalMs = 0
      cpuAtReset = process.cpuUsage()
    },
    read: () => {
      const cpu = process.cpuUsage(cpuAtReset)
      return {
        eventLoopDelayP99Us: us(delay.percentile(99)),
        eventLoopDelayMaxUs: us(delay.max),
        gcPauseP99Us: gc.totalCount === 0 ? 0 : us(gc.getValueAtPercentile(99)),
        gcPauseMaxUs: gc.totalCount === 0 ? 0 : us(gc.maxValue),
        gcCount: gc.totalCount,
        gcTotalMs: Math.round(gcTotalMs * 10) / 10,
        cpuMs: Math.round((cpu.user + cpu.system) / 100) / 10
      }
    },
    stop: () => {
      delay.disable()
      observer.disconnect()
    }
  }
}

/** The figures a process wrote to its `--loop-stats` file; null if it wrote none (it failed). */
export const readLoopStats = (file: string): LoopFigures | null => {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as LoopFigures
  } catch {
    return null
  }
}
