package domain

import (
	"context"
	"strings"

	"github.com/robfig/cron/v3"
)

// ParseCron checks a schedule's pattern: five fields (minute, hour, day of
// month, month, day of week) or a descriptor such as @hourly, always in
// UTC, so a TZ= prefix is refused.
func ParseCron(pattern string) (cron.Schedule, error) {
	p := strings.TrimSpace(pattern)
	if p == "" {
		return nil, Invalidf("Pattern is required (a cron pattern such as \"0 3 * * *\")")
	}
	if strings.HasPrefix(p, "TZ=") || strings.HasPrefix(p, "CRON_TZ=") {
		return nil, Invalidf("Pattern %q: schedules run in UTC; remove the time zone", pattern)
	}
	sched, err := cron.ParseStandard(p)
	if err != nil {
		return nil, Invalidf("Pattern %q is not a valid cron pattern: %v", pattern, err)
	}
	return sched, nil
}

func checkSchedule(tx Tx, sc *Schedule) error {
	var err error
	if sc.Name, err = checkName("Name", sc.Name); err != nil {
		return err
	}
	sc.Pattern = strings.TrimSpace(sc.Pattern)
	if _, err := ParseCron(sc.Pattern); err != nil {
		return err
	}
	if _, err := tx.Script(sc.ScriptID); err != nil {
		if isNotFound(err) {
			return Invalidf("ScriptID: no script with ID %s", sc.ScriptID)
		}
		return err
	}
	sc.Scope.HostIDs, sc.Scope.GroupIDs = dedupe(sc.Scope.HostIDs), dedupe(sc.Scope.GroupIDs)
	if len(sc.Scope.HostIDs)+len(sc.Scope.GroupIDs) == 0 {
		return Invalidf("Scope: a schedule needs at least one host or group")
	}
	if err := hostsExist(tx, "Scope.HostIDs", sc.Scope.HostIDs); err != nil {
		return err
	}
	if err := groupsExist(tx, "Scope.GroupIDs", sc.Scope.GroupIDs); err != nil {
		return err
	}
	all, err := tx.Schedules()
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.ID != sc.ID && o.Name == sc.Name {
			return Invalidf("Name: a schedule named %q already exists (ID %s)", sc.Name, o.ID)
		}
	}
	return nil
}

func scheduleDetails(sc Schedule) map[string]string {
	return map[string]string{"ID": sc.ID, "Name": sc.Name, "ScriptID": sc.ScriptID, "Pattern": sc.Pattern}
}

// CreateSchedule adds a schedule.
func (s *Service) CreateSchedule(ctx context.Context, who string, sc Schedule) (Schedule, error) {
	sc.ID = ""
	sc.LastRun = sc.LastRun.UTC()
	err := s.Store.Update(ctx, func(tx Tx) error {
		if err := checkSchedule(tx, &sc); err != nil {
			return err
		}
		if err := tx.PutSchedule(&sc); err != nil {
			return err
		}
		return s.event(tx, who, EventScheduleAdded, scheduleDetails(sc))
	})
	return sc, err
}

// ScheduleEdit is a change to a schedule. ScriptID 0 keeps the script.
type ScheduleEdit struct {
	Name     string
	ScriptID string
	Scope    Scope
	Pattern  string
	// Enabled nil keeps the schedule's state.
	Enabled *bool
}

// UpdateSchedule changes a schedule.
func (s *Service) UpdateSchedule(ctx context.Context, who string, schedID string, e ScheduleEdit) (Schedule, error) {
	var sc Schedule
	err := s.Store.Update(ctx, func(tx Tx) error {
		var err error
		if sc, err = tx.Schedule(schedID); err != nil {
			return notFound(err, "schedule", schedID)
		}
		sc.Name, sc.Scope, sc.Pattern = e.Name, e.Scope, e.Pattern
		if e.Enabled != nil {
			sc.Enabled = *e.Enabled
		}
		if e.ScriptID != "" {
			sc.ScriptID = e.ScriptID
		}
		if err := checkSchedule(tx, &sc); err != nil {
			return err
		}
		if err := tx.PutSchedule(&sc); err != nil {
			return err
		}
		return s.event(tx, who, EventScheduleModified, scheduleDetails(sc))
	})
	return sc, err
}

// DeleteSchedule removes a schedule.
func (s *Service) DeleteSchedule(ctx context.Context, who string, schedID string) error {
	return s.Store.Update(ctx, func(tx Tx) error {
		sc, err := tx.Schedule(schedID)
		if err != nil {
			return notFound(err, "schedule", schedID)
		}
		if err := tx.DeleteSchedule(schedID); err != nil {
			return err
		}
		return s.event(tx, who, EventScheduleDeleted, scheduleDetails(sc))
	})
}

// Schedule returns one schedule.
func (s *Service) Schedule(ctx context.Context, schedID string) (Schedule, error) {
	var sc Schedule
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		sc, err = tx.Schedule(schedID)
		return notFound(err, "schedule", schedID)
	})
	return sc, err
}

// Schedules lists every schedule.
func (s *Service) Schedules(ctx context.Context) ([]Schedule, error) {
	var l []Schedule
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		l, err = tx.Schedules()
		return err
	})
	return l, err
}

// ScheduleReports lists the newest runs a schedule started, at most limit.
func (s *Service) ScheduleReports(ctx context.Context, schedID string, limit int) ([]Run, error) {
	var runs []Run
	err := s.Store.View(ctx, func(tx Tx) error {
		if _, err := tx.Schedule(schedID); err != nil {
			return notFound(err, "schedule", schedID)
		}
		var err error
		runs, err = tx.Runs(RunFilter{ScheduleID: schedID, Limit: limit})
		return err
	})
	return runs, err
}
