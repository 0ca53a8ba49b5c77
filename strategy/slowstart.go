package strategy

import (
	"math"
	"time"
)

// Defaults of SlowStart: a zero field means the default named here.
const (
	// DefaultSlowStartWindow is how long a host takes to ramp up to its
	// full share.
	DefaultSlowStartWindow = 30 * time.Second
	// DefaultSlowStartAggression is Envoy's default aggression: the share
	// grows linearly over the window.
	DefaultSlowStartAggression = 1.0
	// DefaultSlowStartMinPercent is the share, in percent of its full
	// share, a host starts its ramp with (Envoy's min_weight_percent).
	DefaultSlowStartMinPercent = 10
)

// SlowStart configures slow start for a HostSet (WithSlowStart), as
// Envoy's slow_start_config does: a host that joins a set that already has
// hosts, or that comes back from an ejection (WithOutlierEjection), gets
// only a share of the traffic it would otherwise get, growing over Window
// from MinPercent to all of it as
//
//	share = max(MinPercent/100, (time since it started / Window)^(1/Aggression))
//
// so that a cold cache or an unwarmed JIT is not flooded. The hosts of the
// set's first members do not ramp: there is no one to spare them.
//
// It works under every strategy: when the strategy picks a ramping host,
// the set keeps the pick with probability share and otherwise picks again,
// so the host gets about share times the traffic the strategy would give
// it. The zero value means every default; a field out of range makes
// WithSlowStart return an error wrapping ErrInvalidArgument.
type SlowStart struct {
	// Window is how long the ramp lasts; 0 means DefaultSlowStartWindow.
	Window time.Duration
	// Aggression shapes the ramp: 1 is linear, above 1 rises fast early,
	// below 1 stays low longer; 0 means DefaultSlowStartAggression.
	Aggression float64
	// MinPercent, 1 to 100, is the share a host starts with; 0 means
	// DefaultSlowStartMinPercent.
	MinPercent float64
}

func (s SlowStart) withDefaults() (SlowStart, error) {
	switch {
	case s.Window < 0:
		return s, invalid("slow start: negative window %v", s.Window)
	case !(s.Aggression >= 0) || math.IsInf(s.Aggression, 0):
		return s, invalid("slow start: aggression %v is not a finite number > 0", s.Aggression)
	case !(s.MinPercent >= 0 && s.MinPercent <= 100):
		return s, invalid("slow start: min percent %v outside [1,100]", s.MinPercent)
	}
	if s.Window == 0 {
		s.Window = DefaultSlowStartWindow
	}
	if s.Aggression == 0 {
		s.Aggression = DefaultSlowStartAggression
	}
	if s.MinPercent == 0 {
		s.MinPercent = DefaultSlowStartMinPercent
	}
	return s, nil
}

// WithSlowStart makes a HostSet ramp new and returning hosts up to their
// full share as s configures (see SlowStart; SlowStart{} means the
// defaults). It applies to a HostSet only: NewHost rejects it. A field out
// of range is an error wrapping ErrInvalidArgument.
func WithSlowStart(s SlowStart) Option {
	return func(c *hostConfig) error {
		s, err := s.withDefaults()
		if err != nil {
			return err
		}
		c.slowStart = &s
		return nil
	}
}

// share is the ramp's share after elapsed nanoseconds of it.
func (s *SlowStart) share(elapsed int64) float64 {
	x := float64(elapsed) / float64(s.Window)
	if x >= 1 {
		return 1
	}
	if x < 0 {
		x = 0
	}
	if s.Aggression != 1 {
		x = math.Pow(x, 1/s.Aggression)
	}
	return max(x, s.MinPercent/100)
}
