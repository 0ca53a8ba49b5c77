package etcd

import (
	"testing"

	"github.com/seed41aebe0c/lbkit/publisher"
)

// The value's "zone" is the instance's zone, and an instance with a zone
// is written as JSON.
func TestValueZone(t *testing.T) {
	in, err := DecodeValue([]byte(`{"address":"10.0.0.1:80","zone":"eu-1a"}`))
	if err != nil || in.Zone != "eu-1a" {
		t.Fatalf("decoded %+v, %v", in, err)
	}
	want := publisher.Instance{Address: "10.0.0.1:80", Zone: "eu-1b"}
	v, err := EncodeValue(want)
	if err != nil || v != `{"address":"10.0.0.1:80","zone":"eu-1b"}` {
		t.Fatalf("encoded %q, %v", v, err)
	}
	if back, err := DecodeValue([]byte(v)); err != nil || !back.Equal(want) {
		t.Fatalf("round trip %+v, %v", back, err)
	}
	if in, err := DecodeValue([]byte(`10.0.0.1:80`)); err != nil || in.Zone != "" {
		t.Fatalf("plain address: %+v, %v", in, err)
	}
}
