package fleet

import (
	"slices"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// runEnv is the environment of a run of script on h: domain.RunEnvironment
// (global, script, the host's groups, host, then the implicit OTTO_
// variables) with two choices of the server's:
//
//   - the host's groups are applied in group ID order, so that a host's
//     environment does not depend on the order its groups were picked in;
//   - OTTO_SERVER_URL is Options.General.ServerURL or, when that is empty,
//     what Config.ServerURL gives.
//
// h.PSK must be the key the run is sent with (OTTO_HOST_PSK, when the
// options allow it).
func (s *Service) runEnv(o domain.Options, script domain.Script, groups map[string]domain.Group, h domain.Host) domain.Environment {
	o.General.ServerURL = s.url(o)
	h.GroupIDs = slices.Compact(slices.SortedFunc(slices.Values(h.GroupIDs), domain.CompareIDs))
	var hostGroups []domain.Group
	for _, id := range h.GroupIDs {
		if g, ok := groups[id]; ok {
			hostGroups = append(hostGroups, g)
		}
	}
	return domain.RunEnvironment(o, script, hostGroups, h, s.version)
}
