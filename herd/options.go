package herd

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// Defaults.
const (
	// DefaultSize is the number of workers of a new herd.
	DefaultSize = 1
	// DefaultMaxRetries is how many times an item whose function returned
	// Retry is processed again before it ends as a Failure.
	DefaultMaxRetries = 3
)

// Errors. Errors with detail wrap one of these; compare with errors.Is.
var (
	// ErrInvalidArgument is wrapped by errors about bad arguments: a nil
	// function, a negative size, a bad option, a bad body sent to Handler.
	ErrInvalidArgument = errors.New("herd: invalid argument")
	// ErrClosed is returned by Send and Resize after Close.
	ErrClosed = errors.New("herd: closed")
	// ErrInputClosed is returned by Send after CloseInput.
	ErrInputClosed = errors.New("herd: input closed")
	// ErrRetriesExhausted is joined to the Err of an item that still asked
	// for a retry after the last one allowed.
	ErrRetriesExhausted = errors.New("herd: retries exhausted")
	// ErrInvalidStatus is joined to the Err of an item whose function
	// returned something other than Success, Retry or Failure; the item
	// fails.
	ErrInvalidStatus = errors.New("herd: function returned an invalid status")
	// ErrPanicked is joined to the Err of an item whose function
	// panicked; the item fails and the worker carries on.
	ErrPanicked = errors.New("herd: function panicked")
)

// Option configures a Herd.
type Option func(*config) error

type config struct {
	size       int
	maxRetries int
	retryDelay time.Duration
	outBuffer  int
	logger     log.Logger
	metrics    Metrics
	onSuccess  any // func(*Work[B, R]) for the herd's B and R; New checks
	onRetry    any
	onFailure  any
}

// WithSize sets the number of workers the herd starts with (DefaultSize).
// Zero is allowed: the herd then takes no work until resized.
func WithSize(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: negative size %d", ErrInvalidArgument, n)
		}
		c.size = n
		return nil
	}
}

// WithMaxRetries sets how many times an item is retried
// (DefaultMaxRetries). Zero turns retries off: Retry then fails the item.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: negative max retries %d", ErrInvalidArgument, n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryDelay makes a worker wait d before retrying an item (none by
// default). The worker retries the item itself, so the delay holds it.
func WithRetryDelay(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: negative retry delay %v", ErrInvalidArgument, d)
		}
		c.retryDelay = d
		return nil
	}
}

// WithOutputBuffer gives the output channel room for n finished items
// (none by default), so workers go on while the reader is slow.
func WithOutputBuffer(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: negative output buffer %d", ErrInvalidArgument, n)
		}
		c.outBuffer = n
		return nil
	}
}

// WithLogger sets the logger for resizes, failures and panics. The default
// discards them.
func WithLogger(l log.Logger) Option {
	return func(c *config) error {
		if nilarg.IsNil(l) {
			return fmt.Errorf("%w: nil logger", ErrInvalidArgument)
		}
		c.logger = l
		return nil
	}
}

// OnSuccess registers f to be called by the worker with each item that
// succeeded, before it goes to the output. f must be safe for concurrent
// use. Its type fixes B and R: New fails if they are not the herd's.
func OnSuccess[B, R any](f func(*Work[B, R])) Option {
	return callback(f, func(c *config) *any { return &c.onSuccess })
}

// OnRetry registers f to be called with an item each time it is granted a
// retry. See OnSuccess.
func OnRetry[B, R any](f func(*Work[B, R])) Option {
	return callback(f, func(c *config) *any { return &c.onRetry })
}

// OnFailure registers f to be called with each item that failed, before it
// goes to the output. See OnSuccess.
func OnFailure[B, R any](f func(*Work[B, R])) Option {
	return callback(f, func(c *config) *any { return &c.onFailure })
}

func callback[B, R any](f func(*Work[B, R]), slot func(*config) *any) Option {
	return func(c *config) error {
		if f == nil {
			return fmt.Errorf("%w: nil callback", ErrInvalidArgument)
		}
		*slot(c) = f
		return nil
	}
}

// typedCallback returns the callback stored in v as the herd's type, or an
// error if it was made for other work types.
func typedCallback[B, R any](v any, name string) (func(*Work[B, R]), error) {
	if v == nil {
		return func(*Work[B, R]) {}, nil
	}
	f, ok := v.(func(*Work[B, R]))
	if !ok {
		return nil, fmt.Errorf("%w: %s callback is a %T, want a %T", ErrInvalidArgument, name, v, f)
	}
	return f, nil
}
