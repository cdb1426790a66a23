package txlane

// A ChannelBasedSender's options (SenderOption) and the settings they make, with the
// defaults of sender.go.

import (
	"log"
	"time"
)

type senderConfig struct {
	delivery      Delivery
	maxFrameBytes int
	dialTimeout   time.Duration
	backoffMin    time.Duration
	backoffMax    time.Duration
	ackTimeout    time.Duration
	maxInFlight   int
	drainTimeout  time.Duration
	onWrite       func(batch []byte)
	onDelivered   func(batch []byte)
	transient     TransientRetry
	logger        *log.Logger
}

// SenderOption configures a ChannelBasedSender.
type SenderOption func(*senderConfig)

// WithDelivery sets the delivery mode (default FireAndForget).
func WithDelivery(d Delivery) SenderOption { return func(c *senderConfig) { c.delivery = d } }

// WithMaxFrameBytes sets the largest batch SendBatch accepts (default
// DefaultMaxFrameBytes); larger ones are rejected before queueing.
func WithMaxFrameBytes(n int) SenderOption { return func(c *senderConfig) { c.maxFrameBytes = n } }

// WithDialTimeout bounds one connection attempt (default DefaultDialTimeout).
func WithDialTimeout(d time.Duration) SenderOption {
	return func(c *senderConfig) { c.dialTimeout = d }
}

// WithBackoff sets the reconnect delay bounds (defaults DefaultBackoffMin, DefaultBackoffMax).
func WithBackoff(minDelay, maxDelay time.Duration) SenderOption {
	return func(c *senderConfig) { c.backoffMin, c.backoffMax = minDelay, maxDelay }
}

// WithAckTimeout sets how long an acknowledged-mode connection may owe a response
// (default DefaultAckTimeout).
func WithAckTimeout(d time.Duration) SenderOption { return func(c *senderConfig) { c.ackTimeout = d } }

// WithMaxInFlight sets the acknowledged-mode pipelining window per connection (default
// DefaultMaxInFlight).
func WithMaxInFlight(n int) SenderOption { return func(c *senderConfig) { c.maxInFlight = n } }

// WithDrainTimeout bounds the final read-until-EOF of each connection (default
// DefaultDrainTimeout).
func WithDrainTimeout(d time.Duration) SenderOption {
	return func(c *senderConfig) { c.drainTimeout = d }
}

// WithOnWrite registers a function called with every batch after its frame was written
// (once per write: a resent batch is reported again). It is called from worker goroutines
// concurrently and must be fast.
func WithOnWrite(f func(batch []byte)) SenderOption { return func(c *senderConfig) { c.onWrite = f } }

// WithOnDelivered registers a function called once with every batch that counts as
// delivered (answered with success, or written to a silent peer). Called from worker
// goroutines concurrently; it must be fast.
func WithOnDelivered(f func(batch []byte)) SenderOption {
	return func(c *senderConfig) { c.onDelivered = f }
}

// WithTransientRetry sets the schedule of batches answered "Node not ready…": the first
// delay, doubling per retry of the batch up to maxDelay, at most retries retries (then the
// batch counts as rejected). Defaults DefaultTransientRetry, DefaultTransientRetryMax,
// DefaultTransientRetries.
func WithTransientRetry(initial, maxDelay time.Duration, retries int) SenderOption {
	return func(c *senderConfig) {
		c.transient = TransientRetry{Initial: initial, Max: maxDelay, Retries: retries}
	}
}

// WithLogger sets where connection errors are logged (default: nowhere).
func WithLogger(l *log.Logger) SenderOption { return func(c *senderConfig) { c.logger = l } }
