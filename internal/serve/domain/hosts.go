package domain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// checkHost normalizes and validates a host about to be stored in tx:
// name and address:port unique, port in range (0 means the default), every
// group existing and at least one.
func checkHost(tx Tx, h *Host) error {
	var err error
	if h.Name, err = checkName("Name", h.Name); err != nil {
		return err
	}
	if h.Address, err = checkAddress(h.Address); err != nil {
		return err
	}
	if h.Port == 0 {
		h.Port = DefaultClientPort
	}
	if h.Port > 65535 {
		return Invalidf("Port %d is out of range 1-65535", h.Port)
	}
	if h.PSK == "" {
		return Invalidf("PSK is required")
	}
	if err := checkEnvironment("Environment", h.Environment); err != nil {
		return err
	}
	h.GroupIDs = dedupe(h.GroupIDs)
	if len(h.GroupIDs) == 0 {
		return Invalidf("GroupIDs: a host must be in at least one group")
	}
	if err := groupsExist(tx, "GroupIDs", h.GroupIDs); err != nil {
		return err
	}
	if other, err := tx.HostByName(h.Name); err == nil && other.ID != h.ID {
		return Invalidf("Name: a host named %q already exists (ID %s)", h.Name, other.ID)
	} else if err != nil && !isNotFound(err) {
		return err
	}
	hosts, err := tx.Hosts()
	if err != nil {
		return err
	}
	for _, o := range hosts {
		if o.ID != h.ID && o.Address == h.Address && o.Port == h.Port {
			return Invalidf("Address: host %q (ID %s) already has address %s", o.Name, o.ID, hostPort(h.Address, h.Port))
		}
	}
	return nil
}

func hostPort(addr string, port uint32) string {
	return net.JoinHostPort(addr, strconv.FormatUint(uint64(port), 10))
}

func hostDetails(h Host) map[string]string {
	return map[string]string{"ID": h.ID, "Name": h.Name, "Address": hostPort(h.Address, h.Port)}
}

// CreateHost adds a host. Without GroupIDs it goes into the default group
// of the registration options. A host added by hand is marked to get a new
// PSK at its first successful contact, since a person has seen this one.
func (s *Service) CreateHost(ctx context.Context, who string, h Host) (Host, error) {
	h.ID = ""
	h.Created = s.now()
	h.PendingPSK, h.PendingSince = "", nil
	h.LastPSKRotate = h.Created
	h.RotateOnContact = true
	err := s.Store.Update(ctx, func(tx Tx) error {
		if len(h.GroupIDs) == 0 {
			o, err := tx.Options()
			if err != nil {
				return err
			}
			if o.Register.DefaultGroupID != "" {
				h.GroupIDs = []string{o.Register.DefaultGroupID}
			}
		}
		if err := checkHost(tx, &h); err != nil {
			return err
		}
		if err := tx.PutHost(&h); err != nil {
			return err
		}
		return s.event(tx, who, EventHostAdded, hostDetails(h))
	})
	return h, err
}

// HostEdit is a change to a host. An empty PSK keeps the stored one, and a
// secret variable sent with an empty value keeps its stored value.
type HostEdit struct {
	Name        string
	Address     string
	Port        uint32
	PSK         string
	GroupIDs    []string
	Environment Environment
	// Enabled nil keeps the host's state.
	Enabled *bool
}

// UpdateHost changes a host.
func (s *Service) UpdateHost(ctx context.Context, who string, hostID string, e HostEdit) (Host, error) {
	var h Host
	err := s.Store.Update(ctx, func(tx Tx) error {
		var err error
		if h, err = tx.Host(hostID); err != nil {
			return notFound(err, "host", hostID)
		}
		h.Name, h.Address, h.Port, h.GroupIDs = e.Name, e.Address, e.Port, e.GroupIDs
		if e.Enabled != nil {
			h.Enabled = *e.Enabled
		}
		h.Environment = keepSecrets(h.Environment, e.Environment)
		if e.PSK != "" && e.PSK != h.PSK {
			// A key set by hand replaces any rotation in flight, and a
			// person has seen it: rotate it at the next contact.
			h.PSK, h.PendingPSK, h.PendingSince, h.RotateOnContact, h.LastPSKRotate = e.PSK, "", nil, true, s.now()
		}
		if err := checkHost(tx, &h); err != nil {
			return err
		}
		if err := tx.PutHost(&h); err != nil {
			return err
		}
		return s.event(tx, who, EventHostModified, hostDetails(h))
	})
	return h, err
}

// DeleteHost removes a host and drops it from the schedules that name it.
func (s *Service) DeleteHost(ctx context.Context, who string, hostID string) error {
	return s.Store.Update(ctx, func(tx Tx) error {
		h, err := tx.Host(hostID)
		if err != nil {
			return notFound(err, "host", hostID)
		}
		scheds, err := tx.Schedules()
		if err != nil {
			return err
		}
		for _, sc := range scheds {
			if contains(sc.Scope.HostIDs, hostID) {
				sc.Scope.HostIDs = remove(sc.Scope.HostIDs, hostID)
				if err := tx.PutSchedule(&sc); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteHost(hostID); err != nil {
			return err
		}
		return s.event(tx, who, EventHostDeleted, hostDetails(h))
	})
}

// Host returns one host.
func (s *Service) Host(ctx context.Context, hostID string) (Host, error) {
	var h Host
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		h, err = tx.Host(hostID)
		return notFound(err, "host", hostID)
	})
	return h, err
}

// Hosts lists every host.
func (s *Service) Hosts(ctx context.Context) ([]Host, error) {
	var hs []Host
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		hs, err = tx.Hosts()
		return err
	})
	return hs, err
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, ErrNotFound) }

// describe names a record for a message: `"name" (ID n)`.
func describe(name string, n string) string { return fmt.Sprintf("%q (ID %s)", name, n) }
