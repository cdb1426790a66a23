import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MalformedResponse, Response } from "../src/index.js"

describe("Response", () => {
  it("encodes the deployed shapes", () => {
    expect(new TextDecoder().decode(Response.encode(Response.success(50)))).toBe('{"success":true,"count":50}')
    expect(new TextDecoder().decode(Response.encode(Response.failure(Response.ErrorText.empty)))).toBe(
      '{"success":false,"error":"Empty Transactions message"}'
    )
  })

  it("uses the deployed server's error texts", () => {
    expect(Response.ErrorText.tooLarge(11, 10)).toBe("Transaction too large: 11 bytes (max: 10)")
    expect(Response.ErrorText.invalid("x")).toBe("Invalid Transactions protobuf: x")
    expect(Response.ErrorText.submitFailed("y")).toBe("Transaction submission failed: y")
  })

  it("round-trips, keeping unknown fields", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.option(fc.nat(), { nil: undefined }),
        fc.option(fc.string(), { nil: undefined }),
        fc.dictionary(
          fc.string().filter((k) => !["success", "count", "error", "__proto__"].includes(k)),
          fc.jsonValue()
        ),
        (success, count, error, extra) => {
          const response = {
            ...extra,
            success,
            ...(count === undefined ? {} : { count }),
            ...(error === undefined ? {} : { error })
          }
          expect(Result.getOrThrow(Response.decode(Response.encode(response)))).toEqual(
            JSON.parse(JSON.stringify(response))
          )
        }
      ),
      { numRuns: 300 }
    )
  })

  it("anything that is not a response object is MalformedResponse", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (payload) => {
        const result = Response.decode(payload)
        if (Result.isFailure(result)) expect(result.failure).toBeInstanceOf(MalformedResponse)
        else expect(typeof result.success.success).toBe("boolean")
      }),
      { numRuns: 1000 }
    )
  })
})
