package pooling

import (
	"context"
	"io"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
)

// Call makes one request over a borrowed connection: write the request to
// conn, read the reply. Its error goes back to the pool with the
// connection, so the driver's Temporary decides whether the connection is
// kept.
type Call[C any] func(ctx context.Context, conn C, request any) (response any, err error)

// Factory returns a go-kit sd.Factory that puts a pool under every
// instance, for a loadbalancer or any go-kit sd.Endpointer: each instance
// gets its own Pool of connections made by driver with opts, its endpoint
// borrows a connection per call, runs call over it and gives it back with
// call's error, and its closer closes the pool. With a loadbalancer over a
// publisher, every live instance then has a pool.
//
// The closer does not wait as Pool.Close does: it closes the idle
// connections at once, makes Get fail with ErrClosed, and returns; a
// connection still borrowed by a call in flight is closed when the call
// gives it back. An instance that leaves thus never holds up the caller
// (or a balancer's update) for the close deadline. For HTTP clients, whose
// http.Transport keeps connections of its own, use HTTPFactory.
//
// The options are checked once, here; the factory fails only for an
// instance whose pool cannot be made (an empty address).
func Factory[C any](driver Driver[C], call Call[C], opts ...PoolOption) (sd.Factory, error) {
	if call == nil {
		return nil, invalid("nil call")
	}
	return perInstance(driver, opts, func(_ string, p *Pool[C]) (endpoint.Endpoint, io.Closer, error) {
		return p.Endpoint(call), nowCloser[C]{p}, nil
	})
}

// perInstance is what Factory and HTTPFactory share: the driver and options
// checked once, and for each instance a new pool that build turns into the
// instance's endpoint and closer. If build fails, the pool is closed.
func perInstance[C any](driver Driver[C], opts []PoolOption, build func(instance string, p *Pool[C]) (endpoint.Endpoint, io.Closer, error)) (sd.Factory, error) {
	if err := checkDriver(driver); err != nil {
		return nil, err
	}
	cfg, err := newPoolConfig(opts)
	if err != nil {
		return nil, err
	}
	return func(instance string) (endpoint.Endpoint, io.Closer, error) {
		p, err := newPool(instance, driver, cfg)
		if err != nil {
			return nil, nil, err
		}
		ep, closer, err := build(instance, p)
		if err != nil {
			p.closeNow()
			return nil, nil, err
		}
		return ep, closer, nil
	}, nil
}

// nowCloser is Factory's closer: Pool.closeNow as an io.Closer. It embeds
// the pool so that its Stats stay reachable.
type nowCloser[C any] struct{ *Pool[C] }

func (c nowCloser[C]) Close() error {
	c.closeNow()
	return nil
}
