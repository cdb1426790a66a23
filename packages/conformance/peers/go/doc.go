// Package txlane is the Go reference peer of the txlane wire protocol: length-prefixed
// frames carrying protobuf `Transactions` envelopes from a producer to a consensus node,
// normally over a Unix domain socket on one host (see packages/protocol/SPEC.md).
//
// # Framing
//
// Every frame, request or response, is a 4-byte big-endian length followed by that many
// payload bytes (SPEC §2):
//
//	+--------+--------+--------+--------+=================================+
//	|   length (u32, big-endian, bytes)  |  payload (length bytes)          |
//	+--------+--------+--------+--------+=================================+
//	  byte 0   byte 1   byte 2   byte 3    byte 4 …
//
// # Layout
//
//   - frame.go: [ReadFrame], [FrameReader], [Decoder] (push-style), [WriteFrame], [FrameWriter];
//     the limit errors [FrameTooLargeError] and [TruncatedFrameError].
//   - envelope.go: [DecodeTransactions] / [EncodeTransactions] for the `Transactions`
//     protobuf envelope, and [MalformedEnvelopeError].
//   - response.go: the JSON response ([Response], [DecodeResponse], [EncodeResponse]).
//   - server.go: [Server], shaped like net/http's: [Server.Serve], [Server.Shutdown],
//     [Server.Close], [ErrServerClosed]; a bounded handler pool with backpressure.
//   - sender.go: [ChannelBasedSender], the seed design's buffered channel of batches drained
//     by N workers that each own one persistent connection.
//   - producer.go: [DeployedProducer], an emulator of the deployed Go producer's wire
//     behaviour (request/response workers, not-ready retries, reconnect and resend), for
//     testing a receiver as a drop-in for the deployed server.
//   - endpoint.go: [ParseEndpoint] for `/abs/path`, `unix:/abs/path` and `tcp://host:port`.
//   - workload.go, digest.go: the deterministic conformance workload and the
//     order-independent transaction digest of packages/conformance/PEERS.md.
//
// The command-line testees in cmd/txlane-go-sender and cmd/txlane-go-receiver, and the
// emulator in cmd/txlane-deployed-producer, only parse flags and call into this package.
//
// Errors are values: every error this package returns for bad input matches one of the
// sentinels ([ErrFrameTooLarge], [ErrTruncatedFrame], [ErrMalformedEnvelope],
// [ErrMalformedResponse], …) with [errors.Is], and carries its numbers in a typed error
// reachable with [errors.As].
package txlane
