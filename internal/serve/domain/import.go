package domain

import (
	"context"
	"fmt"
	"strconv"
)

// EventDataImported records that another server's data was imported.
const EventDataImported = "DataImported"

// Import is another server's data, mapped to our records: IDs are set and
// kept (so the old server's URLs keep working), attachment blobs are
// already in the store, and password and API-key hashes are set.
type Import struct {
	Attachments   []Attachment
	Scripts       []Script
	Groups        []Group
	Hosts         []Host
	Schedules     []Schedule
	RegisterRules []RegisterRule
	Users         []User // get new IDs
	Options       Options
	// Events are the old audit log, oldest first; they keep their IDs.
	Events []Event
	// Runs get new IDs, in order.
	Runs []Run
}

// Import writes in into an empty store in one transaction: all of it or,
// on the first record that would be refused as a change through the API,
// nothing, with an error naming that record. who is recorded as the
// importer in a last audit event.
func (s *Service) Import(ctx context.Context, who string, in Import) error {
	return s.Store.Update(ctx, func(tx Tx) error {
		if err := checkEmpty(tx); err != nil {
			return err
		}
		for i := range in.Attachments {
			a := &in.Attachments[i]
			if err := put(a.ID, "attachment", a.Name, checkAttachment(a), func() error { return tx.PutAttachment(a) }); err != nil {
				return err
			}
		}
		for i := range in.Scripts {
			sc := &in.Scripts[i]
			if err := put(sc.ID, "script", sc.Name, checkScript(tx, sc), func() error { return tx.PutScript(sc) }); err != nil {
				return err
			}
		}
		for i := range in.Groups {
			g := &in.Groups[i]
			if err := put(g.ID, "group", g.Name, checkGroup(tx, g), func() error { return tx.PutGroup(g) }); err != nil {
				return err
			}
		}
		for i := range in.Hosts {
			h := &in.Hosts[i]
			if err := put(h.ID, "host", h.Name, checkHost(tx, h), func() error { return tx.PutHost(h) }); err != nil {
				return err
			}
		}
		for i := range in.Schedules {
			sc := &in.Schedules[i]
			if err := put(sc.ID, "schedule", sc.Name, checkSchedule(tx, sc), func() error { return tx.PutSchedule(sc) }); err != nil {
				return err
			}
		}
		for i := range in.RegisterRules {
			r := &in.RegisterRules[i]
			if err := put(r.ID, "registration rule", r.Name, checkRule(tx, r), func() error { return tx.PutRegisterRule(r) }); err != nil {
				return err
			}
		}
		for i := range in.Users {
			// 0.x users have no ID (their name is their key): they get one.
			u := &in.Users[i]
			u.ID = ""
			err := checkUser(tx, u)
			if err == nil {
				err = tx.PutUser(u)
			}
			if err != nil {
				return fmt.Errorf("user %q: %w", u.Username, err)
			}
		}
		if err := checkOptions(tx, &in.Options); err != nil {
			return fmt.Errorf("options: %w", err)
		}
		if err := tx.PutOptions(in.Options); err != nil {
			return err
		}
		for i := range in.Events {
			if err := tx.AppendEvent(&in.Events[i]); err != nil {
				return fmt.Errorf("event %s: %w", in.Events[i].ID, err)
			}
		}
		for i := range in.Runs {
			r := in.Runs[i]
			r.ID = ""
			if err := tx.PutRun(&r); err != nil {
				return fmt.Errorf("run of schedule %s on host %s: %w", r.ScheduleID, r.HostID, err)
			}
		}
		return s.event(tx, who, EventDataImported, map[string]string{
			"hosts": count(in.Hosts), "groups": count(in.Groups), "scripts": count(in.Scripts),
			"attachments": count(in.Attachments), "schedules": count(in.Schedules),
			"rules": count(in.RegisterRules), "users": count(in.Users), "events": count(in.Events), "runs": count(in.Runs),
		})
	})
}

// put writes one imported record once its check passed. An imported
// record must bring its ID: without one it would get a new ID, and the
// references to it in the old data would point nowhere.
func put(id, what, name string, checked error, write func() error) error {
	err := checked
	if err == nil && id == "" {
		err = Invalidf("the record has no ID")
	}
	if err == nil {
		err = write()
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, describe(name, id), err)
	}
	return nil
}

func count[T any](l []T) string { return strconv.Itoa(len(l)) }

// checkEmpty refuses to import into a store that holds anything a user
// made.
func checkEmpty(tx Tx) error {
	hosts, err := tx.Hosts()
	if err != nil {
		return err
	}
	users, err := tx.Users()
	if err != nil {
		return err
	}
	groups, err := tx.Groups()
	if err != nil {
		return err
	}
	scripts, err := tx.Scripts()
	if err != nil {
		return err
	}
	if len(hosts)+len(users)+len(groups)+len(scripts) > 0 {
		return Conflictf("the data directory already holds hosts, users, groups or scripts; import only into a new one")
	}
	return nil
}
