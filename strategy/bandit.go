package strategy

import (
	"math/rand/v2"
	"time"
)

// Bandit holds the settings every bandit strategy (EpsilonGreedy, Softmax,
// UCB1, Thompson) shares. It is embedded in each of their configs.
type Bandit struct {
	// Memoize is how long a picker reuses the table it computes from the
	// hosts' scores; 0 means DefaultMemoize. The pick itself is then a
	// table look-up. A nanosecond recomputes it whenever the hosts' clock
	// has moved since the last refresh (on the picks that check), at a
	// cost proportional to the number of hosts.
	// Negative is invalid.
	Memoize time.Duration
	// Transform, if set, maps each host's time-decayed mean score, in
	// [0,1], to the value it is ranked by (results outside [0,1] are
	// clamped): pooly's score Computer. For example
	// func(s float64) float64 { return s * s } widens the gap between a
	// host that fails 10% of its calls and one that never fails. It runs
	// when a picker refreshes its table, not per pick.
	Transform func(score float64) float64
	// Rand, if set, is the source of the picks' random numbers, for
	// repeatable simulations; it must be safe for concurrent use unless
	// only one goroutine picks. By default the runtime's generator is used.
	Rand rand.Source
}

// bandit is a Bandit with its defaults resolved.
type bandit struct {
	memo      time.Duration
	transform func(float64) float64
	rng       rng
}

func (b Bandit) validate(name string) error {
	if b.Memoize < 0 {
		return invalid("%s: negative memoization interval %v", name, b.Memoize)
	}
	return nil
}

func (b Bandit) resolve() bandit {
	memo := b.Memoize
	if memo == 0 {
		memo = DefaultMemoize
	}
	return bandit{memo: memo, transform: b.Transform, rng: rngOf(b.Rand)}
}
