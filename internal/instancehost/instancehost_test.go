package instancehost

import (
	"testing"

	"github.com/seed41aebe0c/lbkit/publisher"
	"github.com/seed41aebe0c/lbkit/strategy"
)

func TestNewCarriesTheInstance(t *testing.T) {
	set, err := strategy.NewHostSet[int](strategy.RoundRobin{})
	if err != nil {
		t.Fatal(err)
	}
	h := New(set, publisher.Instance{Address: "10.0.0.1:80", Weight: 3, Priority: 2, Zone: "z1", Metadata: map[string]string{"rack": "r1"}})
	st := h.Stats()
	if h.Address() != "10.0.0.1:80" || h.Weight() != 3 || h.Priority() != 2 || st.Zone != "z1" || st.Metadata["rack"] != "r1" {
		t.Errorf("host %s: weight %d, priority %d, stats %+v", h.Address(), h.Weight(), h.Priority(), st)
	}
	bare := New(set, publisher.Instance{Address: "10.0.0.2:80"})
	if bs := bare.Stats(); bare.Weight() != publisher.DefaultWeight || bare.Priority() != 0 || bs.Zone != "" || bs.Metadata != nil {
		t.Errorf("bare host: weight %d, priority %d, stats %+v", bare.Weight(), bare.Priority(), bs)
	}
}
