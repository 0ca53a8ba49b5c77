package limit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/seed41aebe0c/lbkit/limit"
)

// Cap concurrent work per key, and change the cap at runtime.
func ExampleLimiter_Acquire() {
	lim, err := limit.New[string]()
	if err != nil {
		panic(err)
	}
	defer lim.Close()
	_ = lim.Set("db-primary", 2)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a, _ := lim.Acquire(ctx, "db-primary")
	b, _ := lim.Acquire(ctx, "db-primary")
	fmt.Printf("%+v\n", lim.Get("db-primary"))

	_ = lim.Set("db-primary", 1) // lowered below the leases held
	a.Release()
	_, ok := lim.TryAcquire("db-primary")
	fmt.Println("lease after one release:", ok)
	b.Release()
	c, ok := lim.TryAcquire("db-primary")
	fmt.Println("lease after two releases:", ok)
	c.Release()
	// Output:
	// {Target:2 Active:2 Waiting:0}
	// lease after one release: false
	// lease after two releases: true
}

// A supervisor ranges over Leases and starts one worker per lease, so each
// key has as many workers as its target.
func ExampleLimiter_Leases() {
	lim, err := limit.New[string]()
	if err != nil {
		panic(err)
	}
	defer lim.Close()
	_ = lim.Set("spam", 2)
	_ = lim.Set("eggs", 1)

	workers := map[string]int{}
	var held []*limit.Lease[string]
	for l := range lim.Leases() {
		workers[l.Key()]++ // a real supervisor would start a goroutine here
		held = append(held, l)
		if len(held) == 3 { // every key at its target
			break
		}
	}
	fmt.Println("spam:", workers["spam"], "eggs:", workers["eggs"])
	for _, l := range held {
		l.Release()
	}
	// Output:
	// spam: 2 eggs: 1
}
