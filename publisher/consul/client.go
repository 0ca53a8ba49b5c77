package consul

import (
	"github.com/hashicorp/consul/api"
)

// HealthClient is the part of Consul's API a Publisher calls. *api.Health
// (client.Health()) satisfies it; a wrapper that adds metrics or tracing,
// or a test double, may stand in for it.
type HealthClient interface {
	ServiceMultipleTags(service string, tags []string, passingOnly bool, q *api.QueryOptions) ([]*api.ServiceEntry, *api.QueryMeta, error)
}

// AgentClient is the part of Consul's API a Registrar calls. *api.Agent
// (client.Agent()) satisfies it.
type AgentClient interface {
	ServiceRegisterOpts(service *api.AgentServiceRegistration, opts api.ServiceRegisterOpts) error
	ServiceDeregisterOpts(serviceID string, q *api.QueryOptions) error
	UpdateTTLOpts(checkID, output, status string, q *api.QueryOptions) error
	// Service is how a registration without a TTL check learns whether
	// the agent still has it.
	Service(serviceID string, q *api.QueryOptions) (*api.AgentService, *api.QueryMeta, error)
}

var (
	_ HealthClient = (*api.Health)(nil)
	_ AgentClient  = (*api.Agent)(nil)
)
