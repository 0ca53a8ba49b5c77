// Package stringsvc is the uppercase method of go-kit's string service
// tutorial, served over go-kit's HTTP transport on 127.0.0.1, and its
// client built twice: with go-kit's sd and sd/lb (GoKitClient) and with
// lbkit (LBKitClient), the constructor lines being the only difference.
// The migration tests run both clients against the same servers, under
// go-kit's own instancers, and compare what every call returned (Call,
// Outcome): the proof that the README's migration table holds.
package stringsvc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	httptransport "github.com/go-kit/kit/transport/http"
)

// ErrEmpty is the service's answer to an empty string: a request no
// instance will accept, so every attempt of a retry fails with it.
var ErrEmpty = errors.New("empty string")

type uppercaseRequest struct {
	S string `json:"s"`
}

type uppercaseResponse struct {
	V   string `json:"v"`
	Err string `json:"err,omitempty"`
}

// Instance is one instance of the service. It counts the calls it served,
// so tests can see where traffic went.
type Instance struct {
	// Delay is how long each call takes (0: answer at once).
	Delay  time.Duration
	Served atomic.Int64
}

// Handler serves POST /uppercase with go-kit's HTTP server.
func (in *Instance) Handler() http.Handler {
	uppercase := func(ctx context.Context, request any) (any, error) {
		in.Served.Add(1)
		if in.Delay > 0 {
			select {
			case <-time.After(in.Delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		req := request.(uppercaseRequest)
		if req.S == "" {
			return uppercaseResponse{Err: ErrEmpty.Error()}, nil
		}
		return uppercaseResponse{V: strings.ToUpper(req.S)}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("POST /uppercase", httptransport.NewServer(endpoint.Endpoint(uppercase),
		func(_ context.Context, r *http.Request) (any, error) {
			var req uppercaseRequest
			err := json.NewDecoder(r.Body).Decode(&req)
			return req, err
		},
		httptransport.EncodeJSONResponse,
	))
	return mux
}

// Factory is the client's go-kit sd.Factory: a go-kit HTTP client endpoint
// for the uppercase method of the instance at host:port, through client
// (so a test can close its idle connections and resolve names its own way).
// The request is the string to convert; the response is the converted
// string, and an answer carrying the service's error is the endpoint's
// error, so a retry sees it.
func Factory(client *http.Client) sd.Factory {
	return func(instance string) (endpoint.Endpoint, io.Closer, error) {
		tgt, err := url.Parse("http://" + instance + "/uppercase")
		if err != nil {
			return nil, nil, err
		}
		return httptransport.NewClient(http.MethodPost, tgt,
			func(ctx context.Context, r *http.Request, request any) error {
				return httptransport.EncodeJSONRequest(ctx, r, uppercaseRequest{S: request.(string)})
			},
			func(_ context.Context, r *http.Response) (any, error) {
				var resp uppercaseResponse
				if err := json.NewDecoder(r.Body).Decode(&resp); err != nil {
					return nil, err
				}
				if resp.Err != "" {
					return nil, errors.New(resp.Err)
				}
				return resp.V, nil
			},
			httptransport.SetClient(client),
		).Endpoint(), nil, nil
	}
}
