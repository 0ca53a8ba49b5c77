package herd_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed41aebe0c/lbkit/herd"
)

func do(t *testing.T, h http.Handler, method, body string) (int, map[string]any, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/herd", strings.NewReader(body)))
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%s %q: body %q is not JSON: %v", method, body, rec.Body.String(), err)
	}
	return rec.Code, v, rec.Header()
}

func TestHandler(t *testing.T) {
	h := newHerd(t, addTen, herd.WithSize(2))
	hd := h.Handler()

	if code, v, hdr := do(t, hd, http.MethodGet, ""); code != 200 || v["size"] != 2.0 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET: %d %v", code, v)
	}
	if code, v, _ := do(t, hd, http.MethodPatch, `{"size": 5}`); code != 200 || v["size"] != 5.0 {
		t.Fatalf("PATCH size: %d %v", code, v)
	}
	waitFor(t, "five workers", func() bool { return h.Stats().Running == 5 })
	if code, v, _ := do(t, hd, http.MethodPatch, `{"num": 3}`); code != 200 || v["size"] != 3.0 || h.Size() != 3 {
		t.Fatalf("PATCH num (gofherd's name): %d %v", code, v)
	}
	for _, body := range []string{``, `{`, `{"size": -1}`, `{"size": "x"}`, `{}`, `{"size": 1, "extra": 2}`, `[1]`, strings.Repeat(" ", 2000) + `{"size": 1}`} {
		code, v, _ := do(t, hd, http.MethodPatch, body)
		if msg, _ := v["error"].(string); code != 400 || !strings.Contains(msg, herd.ErrInvalidArgument.Error()) {
			t.Errorf("PATCH %.40q: %d %v, want 400 with an invalid-argument error", body, code, v)
		}
	}
	if h.Size() != 3 {
		t.Fatalf("a bad request changed the size to %d", h.Size())
	}
	if code, _, hdr := do(t, hd, http.MethodPost, `{"size": 1}`); code != 405 || hdr.Get("Allow") == "" {
		t.Fatalf("POST: %d, Allow %q", code, hdr.Get("Allow"))
	}

	_ = h.Close()
	if code, v, _ := do(t, hd, http.MethodPatch, `{"size": 4}`); code != 409 || v["error"] == nil {
		t.Fatalf("PATCH after Close: %d %v", code, v)
	}
	if code, v, _ := do(t, hd, http.MethodGet, ""); code != 200 || v["size"] != 3.0 {
		t.Fatalf("GET after Close: %d %v", code, v)
	}
}

// The handler over a real HTTP server on 127.0.0.1, as curl would use it.
func TestHandlerOverHTTP(t *testing.T) {
	h := newHerd(t, addTen, herd.WithSize(1))
	mux := http.NewServeMux()
	mux.Handle("/herd", h.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/herd", strings.NewReader(`{"size": 4}`))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || h.Size() != 4 {
		t.Fatalf("PATCH: %d, size %d", resp.StatusCode, h.Size())
	}
	resp, err = srv.Client().Get(srv.URL + "/herd")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != `{"num":4,"size":4}` {
		t.Fatalf("GET: %s", body)
	}
}
