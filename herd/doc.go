// Package herd runs work items through a function on a bounded number of
// workers (a herd) whose size can change while it runs, from code (Resize,
// or ResizeBy for gofherd's grow and shrink by n) or over HTTP (Handler,
// which speaks gofherd's {"num": N} as well as {"size": N}).
//
//	h, err := herd.New(func(ctx context.Context, w *herd.Work[string, int]) herd.Status {
//		n, err := fetch(ctx, w.Body)
//		if err != nil {
//			w.Err = err
//			return herd.Retry
//		}
//		w.Result = n
//		return herd.Success
//	}, herd.WithSize(8), herd.WithMaxRetries(2))
//
//	go func() {
//		for _, url := range urls {
//			h.Send(ctx, herd.Work[string, int]{ID: url, Body: url}) // blocks until a worker takes it
//		}
//		h.CloseInput()
//	}()
//	for w := range h.Output() { // closes when all the work is done
//		fmt.Println(w.ID, w.Status(), w.Result, w.Err)
//	}
//
// The function says what became of each item: Success, Retry (processed
// again, up to a maximum, then Failure) or Failure. Callbacks (OnSuccess,
// OnRetry, OnFailure, or SetOnSuccess ... while it runs), go-kit metrics
// counters (WithMetrics; any go-kit backend: package lbmetrics builds them
// for Prometheus or statsd, and lbmetrics.NewGofherd under gofherd's names,
// the Metric... constants) and a go-kit logger follow the outcomes. A Herd
// is generic over the work's body and result.
//
// Status values are not gofherd's numbers: the zero Status is Pending
// (an item not yet finished), so Success, Retry and Failure are 1, 2 and 3
// where gofherd's were 0, 1 and 2. Compare with the constants, never with
// numbers.
//
// Send work from a goroutine other than the one reading Output: a worker
// hands its finished item to the output before it takes the next one.
//
// A Herd owns its workers' goroutines: Close cancels the function's context,
// drops unfinished items and returns once every worker has left; it is safe
// to call more than once. Invalid arguments give errors wrapping
// ErrInvalidArgument.
//
// The package stands on its own: of lbkit it imports only internal
// packages, and nothing imports it. Its function usually calls a service through a balanced,
// retrying endpoint (packages loadbalancer and retry), as examples/herd
// does, and statuspage.SizeControl puts its size on the status page.
package herd
