package domain

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
)

// RegisterRequest is a client asking to be added as a host.
type RegisterRequest struct {
	Key  string
	Port uint32
	// Properties are the client's hostname, kernel_name, kernel_version,
	// distribution_name and distribution_version.
	Properties map[string]string
	// PeerAddress is the IP address the request came from: the host's
	// address from now on. It is never taken from the request's body or
	// headers, which the client controls.
	PeerAddress string
}

// Registration is a host that registered, with what it should run.
type Registration struct {
	Host Host
	// Scripts are the enabled scripts of the host's group when the options
	// ask to run them on registration, else none.
	Scripts []Script
}

// ErrRegistrationOff is returned while registration is turned off.
var ErrRegistrationOff = &Error{Kind: KindNotFound, Msg: "registration is turned off on this server"}

// ErrRegisterKey is returned for a wrong registration key.
var ErrRegisterKey = &Error{Kind: KindForbidden, Msg: "incorrect registration key"}

// Register adds the host a client asks for, in the group of the first
// matching rule or the default group, with a fresh PSK. A wrong key is
// refused and leaves a HostRegisterIncorrectKey event.
func (s *Service) Register(ctx context.Context, req RegisterRequest) (Registration, error) {
	var reg Registration
	wrongKey := false
	err := s.Store.Update(ctx, func(tx Tx) error {
		o, err := tx.Options()
		if err != nil {
			return err
		}
		if !o.Register.Enabled {
			return ErrRegistrationOff
		}
		want, got := sha256.Sum256([]byte(o.Register.Key)), sha256.Sum256([]byte(req.Key))
		if o.Register.Key == "" || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
			wrongKey = true
			return ErrRegisterKey
		}
		name, err := checkName("properties.hostname", req.Properties["hostname"])
		if err != nil {
			return err
		}
		if other, err := tx.HostByName(name); err == nil {
			return Invalidf("a host named %q is already registered (ID %s); delete it first to register it again", name, other.ID)
		} else if !isNotFound(err) {
			return err
		}
		ip := net.ParseIP(req.PeerAddress)
		if ip == nil {
			return errors.New("register: peer address is not an IP address")
		}
		rules, err := tx.RegisterRules()
		if err != nil {
			return err
		}
		h := Host{
			Name:          name,
			Address:       ip.String(),
			Port:          req.Port,
			PSK:           NewPSK(),
			GroupIDs:      []string{MatchRule(rules, req.Properties, o.Register.DefaultGroupID)},
			Enabled:       true,
			Created:       s.now(),
			LastPSKRotate: s.now(),
		}
		if err := checkHost(tx, &h); err != nil {
			return err
		}
		if err := tx.PutHost(&h); err != nil {
			return err
		}
		g, err := tx.Group(h.GroupIDs[0])
		if err != nil {
			return err
		}
		reg = Registration{Host: h}
		if o.Register.RunScriptsOnRegister {
			for _, sid := range g.ScriptIDs {
				sc, err := tx.Script(sid)
				if err != nil {
					return err
				}
				if sc.Enabled {
					reg.Scripts = append(reg.Scripts, sc)
				}
			}
		}
		d := hostDetails(h)
		d["GroupID"], d["GroupName"] = g.ID, g.Name
		return s.event(tx, "", EventHostRegisterSuccess, d)
	})
	if wrongKey {
		d := map[string]string{"Address": req.PeerAddress, "Hostname": req.Properties["hostname"]}
		if e := s.Event(ctx, "", EventHostRegisterIncorrectKey, d); e != nil {
			return reg, errors.Join(err, e)
		}
	}
	return reg, err
}

// ScriptAttachments returns the attachments of a script, in its order.
func (s *Service) ScriptAttachments(ctx context.Context, scriptID string) ([]Attachment, error) {
	var out []Attachment
	err := s.Store.View(ctx, func(tx Tx) error {
		sc, err := tx.Script(scriptID)
		if err != nil {
			return notFound(err, "script", scriptID)
		}
		for _, aid := range sc.AttachmentIDs {
			a, err := tx.Attachment(aid)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}
