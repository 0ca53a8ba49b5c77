package lease_test

import (
	"context"
	"fmt"
	"time"

	"github.com/seed41aebe0c/lbkit/pooling/lease"
)

// Cap concurrent work per key, and change the cap at runtime.
func ExamplePool_Acquire() {
	pool, err := lease.New[string]()
	if err != nil {
		panic(err)
	}
	defer pool.Stop()
	_ = pool.Set("db-primary", 2)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a, _ := pool.Acquire(ctx, "db-primary")
	b, _ := pool.Acquire(ctx, "db-primary")
	fmt.Printf("%+v\n", pool.Get("db-primary"))

	_ = pool.Set("db-primary", 1) // lowered below the leases held
	a.Release()
	_, ok := pool.TryAcquire("db-primary")
	fmt.Println("lease after one release:", ok)
	b.Release()
	c, ok := pool.TryAcquire("db-primary")
	fmt.Println("lease after two releases:", ok)
	c.Release()
	// Output:
	// {Target:2 Active:2 Waiting:0}
	// lease after one release: false
	// lease after two releases: true
}

// A supervisor ranges over Leases and starts one worker per lease, so each
// key has as many workers as its target.
func ExamplePool_Leases() {
	pool, err := lease.New[string]()
	if err != nil {
		panic(err)
	}
	defer pool.Stop()
	_ = pool.Set("spam", 2)
	_ = pool.Set("eggs", 1)

	workers := map[string]int{}
	var held []*lease.Lease[string]
	for l := range pool.Leases() {
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
