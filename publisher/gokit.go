package publisher

import (
	"fmt"
	"sync"

	"github.com/go-kit/kit/sd"

	"github.com/seed41aebe0c/lbkit/publisher/internal/nilarg"
)

// FromInstancer adapts a go-kit sd.Instancer (ZooKeeper, Eureka, a user's
// own) into a Publisher. Every go-kit instance string becomes an Instance
// with that address and default weight and priority.
//
// Stop deregisters from the instancer and ends the adapter's goroutine; it
// does not stop the instancer itself, which the caller owns. A nil
// instancer (typed nil included) is an error wrapping ErrInvalidArgument.
func FromInstancer(inst sd.Instancer) (Publisher, error) {
	if nilarg.IsNil(inst) {
		return nil, fmt.Errorf("%w: nil sd.Instancer", ErrInvalidArgument)
	}
	a := &instancerPublisher{
		inst: inst,
		ch:   make(chan sd.Event),
		done: make(chan struct{}),
	}
	a.wg.Add(1)
	go a.run()
	// go-kit instancers send the current state from within Register, so the
	// reader must be running before we register.
	inst.Register(a.ch)
	return a, nil
}

type instancerPublisher struct {
	fan  Fanout
	inst sd.Instancer
	ch   chan sd.Event
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func (a *instancerPublisher) run() {
	defer a.wg.Done()
	for {
		select {
		case ev := <-a.ch:
			a.fan.Publish(Event{Instances: FromAddresses(ev.Instances...), Err: ev.Err})
		case <-a.done:
			return
		}
	}
}

// Subscribe implements Publisher.
func (a *instancerPublisher) Subscribe() *Subscription { return a.fan.Subscribe() }

// Stop implements Publisher.
func (a *instancerPublisher) Stop() {
	a.once.Do(func() {
		// Deregister while run still drains the channel: a go-kit instancer
		// may be blocked sending to it while holding the lock Deregister needs.
		a.inst.Deregister(a.ch)
		close(a.done)
		a.wg.Wait()
		a.fan.Close()
	})
}

// ToInstancer adapts a Publisher into a go-kit sd.Instancer, so that go-kit's
// sd.NewEndpointer (or anything else that takes an Instancer) can consume an
// lbkit publisher. Each registered channel is fed by one goroutine that holds
// only the latest state; Deregister ends it. Stop deregisters every channel
// and stops the publisher. A nil Publisher (typed nil included) is an error
// wrapping ErrInvalidArgument.
func ToInstancer(p Publisher) (sd.Instancer, error) {
	if nilarg.IsNil(p) {
		return nil, fmt.Errorf("%w: nil Publisher", ErrInvalidArgument)
	}
	return &kitInstancer{p: p, regs: make(map[chan<- sd.Event]*forwarder)}, nil
}

type kitInstancer struct {
	p    Publisher
	mu   sync.Mutex
	regs map[chan<- sd.Event]*forwarder
}

type forwarder struct {
	sub  *Subscription
	stop chan struct{}
	done chan struct{}
}

// Register implements sd.Instancer.
func (k *kitInstancer) Register(ch chan<- sd.Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.regs[ch]; ok {
		return
	}
	f := &forwarder{sub: k.p.Subscribe(), stop: make(chan struct{}), done: make(chan struct{})}
	k.regs[ch] = f
	go f.run(ch)
}

func (f *forwarder) run(ch chan<- sd.Event) {
	defer close(f.done)
	for {
		select {
		case ev, ok := <-f.sub.C():
			if !ok {
				return
			}
			kev := sd.Event{Instances: Addresses(ev.Instances), Err: ev.Err}
			select {
			case ch <- kev:
			case <-f.stop:
				return
			}
		case <-f.stop:
			return
		}
	}
}

func (f *forwarder) end() {
	close(f.stop)
	<-f.done
	f.sub.Cancel()
}

// Deregister implements sd.Instancer.
func (k *kitInstancer) Deregister(ch chan<- sd.Event) {
	k.mu.Lock()
	f, ok := k.regs[ch]
	delete(k.regs, ch)
	k.mu.Unlock()
	if ok {
		f.end()
	}
}

// Stop implements sd.Instancer: it deregisters every channel and stops the
// underlying publisher.
func (k *kitInstancer) Stop() {
	k.mu.Lock()
	regs := k.regs
	k.regs = make(map[chan<- sd.Event]*forwarder)
	k.mu.Unlock()
	for _, f := range regs {
		f.end()
	}
	k.p.Stop()
}
