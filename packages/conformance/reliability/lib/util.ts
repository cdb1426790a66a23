/**
 * Small helpers shared by the reliability tests: the run size, temp directories, figures.
 *
 * @module
 */
import { Figure, Temp } from "@txlane/testkit"

/** Full-size runs (RELIABILITY.md figures) instead of the CI slice. */
export const FULL = process.env.TXLANE_RELIABILITY_FULL === "1"

/** A fresh short temp directory (socket paths stay far below 107 bytes). */
export const tempDir = (): string => Temp.tempDir("txrel-")

export const { cleanupTempDirs } = Temp

/** Prints a figure for RELIABILITY.md on one greppable line. */
export const figure = (name: string, values: Record<string, unknown>): void =>
  Figure.figure(name, { full: FULL, ...values })
