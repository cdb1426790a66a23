/**
 * Temp directories and Unix socket paths for tests. Paths stay short: `sun_path` holds at most
 * 107 bytes, so everything lives one level below the system temp directory.
 *
 * @module
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const dirs: Array<string> = []

/** A fresh private temp directory (mode 0700), removed by {@link cleanupTempDirs}. */
export const tempDir = (prefix = "txt-"): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

/** A socket path `name` in a fresh {@link tempDir}: nothing else can be listening there. */
export const socketPath = (name = "r.sock", prefix?: string): string => Path.join(tempDir(prefix), name)

/** Removes every directory made by {@link tempDir} (call it in `afterAll`). */
export const cleanupTempDirs = (): void => {
  for (const dir of dirs.splice(0)) Fs.rmSync(dir, { recursive: true, force: true })
}
