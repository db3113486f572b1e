package domain

import (
	"context"
	"slices"
)

func checkGroup(tx Tx, g *Group) error {
	var err error
	if g.Name, err = checkName("Name", g.Name); err != nil {
		return err
	}
	if err := checkEnvironment("Environment", g.Environment); err != nil {
		return err
	}
	g.ScriptIDs = dedupe(g.ScriptIDs)
	if err := scriptsExist(tx, "ScriptIDs", g.ScriptIDs); err != nil {
		return err
	}
	groups, err := tx.Groups()
	if err != nil {
		return err
	}
	for _, o := range groups {
		if o.ID != g.ID && o.Name == g.Name {
			return Invalidf("Name: a group named %q already exists (ID %s)", g.Name, o.ID)
		}
	}
	return nil
}

func groupDetails(g Group) map[string]string {
	return map[string]string{"ID": g.ID, "Name": g.Name}
}

// CreateGroup adds a group.
func (s *Service) CreateGroup(ctx context.Context, who string, g Group) (Group, error) {
	g.ID = ""
	err := s.Store.Update(ctx, func(tx Tx) error {
		if err := checkGroup(tx, &g); err != nil {
			return err
		}
		if err := tx.PutGroup(&g); err != nil {
			return err
		}
		return s.event(tx, who, EventGroupAdded, groupDetails(g))
	})
	return g, err
}

// UpdateGroup changes a group's name, scripts and environment.
func (s *Service) UpdateGroup(ctx context.Context, who string, groupID string, e Group) (Group, error) {
	var g Group
	err := s.Store.Update(ctx, func(tx Tx) error {
		var err error
		if g, err = tx.Group(groupID); err != nil {
			return notFound(err, "group", groupID)
		}
		g.Name, g.ScriptIDs = e.Name, e.ScriptIDs
		g.Environment = keepSecrets(g.Environment, e.Environment)
		if err := checkGroup(tx, &g); err != nil {
			return err
		}
		if err := tx.PutGroup(&g); err != nil {
			return err
		}
		return s.event(tx, who, EventGroupModified, groupDetails(g))
	})
	return g, err
}

// groupUsers names what keeps a group from being deleted, or "".
func groupUsers(tx Tx, gid string) (string, error) {
	var hosts, scheds, rules []string
	hs, err := tx.Hosts()
	if err != nil {
		return "", err
	}
	for _, h := range hs {
		if contains(h.GroupIDs, gid) {
			hosts = append(hosts, describe(h.Name, h.ID))
		}
	}
	ss, err := tx.Schedules()
	if err != nil {
		return "", err
	}
	for _, sc := range ss {
		if contains(sc.Scope.GroupIDs, gid) {
			scheds = append(scheds, describe(sc.Name, sc.ID))
		}
	}
	rs, err := tx.RegisterRules()
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if r.GroupID == gid {
			rules = append(rules, describe(r.Name, r.ID))
		}
	}
	o, err := tx.Options()
	if err != nil {
		return "", err
	}
	switch {
	case len(hosts) > 0:
		return "hosts " + names(hosts) + " are in it", nil
	case len(scheds) > 0:
		return "schedules " + names(scheds) + " run on it", nil
	case len(rules) > 0:
		return "registration rules " + names(rules) + " put hosts in it", nil
	case o.Register.DefaultGroupID == gid:
		return "it is the registration options' default group", nil
	}
	return "", nil
}

// DeleteGroup removes a group, refusing while hosts, schedules or the
// registration options use it, and never removing the last group.
func (s *Service) DeleteGroup(ctx context.Context, who string, groupID string) error {
	return s.Store.Update(ctx, func(tx Tx) error {
		g, err := tx.Group(groupID)
		if err != nil {
			return notFound(err, "group", groupID)
		}
		all, err := tx.Groups()
		if err != nil {
			return err
		}
		if len(all) <= 1 {
			return Conflictf("group %q is the last group; at least one group must exist", g.Name)
		}
		why, err := groupUsers(tx, groupID)
		if err != nil {
			return err
		}
		if why != "" {
			return Conflictf("group %q is in use: %s", g.Name, why)
		}
		if err := tx.DeleteGroup(groupID); err != nil {
			return err
		}
		return s.event(tx, who, EventGroupDeleted, groupDetails(g))
	})
}

// SetGroupHosts makes hostIDs the group's members: the hosts listed join
// it, the others leave it. A host may not be left without a group.
func (s *Service) SetGroupHosts(ctx context.Context, who string, groupID string, hostIDs []string) error {
	return s.Store.Update(ctx, func(tx Tx) error {
		g, err := tx.Group(groupID)
		if err != nil {
			return notFound(err, "group", groupID)
		}
		if err := hostsExist(tx, "Hosts", hostIDs); err != nil {
			return err
		}
		hs, err := tx.Hosts()
		if err != nil {
			return err
		}
		var changed []string
		for _, h := range hs {
			in, want := contains(h.GroupIDs, groupID), contains(hostIDs, h.ID)
			switch {
			case want && !in:
				h.GroupIDs = append(h.GroupIDs, groupID)
			case !want && in:
				h.GroupIDs = remove(h.GroupIDs, groupID)
				if len(h.GroupIDs) == 0 {
					return Invalidf("Hosts: host %s would be left without a group; put it in another group first", describe(h.Name, h.ID))
				}
			default:
				continue
			}
			if err := tx.PutHost(&h); err != nil {
				return err
			}
			changed = append(changed, h.ID)
		}
		d := groupDetails(g)
		d["HostIDs"] = ids(dedupe(hostIDs))
		d["Changed"] = ids(changed)
		return s.event(tx, who, EventGroupModified, d)
	})
}

// Group returns one group.
func (s *Service) Group(ctx context.Context, groupID string) (Group, error) {
	var g Group
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		g, err = tx.Group(groupID)
		return notFound(err, "group", groupID)
	})
	return g, err
}

// Groups lists every group.
func (s *Service) Groups(ctx context.Context) ([]Group, error) {
	var gs []Group
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		gs, err = tx.Groups()
		return err
	})
	return gs, err
}

// Membership maps every group's ID to the IDs of its hosts (an empty list
// for a group without hosts).
func (s *Service) Membership(ctx context.Context) (map[string][]string, error) {
	m := map[string][]string{}
	err := s.Store.View(ctx, func(tx Tx) error {
		gs, err := tx.Groups()
		if err != nil {
			return err
		}
		for _, g := range gs {
			m[g.ID] = []string{}
		}
		hs, err := tx.Hosts()
		if err != nil {
			return err
		}
		for _, h := range hs {
			for _, gid := range h.GroupIDs {
				if l, ok := m[gid]; ok {
					m[gid] = append(l, h.ID)
				}
			}
		}
		return nil
	})
	for _, l := range m {
		slices.SortFunc(l, CompareIDs)
	}
	return m, err
}
