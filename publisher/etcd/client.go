package etcd

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Client is the part of an etcd client that a Publisher uses.
// *clientv3.Client satisfies it; tests inject their own.
type Client interface {
	Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error)
	Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan
}

// RegistrarClient is the part of an etcd client that a Registrar uses.
// *clientv3.Client satisfies it.
type RegistrarClient interface {
	Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error)
	Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error)
	Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error)
	KeepAlive(ctx context.Context, id clientv3.LeaseID) (<-chan *clientv3.LeaseKeepAliveResponse, error)
	Revoke(ctx context.Context, id clientv3.LeaseID) (*clientv3.LeaseRevokeResponse, error)
}

var (
	_ Client          = (*clientv3.Client)(nil)
	_ RegistrarClient = (*clientv3.Client)(nil)
)
