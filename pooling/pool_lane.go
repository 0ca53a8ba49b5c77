package pooling

import (
	"sync/atomic"
	"unsafe"
)

// The lane: sixteen slots, each an atomic pointer on its own cache line, in
// front of the locked idle stack. Put parks a connection fit for reuse in a
// free slot with one compare-and-swap; Get takes one with one swap. Each
// goroutine keeps to its own slot, so two goroutines on two CPUs neither
// wait for each other's lock nor pull each other's cache lines away.
//
// A connection goes the locked way instead whenever bookkeeping is due:
// Put of a fatal error or a Discard, an expired connection, one due for its
// test on borrow, and any Put while hold is not zero: while a Get waits
// (the connection is its), while the pool is over its maximum after
// SetMaxConns (it is closed) and after Close. The sweep, SetMaxConns,
// Close, a Get about to wait and a Get that finds its slot and the stack
// empty first drain the slots onto the stack; Stats counts them in place.
//
// No wake-up is lost, in the manner of Dekker's algorithm: a Get about to
// wait raises hold and then drains the slots, while a Put parks and then
// reads hold. Both are sequentially consistent atomics, so either the Get
// finds the parked connection, or the Put sees hold raised and takes its
// connection back out of the slot for the locked way (if no one took it
// meanwhile). Close and SetMaxConns raise hold the same way.

// laneSlots is the number of slots: enough that goroutines on a few CPUs
// rarely pick the same one.
const (
	laneBits  = 4
	laneSlots = 1 << laneBits
)

type laneSlot[C any] struct {
	e atomic.Pointer[entry[C]]
	_ [56]byte
}

// The parts of Pool.hold.
const (
	holdWaiter = 1       // per waiting Get
	holdOver   = 1 << 24 // over the maximum
	holdClosed = 1 << 28 // closed
)

// laneHint is the slot a goroutine tries first, read from its stack
// address: free, stable enough, and different between goroutines. The
// address is hashed, not just cut: goroutine stacks of one size are aligned
// to it, so the bits just above a frame's offset can be the same in every
// goroutine whose stack has grown. Put tries first the slot of the
// goroutine that borrowed the connection (Get records it in the entry), so
// a connection that one goroutine keeps borrowing stays in its slot. (The
// index of the goroutine's P, which sync.Pool uses, needs go:linkname to
// runtime.procPin, and pinning and unpinning made a serial Get+Put about
// 2 ns slower.)
func laneHint() uint8 {
	var here byte
	h := uint64(uintptr(unsafe.Pointer(&here))>>11) * 0x9e3779b97f4a7c15
	return uint8(h >> (64 - laneBits))
}

// takeFast takes the idle connection in slot h, or returns nil. The caller
// owns it and must lend it or push it onto the stack. It looks in no other
// slot: the connection there is another goroutine's, and taking it would
// have the two goroutines pass one connection back and forth while others
// lie idle on the stack. The locked way drains the lane only when the stack
// is empty.
func (p *Pool[C]) takeFast(h uint8) *entry[C] {
	s := &p.lane[h].e
	if s.Load() == nil {
		return nil
	}
	return s.Swap(nil)
}

// park puts e, which its caller owns and which is fit for reuse, in a free
// slot. It reports false if e must go the locked way: the lane is full, or
// hold is raised.
func (p *Pool[C]) park(e *entry[C]) bool {
	if p.hold.Load() != 0 {
		return false
	}
	if testHookPark != nil {
		testHookPark()
	}
	k := e.slot
	for range laneSlots {
		s := &p.lane[k%laneSlots].e
		k++
		if s.Load() != nil || !s.CompareAndSwap(nil, e) {
			continue
		}
		if p.hold.Load() == 0 {
			return true
		}
		// Raised meanwhile: take e back unless a Get or a drain has
		// taken it. (If it has come back since, it is idle again and
		// the locked way is as right for it.)
		return !s.CompareAndSwap(e, nil)
	}
	return false
}

// testHookPark, if set, runs in park between its look at hold and its
// parking: where a Get may start to wait unseen.
var testHookPark func()

// drainLocked moves the lane's connections onto the idle stack. Once the
// pool is closed only Close drains (moveLaneLocked): a connection parked
// after that is taken back by its Put, which sees hold raised, unless a Get
// that started before Close took it; a drain taking it instead would
// strand it on the stack of a closed pool.
func (p *Pool[C]) drainLocked() {
	if !p.closed {
		p.moveLaneLocked()
	}
}

func (p *Pool[C]) moveLaneLocked() {
	for i := range p.lane {
		s := &p.lane[i].e
		if s.Load() == nil {
			continue
		}
		if e := s.Swap(nil); e != nil {
			p.idle = append(p.idle, e)
		}
	}
}

// laneLen counts the connections in the lane.
func (p *Pool[C]) laneLen() int {
	n := 0
	for i := range p.lane {
		if p.lane[i].e.Load() != nil {
			n++
		}
	}
	return n
}
