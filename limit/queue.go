package limit

// waiter is one Acquire call waiting for a key.
type waiter[K comparable] struct {
	ch         chan *Lease[K] // capacity 1: granting never blocks
	queued     bool
	prev, next *waiter[K]
}

// waitQueue is a FIFO of waiters that also removes from the middle in
// constant time, for callers whose context ends while they wait.
type waitQueue[K comparable] struct {
	head, tail *waiter[K]
	len        int
}

func (q *waitQueue[K]) empty() bool { return q.head == nil }

func (q *waitQueue[K]) push(w *waiter[K]) {
	w.queued, w.prev, w.next = true, q.tail, nil
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
	q.len++
}

func (q *waitQueue[K]) pop() *waiter[K] {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

func (q *waitQueue[K]) remove(w *waiter[K]) {
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.queued, w.prev, w.next = false, nil, nil
	q.len--
}
