/**
 * `receiver.json`: what a receiver writes back (SPEC §6). Each vector is the bytes a client sends
 * on one connection: the responses it gets, in order, and whether the receiver then closes.
 *
 * @module
 */
import { frame, MAX, pattern, tx, u32, type VectorFile } from "./bytes.js"

const ok = (count: number) => ({ success: true, count })
const fail = (error: string) => ({ success: false, error })

export const receiver: VectorFile = {
  file: "receiver.json",
  kind: "receiver",
  description: "What a receiver in json response mode and transactions payload mode writes back (SPEC §6).",
  vectors: [
    {
      name: "valid-batch",
      description: "A batch of 2 transactions.",
      input: frame(tx("aa") + tx("bbcc")),
      responses: [ok(2)],
      closes: false
    },
    {
      name: "zero-length-frame",
      description: "A zero-length frame is answered, not submitted.",
      input: frame(""),
      responses: [fail("Empty Transactions message")],
      closes: false
    },
    {
      name: "only-unknown-fields",
      description: "An envelope with no transactions.",
      input: frame("1001"),
      responses: [fail("Empty Transactions message")],
      closes: false
    },
    {
      name: "malformed-envelope-stays-open",
      description: "A malformed envelope is answered and the connection stays usable.",
      input: frame(tx("aa")) + frame("0801") + frame(tx("bb")),
      responses: [ok(1), fail("Invalid Transactions protobuf: …"), ok(1)],
      closes: false
    },
    {
      name: "pipelined",
      description: "Five frames written at once get five responses, in order.",
      input: [1, 2, 3, 4, 5].map((n) => frame(Array.from({ length: n }, () => tx("01")).join(""))).join(""),
      responses: [ok(1), ok(2), ok(3), ok(4), ok(5)],
      closes: false
    },
    {
      name: "oversize-closes",
      description: "An oversize header is answered with the deployed text, then the connection is closed.",
      maxFrameBytes: 16,
      input: frame(tx("aa")) + u32(17) + pattern(17),
      responses: [ok(1), fail("Transaction too large: 17 bytes (max: 16)")],
      closes: true
    },
    {
      name: "oversize-default-limit",
      description: "10 MiB + 1 with the default limit; the next bytes are never read as a header.",
      input: u32(MAX + 1) + frame(tx("aa")),
      responses: [fail(`Transaction too large: ${MAX + 1} bytes (max: ${MAX})`)],
      closes: true
    },
    {
      name: "header-4gib",
      description: "A 4 GiB header.",
      input: "ffffffff",
      responses: [fail(`Transaction too large: 4294967295 bytes (max: ${MAX})`)],
      closes: true
    }
  ]
}
