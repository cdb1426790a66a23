/**
 * `response.json`: the per-frame JSON responses (SPEC §5). Each vector is one response payload:
 * what it decodes to, or that it is malformed.
 *
 * @module
 */
import { ascii, type VectorFile } from "./bytes.js"

const okResponse = (json: string, response: object) => ({ input: ascii(json), response, error: null })
const badResponse = (input: string) => ({ input, response: null, error: { kind: "MalformedResponse" } })

export const response: VectorFile = {
  file: "response.json",
  kind: "response",
  description: "Per-frame JSON responses (SPEC §5).",
  vectors: [
    {
      name: "success-count",
      description: "The plain success shape.",
      ...okResponse('{"success":true,"count":3}', { success: true, count: 3 })
    },
    {
      name: "deployed-success",
      description: "The deployed server's success shape; extra fields are kept.",
      ...okResponse('{"success":true,"tx_hash":"ab12","block_ref":"0x1f","indices":[0,1],"count":2}', {
        success: true,
        tx_hash: "ab12",
        block_ref: "0x1f",
        indices: [0, 1],
        count: 2
      })
    },
    {
      name: "deployed-queued",
      description: "Queued for the next epoch: success without a count.",
      ...okResponse('{"success":true,"queued":true,"message":"queued for next epoch"}', {
        success: true,
        queued: true,
        message: "queued for next epoch"
      })
    },
    {
      name: "failure-empty",
      description: "The zero-transaction failure.",
      ...okResponse('{"success":false,"error":"Empty Transactions message"}', {
        success: false,
        error: "Empty Transactions message"
      })
    },
    {
      name: "failure-too-large",
      description: "The oversize failure text.",
      ...okResponse('{"success":false,"error":"Transaction too large: 10485761 bytes (max: 10485760)"}', {
        success: false,
        error: "Transaction too large: 10485761 bytes (max: 10485760)"
      })
    },
    {
      name: "count-zero",
      description: "count 0 is a valid non-negative integer.",
      ...okResponse('{"success":true,"count":0}', { success: true, count: 0 })
    },
    {
      name: "whitespace-and-order",
      description: "Whitespace and key order do not matter.",
      ...okResponse('  {\n "count" : 7 ,\n "success" : true }\n', { success: true, count: 7 })
    },
    {
      name: "unicode-error",
      description: "UTF-8 in the error text.",
      ...okResponse('{"success":false,"error":"nút chưa sẵn sàng"}', { success: false, error: "nút chưa sẵn sàng" })
    },
    { name: "not-json", description: "Plain text is not a response.", ...badResponse(ascii("ok")) },
    { name: "empty-payload", description: "An empty response payload.", ...badResponse("") },
    { name: "json-array", description: "A JSON array is not an object.", ...badResponse(ascii("[true]")) },
    { name: "json-null", description: "JSON null is not an object.", ...badResponse(ascii("null")) },
    { name: "success-missing", description: "success is required.", ...badResponse(ascii('{"count":1}')) },
    { name: "success-string", description: "success must be a boolean.", ...badResponse(ascii('{"success":"true"}')) },
    {
      name: "count-negative",
      description: "count must be non-negative.",
      ...badResponse(ascii('{"success":true,"count":-1}'))
    },
    {
      name: "count-fraction",
      description: "count must be an integer.",
      ...badResponse(ascii('{"success":true,"count":1.5}'))
    },
    {
      name: "count-string",
      description: "count must be a number.",
      ...badResponse(ascii('{"success":true,"count":"3"}'))
    },
    {
      name: "error-number",
      description: "error must be a string.",
      ...badResponse(ascii('{"success":false,"error":5}'))
    },
    { name: "invalid-utf8", description: "Invalid UTF-8 is rejected, not replaced.", ...badResponse("7b22ff22") },
    { name: "truncated-json", description: "Cut-off JSON.", ...badResponse(ascii('{"success":tr')) }
  ]
}
