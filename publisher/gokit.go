package publisher

import (
	"fmt"
	"sync"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/seed41aebe0c/lbkit/internal/nilarg"
)

// FromInstancer adapts a go-kit sd.Instancer (ZooKeeper, Eureka, a user's
// own) into a Publisher. Every go-kit instance string becomes an Instance
// with that address and default weight and priority.
//
// Instances are validated like every publisher's (see ValidateAll): an
// empty string or a repeated address is left out, described in the event's
// Invalid error, and logged to the WithLogger logger.
//
// Stop deregisters from the instancer and ends the adapter's goroutine; it
// does not stop the instancer itself, which the caller owns. A nil
// instancer (typed nil included) is an error wrapping ErrInvalidArgument.
func FromInstancer(inst sd.Instancer, opts ...Option) (Publisher, error) {
	if nilarg.IsNil(inst) {
		return nil, fmt.Errorf("%w: nil sd.Instancer", ErrInvalidArgument)
	}
	var cfg adapterConfig
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidArgument)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	a := &instancerPublisher{
		inst: inst,
		ch:   make(chan sd.Event),
		done: make(chan struct{}),
	}
	a.fan.SetLogger(cfg.logger)
	a.wg.Add(1)
	go a.run()
	// go-kit instancers send the current state from within Register, so the
	// reader must be running before we register.
	inst.Register(a.ch)
	return a, nil
}

// Option configures FromInstancer.
type Option func(*adapterConfig) error

type adapterConfig struct {
	logger log.Logger
}

// WithLogger sets the logger for the instances FromInstancer drops as
// invalid (at warning level). The default logs nothing. A nil logger,
// typed nil included, is an error wrapping ErrInvalidArgument.
func WithLogger(l log.Logger) Option {
	return func(c *adapterConfig) error {
		if nilarg.IsNil(l) {
			return fmt.Errorf("%w: nil logger", ErrInvalidArgument)
		}
		c.logger = l
		return nil
	}
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
// lbkit publisher. Register sends the current state before it returns, as
// go-kit's contract says; later states reach each registered channel from
// one goroutine that holds only the latest state; Deregister ends it. Stop deregisters every channel
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

// Register implements sd.Instancer. As go-kit's contract says, the current
// state is sent on ch before Register returns (the empty state if the
// publisher has none yet, as go-kit's instancers do): Register blocks until
// ch takes it, so the reader must be running. Later states follow from a
// goroutine, latest state wins, until Deregister.
func (k *kitInstancer) Register(ch chan<- sd.Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.regs[ch]; ok {
		return
	}
	sub := k.p.Subscribe()
	var first Event
	select {
	case first = <-sub.C(): // the zero Event once the publisher stopped
	default: // no state yet
	}
	ch <- toKit(first)
	f := &forwarder{sub: sub, stop: make(chan struct{}), done: make(chan struct{})}
	k.regs[ch] = f
	go f.run(ch)
}

// toKit is the go-kit form of ev: the addresses, and the error.
func toKit(ev Event) sd.Event {
	return sd.Event{Instances: Addresses(ev.Instances), Err: ev.Err}
}

func (f *forwarder) run(ch chan<- sd.Event) {
	defer close(f.done)
	for {
		select {
		case ev, ok := <-f.sub.C():
			if !ok {
				return
			}
			kev := toKit(ev)
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
