package loadbalancer_test

import (
	"errors"
	"testing"
	"time"

	"github.com/seed41aebe0c/lbkit/loadbalancer"
)

// Status says where the instances come from, when discovery last
// delivered them, and since when its error has been in force.
func TestStatusDiscoveryTimes(t *testing.T) {
	before := time.Now()
	p := mustStatic(t, "a")
	b, _ := loadbalancer.New(p, newBackends().factory, random)
	defer b.Close()
	st := b.Status()
	if st.Source != "*static.Publisher" {
		t.Errorf("source %q, want the publisher's type", st.Source)
	}
	if st.LastUpdate.Before(before) || st.LastUpdate.After(time.Now()) || !st.ErrorSince.IsZero() {
		t.Fatalf("after the first event: last update %v, error since %v", st.LastUpdate, st.ErrorSince)
	}
	first := st.LastUpdate

	failed := time.Now()
	p.Fail(errors.New("registry unreachable"))
	eventually(t, "the discovery error", func() bool { return b.Status().DiscoveryErr != nil })
	p.Fail(errors.New("still unreachable"))
	time.Sleep(10 * time.Millisecond)
	st = b.Status()
	if st.ErrorSince.Before(failed) || st.ErrorSince.After(time.Now()) || st.LastUpdate != first {
		t.Fatalf("during the error: since %v (failed at %v), last update %v (was %v)", st.ErrorSince, failed, st.LastUpdate, first)
	}
	since := st.ErrorSince
	if st = b.Status(); st.ErrorSince != since {
		t.Fatalf("a second error of the spell moved ErrorSince: %v, was %v", st.ErrorSince, since)
	}

	p.Replace(p.Instances()...)
	eventually(t, "the recovery", func() bool { return b.Status().DiscoveryErr == nil })
	st = b.Status()
	if !st.ErrorSince.IsZero() || !st.LastUpdate.After(first) {
		t.Fatalf("after recovery: since %v, last update %v (first %v)", st.ErrorSince, st.LastUpdate, first)
	}
}
