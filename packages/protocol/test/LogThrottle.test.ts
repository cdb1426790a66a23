import { describe, expect, it } from "vitest"
import { LogThrottle } from "../src/internal.js"

describe("LogThrottle", () => {
  const at = (times: ReadonlyArray<number>) => {
    let i = 0
    return () => times[i++] ?? Number.NaN
  }

  it("passes the first warning of a key, suppresses the rest of the interval, then reports the count", () => {
    const throttle = new LogThrottle(1000, at([0, 10, 500, 999, 1000, 1500, 2600]))
    expect(throttle.admit("bad", "m0")).toBe("m0")
    expect(throttle.admit("bad", "m1")).toBeUndefined()
    expect(throttle.admit("bad", "m2")).toBeUndefined()
    expect(throttle.admit("bad", "m3")).toBeUndefined()
    expect(throttle.admit("bad", "m4")).toBe("m4 (3 similar suppressed)")
    expect(throttle.admit("bad", "m5")).toBeUndefined()
    expect(throttle.admit("bad", "m6")).toBe("m6 (1 similar suppressed)")
  })

  it("keys are independent", () => {
    const throttle = new LogThrottle(1000, at([0, 1, 2, 3]))
    expect(throttle.admit("a", "a0")).toBe("a0")
    expect(throttle.admit("b", "b0")).toBe("b0")
    expect(throttle.admit("a", "a1")).toBeUndefined()
    expect(throttle.admit("b", "b1")).toBeUndefined()
  })
})
