package txlane

// The emulator's whole PEERS.md `send` run: the workload through a DeployedProducer, then
// the report line.

import (
	"context"
	"errors"
	"sync/atomic"
)

// ProducerWorkload is the PEERS.md workload a RunDeployedProducer run sends.
type ProducerWorkload struct {
	Seed       uint64
	Batches    int
	TxPerBatch int
	TxSize     int
}

// RunDeployedProducer is the whole `send` run of the emulator: it sends the workload
// through a DeployedProducer built from cfg (cfg.OnWrite is replaced), closes it and
// returns the PEERS.md report line. When ctx ends (the run's timeout or a signal) it stops
// at once; whatever was not acknowledged is undelivered. cfg errors are returned as is.
func RunDeployedProducer(ctx context.Context, cfg DeployedProducerConfig, wl ProducerWorkload) (PeerReport, error) {
	// The report counts what was written: every write's transactions go into the digest
	// (a resent batch twice, as PEERS.md specifies).
	var (
		digest       AtomicDigest
		transactions atomic.Int64
	)
	cfg.OnWrite = func(batch []byte) {
		txs, err := DecodeTransactions(batch)
		if err != nil {
			return // cannot happen: the workload is well-formed
		}
		transactions.Add(int64(len(txs)))
		for _, tx := range txs {
			digest.Add(tx)
		}
	}
	p, err := NewDeployedProducer(cfg)
	if err != nil {
		return PeerReport{}, err
	}
	errs := map[string]int64{}
	var notQueued int64
	gen := NewWorkload(wl.Seed, wl.TxSize)
	for b := 0; b < wl.Batches; b++ {
		if ctx.Err() != nil {
			notQueued += int64(wl.Batches - b)
			break
		}
		err := p.SendBatch(gen.NextBatch(wl.TxPerBatch))
		switch {
		case err == nil:
		case errors.Is(err, ErrFrameTooLarge):
			errs[KindFrameTooLarge]++
			notQueued++
		case errors.Is(err, ErrQueueFull):
			errs[KindQueueFull]++
			notQueued++
		default:
			notQueued += int64(wl.Batches - b)
			b = wl.Batches
		}
	}
	rep, err := p.Close(ctx)
	if err != nil && cfg.Logger != nil {
		cfg.Logger.Printf("%v", err)
	}
	out := NewPeerReport("sender")
	out.Impl = DeployedProducerImpl
	out.Frames, out.Bytes = rep.Sent, rep.Bytes
	out.Transactions = transactions.Load()
	out.Digest = digest.Load().String()
	out.Acknowledged = rep.Acknowledged
	out.Undelivered = rep.Undelivered + notQueued
	out.Responses = ResponseCounts{OK: rep.ResponsesOK, Error: rep.ResponsesError}
	for k, v := range rep.Errors {
		errs[k] += v
	}
	out.Errors = errs
	out.SetElapsed(rep.Elapsed)
	return out, nil
}
