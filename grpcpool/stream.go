package grpcpool

import (
	"context"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"
)

// countedStream keeps a stream counted as under way on its connection until
// grpc considers it finished. Each path that ends a stream in grpc's
// contract brings the count down, and only the first one does.
type countedStream struct {
	grpc.ClientStream
	c             *conn
	serverStreams bool
	ended         atomic.Bool
	stop          func() bool // unregisters the context watch
}

func newCountedStream(ctx context.Context, cs grpc.ClientStream, serverStreams bool, c *conn) *countedStream {
	s := &countedStream{ClientStream: cs, c: c, serverStreams: serverStreams}
	// context.AfterFunc starts no goroutine until ctx is done, and none at
	// all for a context that can never be done.
	s.stop = context.AfterFunc(ctx, s.release)
	return s
}

// release brings the count down once. It runs on the AfterFunc goroutine
// too, so it must not touch s.stop.
func (s *countedStream) release() {
	if s.ended.CompareAndSwap(false, true) {
		s.c.inflight.Add(-1)
	}
}

func (s *countedStream) finish() {
	s.release()
	s.stop()
}

// RecvMsg implements grpc.ClientStream. A non-nil error (io.EOF included)
// ends the stream; so does any return when the server does not stream,
// because grpc finishes such a stream after its single response.
func (s *countedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || !s.serverStreams {
		s.finish()
	}
	return err
}

// SendMsg implements grpc.ClientStream. An error other than io.EOF ends the
// stream; io.EOF means the server ended it and RecvMsg will say how.
func (s *countedStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && err != io.EOF {
		s.finish()
	}
	return err
}
