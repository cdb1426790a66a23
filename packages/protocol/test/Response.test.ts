import { Result, Schema } from "effect"
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

  it("decodes exactly what the Response schema accepts (the hand-written fast path agrees with it)", () => {
    const schemaDecode = Schema.decodeUnknownResult(Response.Response)
    // Near misses for every field: wrong types, negative, fractional and unsafe counts.
    const field = fc.oneof(
      fc.jsonValue(),
      fc.integer({ min: -5, max: 5 }),
      fc.constantFrom(0.5, -0, 2 ** 53, Number.MAX_SAFE_INTEGER, true, false, "1", "", null)
    )
    fc.assert(
      fc.property(
        fc.record(
          {
            success: fc.oneof(fc.boolean(), field),
            count: fc.oneof(fc.nat(), field),
            error: fc.oneof(fc.string(), field)
          },
          { requiredKeys: [] }
        ),
        fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 2 }),
        (known, extra) => {
          const json = JSON.stringify({ ...extra, ...known })
          const ours = Response.decode(new TextEncoder().encode(json))
          const schema = schemaDecode(JSON.parse(json))
          expect(Result.isSuccess(ours)).toBe(Result.isSuccess(schema))
          if (Result.isSuccess(ours) && Result.isSuccess(schema)) expect(ours.success).toEqual(schema.success)
        }
      ),
      { numRuns: 2000 }
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
