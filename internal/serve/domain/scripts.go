package domain

import (
	"context"
	"strings"
)

// AfterExecutions lists the valid Script.AfterExecution values.
var AfterExecutions = []string{AfterNone, AfterReboot, AfterShutdown, AfterExitClient, AfterUpdatePSK}

func checkScript(tx Tx, sc *Script) error {
	var err error
	if sc.Name, err = checkName("Name", sc.Name); err != nil {
		return err
	}
	sc.Executable = strings.TrimSpace(sc.Executable)
	if sc.Executable == "" {
		return Invalidf("Executable is required (for example /bin/sh)")
	}
	if strings.ContainsRune(sc.Executable, 0) || strings.ContainsRune(sc.Script, 0) {
		return Invalidf("Executable and Script may not contain NUL")
	}
	if sc.WorkingDirectory != "" {
		if err := checkAbsPath("WorkingDirectory", sc.WorkingDirectory); err != nil {
			return err
		}
	}
	ok := false
	for _, a := range AfterExecutions {
		ok = ok || sc.AfterExecution == a
	}
	if !ok {
		return Invalidf("AfterExecution %q is not one of \"\", reboot, shutdown, exit_client, update_psk", sc.AfterExecution)
	}
	if err := checkEnvironment("Environment", sc.Environment); err != nil {
		return err
	}
	sc.AttachmentIDs = dedupe(sc.AttachmentIDs)
	if err := attachmentsExist(tx, "AttachmentIDs", sc.AttachmentIDs); err != nil {
		return err
	}
	scripts, err := tx.Scripts()
	if err != nil {
		return err
	}
	for _, o := range scripts {
		if o.ID != sc.ID && o.Name == sc.Name {
			return Invalidf("Name: a script named %q already exists (ID %s)", sc.Name, o.ID)
		}
	}
	return nil
}

func scriptDetails(sc Script) map[string]string {
	return map[string]string{"ID": sc.ID, "Name": sc.Name}
}

// CreateScript adds a script.
func (s *Service) CreateScript(ctx context.Context, who string, sc Script) (Script, error) {
	sc.ID = ""
	err := s.Store.Update(ctx, func(tx Tx) error {
		if err := checkScript(tx, &sc); err != nil {
			return err
		}
		if err := tx.PutScript(&sc); err != nil {
			return err
		}
		return s.event(tx, who, EventScriptAdded, scriptDetails(sc))
	})
	return sc, err
}

// UpdateScript replaces a script's fields; a secret variable sent with an
// empty value keeps its stored value, and a nil enabled keeps its state.
func (s *Service) UpdateScript(ctx context.Context, who string, scriptID string, e Script, enabled *bool) (Script, error) {
	var sc Script
	err := s.Store.Update(ctx, func(tx Tx) error {
		old, err := tx.Script(scriptID)
		if err != nil {
			return notFound(err, "script", scriptID)
		}
		sc = e
		sc.ID = scriptID
		sc.Enabled = old.Enabled
		if enabled != nil {
			sc.Enabled = *enabled
		}
		sc.Environment = keepSecrets(old.Environment, e.Environment)
		if err := checkScript(tx, &sc); err != nil {
			return err
		}
		if err := tx.PutScript(&sc); err != nil {
			return err
		}
		return s.event(tx, who, EventScriptModified, scriptDetails(sc))
	})
	return sc, err
}

// DeleteScript removes a script and takes it out of every group. It is
// refused while a schedule runs it.
func (s *Service) DeleteScript(ctx context.Context, who string, scriptID string) error {
	return s.Store.Update(ctx, func(tx Tx) error {
		sc, err := tx.Script(scriptID)
		if err != nil {
			return notFound(err, "script", scriptID)
		}
		scheds, err := tx.Schedules()
		if err != nil {
			return err
		}
		var users []string
		for _, sch := range scheds {
			if sch.ScriptID == scriptID {
				users = append(users, describe(sch.Name, sch.ID))
			}
		}
		if len(users) > 0 {
			return Conflictf("script %q is in use: schedules %s run it; delete them or point them at another script first", sc.Name, names(users))
		}
		groups, err := tx.Groups()
		if err != nil {
			return err
		}
		for _, g := range groups {
			if contains(g.ScriptIDs, scriptID) {
				g.ScriptIDs = remove(g.ScriptIDs, scriptID)
				if err := tx.PutGroup(&g); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteScript(scriptID); err != nil {
			return err
		}
		return s.event(tx, who, EventScriptDeleted, scriptDetails(sc))
	})
}

// SetScriptGroups makes groupIDs the groups that may run the script.
func (s *Service) SetScriptGroups(ctx context.Context, who string, scriptID string, groupIDs []string) error {
	return s.Store.Update(ctx, func(tx Tx) error {
		sc, err := tx.Script(scriptID)
		if err != nil {
			return notFound(err, "script", scriptID)
		}
		if err := groupsExist(tx, "Groups", groupIDs); err != nil {
			return err
		}
		groups, err := tx.Groups()
		if err != nil {
			return err
		}
		for _, g := range groups {
			in, want := contains(g.ScriptIDs, scriptID), contains(groupIDs, g.ID)
			switch {
			case want && !in:
				g.ScriptIDs = append(g.ScriptIDs, scriptID)
			case !want && in:
				g.ScriptIDs = remove(g.ScriptIDs, scriptID)
			default:
				continue
			}
			if err := tx.PutGroup(&g); err != nil {
				return err
			}
			if err := s.event(tx, who, EventGroupModified, groupDetails(g)); err != nil {
				return err
			}
		}
		d := scriptDetails(sc)
		d["GroupIDs"] = ids(dedupe(groupIDs))
		return s.event(tx, who, EventScriptModified, d)
	})
}

// Script returns one script.
func (s *Service) Script(ctx context.Context, scriptID string) (Script, error) {
	var sc Script
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		sc, err = tx.Script(scriptID)
		return notFound(err, "script", scriptID)
	})
	return sc, err
}

// Scripts lists every script.
func (s *Service) Scripts(ctx context.Context) ([]Script, error) {
	var l []Script
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		l, err = tx.Scripts()
		return err
	})
	return l, err
}
