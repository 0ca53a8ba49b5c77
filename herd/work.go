package herd

import (
	"context"
	"fmt"
)

// Status is the outcome of processing a work item.
type Status int

// Outcomes. The zero Status is Pending: the item has not finished.
const (
	// Pending is the status of an item not yet processed, or whose
	// processing has not ended.
	Pending Status = iota
	// Success ends an item: it is done and goes to the output.
	Success
	// Retry asks for the item to be processed again, up to the herd's
	// maximum number of retries; after that it ends as a Failure.
	Retry
	// Failure ends an item without retrying it; it goes to the output.
	Failure
)

// String returns the status's name in lower case.
func (s Status) String() string {
	switch s {
	case Pending:
		return "pending"
	case Success:
		return "success"
	case Retry:
		return "retry"
	case Failure:
		return "failure"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Work is one item: an ID for the caller's bookkeeping, the Body to work
// on, and the Result and Err the function leaves for the output.
type Work[B, R any] struct {
	ID     string
	Body   B
	Result R
	// Err is for the function to say why an item failed. The herd adds
	// ErrRetriesExhausted, ErrInvalidStatus or ErrPanicked where those
	// ended the item.
	Err error

	status   Status
	attempts int
}

// Status returns the item's status: Pending until it ends, then Success or
// Failure. Inside an OnRetry callback it is Retry.
func (w *Work[B, R]) Status() Status { return w.status }

// Attempts returns how many times the function has been called on the
// item.
func (w *Work[B, R]) Attempts() int { return w.attempts }

// Func processes one item: it reads w.Body, sets w.Result (and w.Err if it
// likes) and returns Success, Retry or Failure. ctx is done when the herd
// is closed. Several workers call it at once, on different items.
type Func[B, R any] func(ctx context.Context, w *Work[B, R]) Status
