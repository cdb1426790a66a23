/**
 * Reading another process's memory from `/proc`.
 *
 * @module
 */
import * as Fs from "node:fs"

/** VmRSS of a process, in bytes (0 once it is gone). */
export const rssOf = (pid: number): number => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
    return kb === undefined ? 0 : Number(kb) * 1024
  } catch {
    return 0
  }
}
