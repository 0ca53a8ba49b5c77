package consul

import (
	"testing"

	"github.com/hashicorp/consul/api"
)

// The zone comes from the service's meta, else from its node's.
func TestDecodeZone(t *testing.T) {
	both := svcEntry("10.0.0.1", "", 80, api.HealthPassing)
	both.Service.Meta = map[string]string{ZoneKey: "eu-1a"}
	both.Node.Meta = map[string]string{ZoneKey: "eu-1b"}
	node := svcEntry("10.0.0.2", "", 80, api.HealthPassing)
	node.Node.Meta = map[string]string{ZoneKey: "eu-1c"}
	none := svcEntry("10.0.0.3", "", 80, api.HealthPassing)
	none.Node = nil
	ins, skipped := decode([]*api.ServiceEntry{both, node, none}, false)
	if len(skipped) != 0 || len(ins) != 3 {
		t.Fatalf("decoded %+v, skipped %v", ins, skipped)
	}
	for i, want := range []string{"eu-1a", "eu-1c", ""} {
		if ins[i].Zone != want {
			t.Errorf("%s: zone %q, want %q", ins[i].Address, ins[i].Zone, want)
		}
	}
}
