package domain

import (
	"context"
	"strings"
)

// HostScript is a script a host may run, and the group that lets it.
type HostScript struct {
	ScriptID   string
	ScriptName string
	GroupID    string
	GroupName  string
}

// view runs fn in a read transaction.
func (s *Service) view(ctx context.Context, fn func(tx Tx) error) error {
	return s.Store.View(ctx, fn)
}

// HostScripts lists the scripts a host may run through its groups, one
// entry per script and group.
func (s *Service) HostScripts(ctx context.Context, hostID string) ([]HostScript, error) {
	out := []HostScript{}
	err := s.view(ctx, func(tx Tx) error {
		h, err := tx.Host(hostID)
		if err != nil {
			return notFound(err, "host", hostID)
		}
		for _, gid := range h.GroupIDs {
			g, err := tx.Group(gid)
			if err != nil {
				return err
			}
			for _, sid := range g.ScriptIDs {
				sc, err := tx.Script(sid)
				if err != nil {
					return err
				}
				out = append(out, HostScript{ScriptID: sc.ID, ScriptName: sc.Name, GroupID: g.ID, GroupName: g.Name})
			}
		}
		return nil
	})
	return out, err
}

// HostGroups lists a host's groups.
func (s *Service) HostGroups(ctx context.Context, hostID string) ([]Group, error) {
	out := []Group{}
	err := s.view(ctx, func(tx Tx) error {
		h, err := tx.Host(hostID)
		if err != nil {
			return notFound(err, "host", hostID)
		}
		for _, gid := range h.GroupIDs {
			g, err := tx.Group(gid)
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

// HostSchedules lists the schedules that reach a host, directly or
// through one of its groups.
func (s *Service) HostSchedules(ctx context.Context, hostID string) ([]Schedule, error) {
	out := []Schedule{}
	err := s.view(ctx, func(tx Tx) error {
		h, err := tx.Host(hostID)
		if err != nil {
			return notFound(err, "host", hostID)
		}
		all, err := tx.Schedules()
		if err != nil {
			return err
		}
		for _, sc := range all {
			if reaches(sc.Scope, h) {
				out = append(out, sc)
			}
		}
		return nil
	})
	return out, err
}

func reaches(sc Scope, h Host) bool {
	if contains(sc.HostIDs, h.ID) {
		return true
	}
	for _, gid := range sc.GroupIDs {
		if contains(h.GroupIDs, gid) {
			return true
		}
	}
	return false
}

// GroupScripts lists the scripts of a group.
func (s *Service) GroupScripts(ctx context.Context, groupID string) ([]Script, error) {
	out := []Script{}
	err := s.view(ctx, func(tx Tx) error {
		g, err := tx.Group(groupID)
		if err != nil {
			return notFound(err, "group", groupID)
		}
		for _, sid := range g.ScriptIDs {
			sc, err := tx.Script(sid)
			if err != nil {
				return err
			}
			out = append(out, sc)
		}
		return nil
	})
	return out, err
}

// GroupHosts lists the hosts in a group.
func (s *Service) GroupHosts(ctx context.Context, groupID string) ([]Host, error) {
	out := []Host{}
	err := s.view(ctx, func(tx Tx) error {
		if _, err := tx.Group(groupID); err != nil {
			return notFound(err, "group", groupID)
		}
		hs, err := tx.Hosts()
		for _, h := range hs {
			if contains(h.GroupIDs, groupID) {
				out = append(out, h)
			}
		}
		return err
	})
	return out, err
}

// GroupSchedules lists the schedules that name a group.
func (s *Service) GroupSchedules(ctx context.Context, groupID string) ([]Schedule, error) {
	out := []Schedule{}
	err := s.view(ctx, func(tx Tx) error {
		if _, err := tx.Group(groupID); err != nil {
			return notFound(err, "group", groupID)
		}
		all, err := tx.Schedules()
		for _, sc := range all {
			if contains(sc.Scope.GroupIDs, groupID) {
				out = append(out, sc)
			}
		}
		return err
	})
	return out, err
}

// ScriptGroups lists the groups that may run a script.
func (s *Service) ScriptGroups(ctx context.Context, scriptID string) ([]Group, error) {
	out := []Group{}
	err := s.view(ctx, func(tx Tx) error {
		if _, err := tx.Script(scriptID); err != nil {
			return notFound(err, "script", scriptID)
		}
		gs, err := tx.Groups()
		for _, g := range gs {
			if contains(g.ScriptIDs, scriptID) {
				out = append(out, g)
			}
		}
		return err
	})
	return out, err
}

// ScriptHosts lists the hosts that may run a script through their groups.
func (s *Service) ScriptHosts(ctx context.Context, scriptID string) ([]Host, error) {
	out := []Host{}
	err := s.view(ctx, func(tx Tx) error {
		if _, err := tx.Script(scriptID); err != nil {
			return notFound(err, "script", scriptID)
		}
		gs, err := tx.Groups()
		if err != nil {
			return err
		}
		in := map[string]bool{}
		for _, g := range gs {
			in[g.ID] = contains(g.ScriptIDs, scriptID)
		}
		hs, err := tx.Hosts()
		for _, h := range hs {
			for _, gid := range h.GroupIDs {
				if in[gid] {
					out = append(out, h)
					break
				}
			}
		}
		return err
	})
	return out, err
}

// ScriptSchedules lists the schedules that run a script.
func (s *Service) ScriptSchedules(ctx context.Context, scriptID string) ([]Schedule, error) {
	out := []Schedule{}
	err := s.view(ctx, func(tx Tx) error {
		if _, err := tx.Script(scriptID); err != nil {
			return notFound(err, "script", scriptID)
		}
		all, err := tx.Schedules()
		for _, sc := range all {
			if sc.ScriptID == scriptID {
				out = append(out, sc)
			}
		}
		return err
	})
	return out, err
}

// ScheduleHosts lists the hosts a schedule reaches, directly or through
// its groups.
func (s *Service) ScheduleHosts(ctx context.Context, schedID string) ([]Host, error) {
	out := []Host{}
	err := s.view(ctx, func(tx Tx) error {
		sc, err := tx.Schedule(schedID)
		if err != nil {
			return notFound(err, "schedule", schedID)
		}
		hs, err := tx.Hosts()
		for _, h := range hs {
			if reaches(sc.Scope, h) {
				out = append(out, h)
			}
		}
		return err
	})
	return out, err
}

// ScheduleGroups lists the groups a schedule names.
func (s *Service) ScheduleGroups(ctx context.Context, schedID string) ([]Group, error) {
	out := []Group{}
	err := s.view(ctx, func(tx Tx) error {
		sc, err := tx.Schedule(schedID)
		if err != nil {
			return notFound(err, "schedule", schedID)
		}
		for _, gid := range sc.Scope.GroupIDs {
			g, err := tx.Group(gid)
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

// ScheduleScript returns the script a schedule runs.
func (s *Service) ScheduleScript(ctx context.Context, schedID string) (Script, error) {
	var out Script
	err := s.view(ctx, func(tx Tx) error {
		sc, err := tx.Schedule(schedID)
		if err != nil {
			return notFound(err, "schedule", schedID)
		}
		out, err = tx.Script(sc.ScriptID)
		return err
	})
	return out, err
}

// SearchResult is one hit of Search.
type SearchResult struct {
	Type string // host, group, script or schedule
	ID   string
	Name string
}

// MaxSearchResults bounds one search's answer.
const MaxSearchResults = 100

// Search finds hosts (by name or address), groups, scripts and schedules
// whose name contains query, ignoring case; at most MaxSearchResults.
func (s *Service) Search(ctx context.Context, query string) ([]SearchResult, error) {
	q := strings.ToLower(strings.TrimSpace(query))
	out := []SearchResult{}
	if q == "" {
		return out, nil
	}
	match := func(fields ...string) bool {
		for _, f := range fields {
			if strings.Contains(strings.ToLower(f), q) {
				return true
			}
		}
		return false
	}
	add := func(typ string, n string, name string) bool {
		out = append(out, SearchResult{Type: typ, ID: n, Name: name})
		return len(out) < MaxSearchResults
	}
	err := s.view(ctx, func(tx Tx) error {
		hs, err := tx.Hosts()
		if err != nil {
			return err
		}
		for _, h := range hs {
			if match(h.Name, h.Address) && !add("host", h.ID, h.Name) {
				return nil
			}
		}
		gs, err := tx.Groups()
		if err != nil {
			return err
		}
		for _, g := range gs {
			if match(g.Name) && !add("group", g.ID, g.Name) {
				return nil
			}
		}
		scs, err := tx.Scripts()
		if err != nil {
			return err
		}
		for _, sc := range scs {
			if match(sc.Name) && !add("script", sc.ID, sc.Name) {
				return nil
			}
		}
		sch, err := tx.Schedules()
		if err != nil {
			return err
		}
		for _, sc := range sch {
			if match(sc.Name) && !add("schedule", sc.ID, sc.Name) {
				return nil
			}
		}
		return nil
	})
	return out, err
}
