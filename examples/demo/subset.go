package main

import (
	"fmt"
	"io"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/subset"
)

// demoClients is the client count the demo claims with -subset: it plays
// client 0 of 3, so that the status page has a subset to show.
const demoClients = 3

// withSubset puts, with -subset n, a subsetting publisher in front of pub:
// the balancers then see only client 0 of demoClients's n backends. Without
// it (n == 0) pub is returned as it is and sub is nil.
func withSubset(out io.Writer, pub publisher.Publisher, n int) (_ publisher.Publisher, sub *subset.Publisher, err error) {
	if n == 0 {
		return pub, nil, nil
	}
	sub, err = subset.New(pub, n, subset.Fixed(0, demoClients))
	if err != nil {
		return nil, nil, err
	}
	if st := sub.Stats(); st.Ready {
		fmt.Fprintf(out, "subset: client 0 of %d, %d backends each; in force: %v\n\n", demoClients, n, st.Subset)
	} else {
		fmt.Fprintf(out, "subset: client 0 of %d, %d backends each, once discovery answers\n\n", demoClients, n)
	}
	return sub, sub, nil
}
