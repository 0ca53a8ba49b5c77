package statuspage_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seed41aebe0c/lbkit/herd"
	"github.com/seed41aebe0c/lbkit/pooling"
	"github.com/seed41aebe0c/lbkit/statuspage"
)

// TestHerdAndPoolControls resizes a real herd and a real pool from the page.
func TestHerdAndPoolControls(t *testing.T) {
	h, err := herd.New(func(context.Context, *herd.Work[int, int]) herd.Status { return herd.Success }, herd.WithSize(2))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	driver, _ := pooling.NewNetDriver("tcp")
	pool, err := pooling.NewPool[net.Conn]("127.0.0.1:1", driver, pooling.WithPrespawn(0))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	page, err := statuspage.New(
		statuspage.WithControl("herd size", statuspage.SizeControl(h, 1, 16)),
		statuspage.WithControl("pool max conns", statuspage.MaxConnsControl(pool, 1, 64)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(page)
	defer srv.Close()
	if code, body := post(t, srv, `{"name":"herd size","value":5}`); code != http.StatusOK || h.Size() != 5 {
		t.Fatalf("herd: %d %s, size %d", code, body, h.Size())
	}
	if code, body := post(t, srv, `{"name":"pool max conns","value":7}`); code != http.StatusOK || pool.Stats().MaxConns != 7 {
		t.Fatalf("pool: %d %s, max %d", code, body, pool.Stats().MaxConns)
	}
	if code, _ := post(t, srv, `{"name":"herd size","value":17}`); code != http.StatusBadRequest || h.Size() != 5 {
		t.Fatalf("out-of-range resize: %d, size %d", code, h.Size())
	}
	_ = h.Close()
	if code, _ := post(t, srv, `{"name":"herd size","value":3}`); code != http.StatusConflict {
		t.Fatalf("resize of a closed herd: %d, want 409", code)
	}
}
