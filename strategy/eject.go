package strategy

import (
	"math"
	"time"
)

// Defaults of OutlierEjection: a zero field means the default named here.
// They are Envoy's outlier-detection defaults (and gRPC's, proposal A50).
const (
	// DefaultConsecutiveFailures is how many failures in a row eject a
	// host (Envoy's consecutive_5xx).
	DefaultConsecutiveFailures = 5
	// DefaultEjectionInterval is how often the hosts' success rates are
	// compared and ejection multipliers of healthy hosts decrease.
	DefaultEjectionInterval = 10 * time.Second
	// DefaultBaseEjectionTime is the length of a first ejection; the n-th
	// ejection in a row lasts n times as long, up to MaxEjectionTime.
	DefaultBaseEjectionTime = 30 * time.Second
	// DefaultMaxEjectionTime caps an ejection's length (or the base
	// ejection time, if that is longer).
	DefaultMaxEjectionTime = 300 * time.Second
	// DefaultMaxEjectionPercent is the largest share of hosts ejected at
	// once; one host may be ejected however few hosts there are.
	DefaultMaxEjectionPercent = 10
	// DefaultSuccessRateMinimumHosts is how many hosts need
	// DefaultSuccessRateRequestVolume calls in an interval for their
	// success rates to be compared.
	DefaultSuccessRateMinimumHosts = 5
	// DefaultSuccessRateRequestVolume is the calls a host needs in an
	// interval for its success rate to count.
	DefaultSuccessRateRequestVolume = 100
	// DefaultSuccessRateStdevFactor sets how far below its peers a host's
	// success rate must be to eject it: below mean − factor × stddev.
	DefaultSuccessRateStdevFactor = 1.9
	// DefaultPanicThreshold is the healthy share of hosts, in percent,
	// below which the set ignores ejection and balances over every host
	// (Envoy's healthy_panic_threshold).
	DefaultPanicThreshold = 50
)

// OutlierEjection configures outlier ejection for a HostSet
// (WithOutlierEjection), as Envoy's outlier detection and gRPC's
// outlier_detection policy (proposal A50) do it. It works under every
// strategy, because the set, not the picker, turns an ejected host's picks
// away.
//
// A host is ejected when ConsecutiveFailures of its calls in a row fail (as
// the hosts' Scorer judges a failure; a caller's own cancellation is no
// failure, see Host.Record), or when, at the end of an Interval, its
// success rate is below mean − SuccessRateStdevFactor × stddev of the
// rates of the hosts that had at least SuccessRateRequestVolume calls in
// it, if at least SuccessRateMinimumHosts did. Its n-th ejection lasts n ×
// BaseEjectionTime, up to MaxEjectionTime; n falls by one for every
// interval the host spends un-ejected. No ejection happens while
// MaxEjectionPercent of the hosts are ejected already (at least one host
// may be). When fewer than PanicThreshold percent of the hosts are healthy,
// the set picks among all of them, ejected or not, rather than overload the
// few that are left.
//
// The success rates are compared by the first Record after each interval
// has passed (off the pick path, without waiting for a lock); an ejection
// ends by itself when its time is up, checked by the picks. The zero value
// means every default; a field out of range makes WithOutlierEjection
// return an error wrapping ErrInvalidArgument.
type OutlierEjection struct {
	// ConsecutiveFailures ejects a host after this many failures in a row;
	// 0 means DefaultConsecutiveFailures, negative turns it off.
	ConsecutiveFailures int
	// Interval is how often success rates are compared; 0 means
	// DefaultEjectionInterval.
	Interval time.Duration
	// BaseEjectionTime is the length of a first ejection; 0 means
	// DefaultBaseEjectionTime.
	BaseEjectionTime time.Duration
	// MaxEjectionTime caps an ejection; 0 means DefaultMaxEjectionTime or
	// BaseEjectionTime, whichever is longer.
	MaxEjectionTime time.Duration
	// MaxEjectionPercent, 1 to 100, is the largest share of hosts ejected
	// at once; 0 means DefaultMaxEjectionPercent.
	MaxEjectionPercent int
	// SuccessRateMinimumHosts, SuccessRateRequestVolume and
	// SuccessRateStdevFactor configure the success-rate comparison; 0
	// means the defaults of the same names. A negative
	// SuccessRateStdevFactor turns the comparison off.
	SuccessRateMinimumHosts  int
	SuccessRateRequestVolume int
	SuccessRateStdevFactor   float64
	// PanicThreshold, in percent, is the healthy share below which
	// ejection is ignored; 0 means DefaultPanicThreshold, negative turns
	// panic mode off (ejected hosts then stay out however few remain).
	PanicThreshold int
}

// withDefaults returns o with every zero field set to its default, or an
// error wrapping ErrInvalidArgument.
func (o OutlierEjection) withDefaults() (OutlierEjection, error) {
	switch {
	case o.Interval < 0 || o.BaseEjectionTime < 0 || o.MaxEjectionTime < 0:
		return o, invalid("outlier ejection: negative duration")
	case o.MaxEjectionPercent < 0 || o.MaxEjectionPercent > 100:
		return o, invalid("outlier ejection: max ejection percent %d outside [1,100]", o.MaxEjectionPercent)
	case o.SuccessRateMinimumHosts < 0 || o.SuccessRateRequestVolume < 0:
		return o, invalid("outlier ejection: negative success-rate minimum")
	case math.IsNaN(o.SuccessRateStdevFactor) || math.IsInf(o.SuccessRateStdevFactor, 0):
		return o, invalid("outlier ejection: stdev factor %v is not finite", o.SuccessRateStdevFactor)
	case o.PanicThreshold > 100:
		return o, invalid("outlier ejection: panic threshold %d above 100", o.PanicThreshold)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.ConsecutiveFailures, DefaultConsecutiveFailures)
	def(&o.MaxEjectionPercent, DefaultMaxEjectionPercent)
	def(&o.SuccessRateMinimumHosts, DefaultSuccessRateMinimumHosts)
	def(&o.SuccessRateRequestVolume, DefaultSuccessRateRequestVolume)
	def(&o.PanicThreshold, DefaultPanicThreshold)
	if o.SuccessRateStdevFactor == 0 {
		o.SuccessRateStdevFactor = DefaultSuccessRateStdevFactor
	}
	if o.Interval == 0 {
		o.Interval = DefaultEjectionInterval
	}
	if o.BaseEjectionTime == 0 {
		o.BaseEjectionTime = DefaultBaseEjectionTime
	}
	if o.MaxEjectionTime == 0 {
		o.MaxEjectionTime = max(DefaultMaxEjectionTime, o.BaseEjectionTime)
	}
	if o.MaxEjectionTime < o.BaseEjectionTime {
		return o, invalid("outlier ejection: max ejection time %v below base %v", o.MaxEjectionTime, o.BaseEjectionTime)
	}
	return o, nil
}

// WithOutlierEjection makes a HostSet eject outliers as o configures
// (see OutlierEjection; OutlierEjection{} means Envoy's defaults). It
// applies to a HostSet only: NewHost rejects it. A field out of range is an
// error wrapping ErrInvalidArgument.
func WithOutlierEjection(o OutlierEjection) Option {
	return func(c *hostConfig) error {
		o, err := o.withDefaults()
		if err != nil {
			return err
		}
		c.ejection = &o
		return nil
	}
}

// EjectionReason says why a host was ejected.
type EjectionReason string

// The reasons for an ejection.
const (
	// EjectedConsecutiveFailures: OutlierEjection.ConsecutiveFailures
	// calls in a row failed.
	EjectedConsecutiveFailures EjectionReason = "consecutive-failures"
	// EjectedSuccessRate: the host's success rate over an interval was
	// far below its peers'.
	EjectedSuccessRate EjectionReason = "success-rate"
)

var reasons = [...]EjectionReason{"", EjectedConsecutiveFailures, EjectedSuccessRate}

// HostHealth is the outlier-ejection and slow-start state of a host, part
// of its HostStats. Hosts of a set without WithOutlierEjection or
// WithSlowStart are never ejected and always at full share.
type HostHealth struct {
	// Ejected is whether the host is ejected now, and EjectedFor how much
	// longer it stays so.
	Ejected    bool
	EjectedFor time.Duration
	// Ejections counts the host's ejections since it joined the set, and
	// EjectionReason gives the reason for the last one.
	Ejections      uint64
	EjectionReason EjectionReason
	// Share is the share of its normal traffic the host is given now: 1
	// at full share, 0 while ejected (unless the set is in panic), in
	// between while it ramps up after joining or after an ejection
	// (WithSlowStart).
	Share float64
}

// SetHealth sums up a HostSet's outlier ejection and slow start: see
// HostSet.Health.
type SetHealth struct {
	// Ejected and Ramping count the hosts ejected now and those ramping up
	// to their full share.
	Ejected, Ramping int
	// Panic is whether the set balances over all hosts, ejected or not,
	// because fewer than OutlierEjection.PanicThreshold percent are
	// healthy.
	Panic bool
	// Ejections counts the set's ejections since it was made.
	Ejections uint64
}

// Health returns a snapshot of the set's outlier ejection and slow start.
// It scans the hosts; call it from status pages, metrics and tests.
func (s *HostSet[T]) Health() SetHealth {
	g := s.cfg.group
	if g == nil {
		return SetHealth{}
	}
	out := SetHealth{Panic: g.panicking.Load(), Ejections: g.ejections.Load()}
	now := g.clock()
	for _, h := range s.cur.Load().hosts {
		switch hh := h.health(now); {
		case hh.Ejected:
			out.Ejected++
		case hh.Share < 1:
			out.Ramping++
		}
	}
	return out
}
