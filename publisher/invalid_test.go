package publisher_test

import (
	"errors"
	"testing"

	"github.com/go-kit/kit/sd"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// TestInvalidArguments checks that every argument the package refuses is
// refused with an error wrapping ErrInvalidArgument, typed nils included.
func TestInvalidArguments(t *testing.T) {
	var nilFixed *sd.FixedInstancer
	var nilPub *fanPublisher
	for name, call := range map[string]func() error{
		"instance without address": func() error { return publisher.Instance{}.Validate() },
		"negative weight":          func() error { return publisher.Instance{Address: "a:1", Weight: -1}.Validate() },
		"nil instancer":            func() error { _, err := publisher.FromInstancer(nil); return err },
		"typed nil instancer":      func() error { _, err := publisher.FromInstancer(nilFixed); return err },
		"nil publisher":            func() error { _, err := publisher.ToInstancer(nil); return err },
		"typed nil publisher":      func() error { _, err := publisher.ToInstancer(nilPub); return err },
		"nil option":               func() error { _, err := publisher.FromInstancer(sd.FixedInstancer{}, nil); return err },
		"nil logger": func() error {
			_, err := publisher.FromInstancer(sd.FixedInstancer{}, publisher.WithLogger(nil))
			return err
		},
	} {
		if err := call(); !errors.Is(err, publisher.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
}
