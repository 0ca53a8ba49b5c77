package herd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxBody bounds what a PATCH may send; a size fits in a few bytes.
const maxBody = 1 << 10

// sizeBody is what the handler sends and accepts. "num" is accepted as
// well as "size", for clients written for gofherd.
type sizeBody struct {
	Size *int `json:"size,omitempty"`
	Num  *int `json:"num,omitempty"`
}

// Handler returns an http.Handler that controls the herd's size over HTTP,
// to be mounted where the caller likes (e.g. "/herd"):
//
//	GET   → 200 {"size": 4, "num": 4}
//	PATCH {"size": 10} → 200 {"size": 10, "num": 10}
//
// "num" is gofherd's name for the size: a PATCH may use either, and every
// reply carries both, so tools written against gofherd's /herd work
// unchanged.
//
// A body that is not such JSON, or a negative size, gets 400; a closed
// herd 409; other methods 405. Errors come as {"error": "..."}.
func (h *Herd[B, R]) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			writeJSON(rw, http.StatusOK, sizeReply(h.Size()))
		case http.MethodPatch:
			n, err := readSize(rw, r)
			if err != nil {
				writeJSON(rw, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			if err := h.Resize(n); err != nil {
				code := http.StatusBadRequest
				if errors.Is(err, ErrClosed) {
					code = http.StatusConflict
				}
				writeJSON(rw, code, map[string]string{"error": err.Error()})
				return
			}
			h.logger.Log("msg", "resized over HTTP", "size", n, "remote", r.RemoteAddr)
			writeJSON(rw, http.StatusOK, sizeReply(n))
		default:
			rw.Header().Set("Allow", "GET, HEAD, PATCH")
			writeJSON(rw, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
		}
	})
}

// sizeReply is a reply in both lbkit's and gofherd's shape.
func sizeReply(n int) map[string]int { return map[string]int{"size": n, "num": n} }

func readSize(rw http.ResponseWriter, r *http.Request) (int, error) {
	dec := json.NewDecoder(http.MaxBytesReader(rw, r.Body, maxBody))
	dec.DisallowUnknownFields()
	var b sizeBody
	if err := dec.Decode(&b); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf(`%w: empty body, want {"size": N}`, ErrInvalidArgument)
		}
		return 0, fmt.Errorf("%w: bad body: %w", ErrInvalidArgument, err)
	}
	switch {
	case b.Size != nil:
		return *b.Size, nil
	case b.Num != nil:
		return *b.Num, nil
	}
	return 0, fmt.Errorf(`%w: missing "size"`, ErrInvalidArgument)
}

func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	_ = json.NewEncoder(rw).Encode(v)
}
