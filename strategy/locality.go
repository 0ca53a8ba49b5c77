package strategy

import "os"

// Zone returns the backend's zone (availability zone, rack, data centre:
// whatever the fleet calls its failure domains), or "" if unknown.
func (s *Host) Zone() string {
	if z := s.zone.Load(); z != nil {
		return *z
	}
	return ""
}

// SetZone records the backend's zone. Like a priority, a zone changed
// after the host joined a HostSet takes effect at the set's next Update.
func (s *Host) SetZone(zone string) {
	if zone == "" {
		s.zone.Store(nil)
		return
	}
	s.zone.Store(&zone)
}

// fromEnv fills in the local zone from ZoneEnv unless WithLocalZone set it.
func (c *groupConfig) fromEnv() {
	if !c.zoneSet {
		c.localZone = os.Getenv(ZoneEnv)
	}
}

// Groups returns a snapshot of the set's groups (its priority tiers, and
// their zones where zone-aware routing splits them) with the share of
// picks each is given, in order of preference; nil when the set is a
// single group. It allocates; call it from status pages and tests.
func (s *HostSet[T]) Groups() []GroupStats {
	g := s.cur.Load().groups
	if g == nil {
		return nil
	}
	return g.stats()
}

// LocalZone returns the zone the set prefers (WithLocalZone or ZoneEnv),
// or "" when zone-aware routing is off.
func (s *HostSet[T]) LocalZone() string { return s.cfg.tiers.localZone }
