package peercli

import (
	"context"
	"errors"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Parse parses args with fs; ok false means return code now (0 for -help, 2 for a bad
// command line, whose message fs has already printed).
func Parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// SendContext is a sending command's context: it ends after --timeout-ms, on SIGTERM or
// SIGINT (logged as "giving up") or when stop (nil: never; for tests) is closed. The
// caller must call the returned cancel, which also stops watching the signals.
func SendContext(timeout time.Duration, logger *log.Logger, stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		select {
		case s := <-sigs:
			logger.Printf("%v: giving up", s)
			cancel()
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}
