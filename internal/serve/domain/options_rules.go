package domain

import (
	"context"
	"net/url"
	"reflect"
	"strings"
)

// Limits of the options.
const (
	MaxParallelLimit = 10000
	// MinRegisterKeyLen is the shortest registration key accepted while
	// registration is on: the key is all that stands between the network
	// and a new host in a group.
	MinRegisterKeyLen = 8
)

func checkOptions(tx Tx, o *Options) error {
	if o.General.ServerURL != "" {
		u, err := url.Parse(o.General.ServerURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Invalidf("General.ServerURL %q is not an http or https URL", o.General.ServerURL)
		}
	}
	if err := checkEnvironment("General.GlobalEnvironment", o.General.GlobalEnvironment); err != nil {
		return err
	}
	if o.Authentication.MaxAgeMinutes < 1 {
		return Invalidf("Authentication.MaxAgeMinutes must be at least 1")
	}
	switch o.Network.ForceIPVersion {
	case "":
		o.Network.ForceIPVersion = IPVersionAuto
	case IPVersionAuto, IPVersion4, IPVersion6:
	default:
		return Invalidf("Network.ForceIPVersion %q is not one of auto, ipv4, ipv6", o.Network.ForceIPVersion)
	}
	if o.Network.Timeout < 1 {
		return Invalidf("Network.Timeout must be at least 1 (seconds)")
	}
	if o.Network.HeartbeatFrequency < 1 {
		return Invalidf("Network.HeartbeatFrequency must be at least 1 (minutes)")
	}
	if o.Network.MaxParallel < 1 || o.Network.MaxParallel > MaxParallelLimit {
		return Invalidf("Network.MaxParallel must be between 1 and %d", MaxParallelLimit)
	}
	if _, err := tx.Group(o.Register.DefaultGroupID); err != nil {
		if isNotFound(err) {
			return Invalidf("Register.DefaultGroupID: no group with ID %s", o.Register.DefaultGroupID)
		}
		return err
	}
	if o.Register.Enabled && len(o.Register.Key) < MinRegisterKeyLen {
		return Invalidf("Register.Key must be at least %d characters while registration is enabled", MinRegisterKeyLen)
	}
	if o.Security.RotatePSK.FrequencyDays < 1 {
		return Invalidf("Security.RotatePSK.FrequencyDays must be at least 1")
	}
	if o.Runs.OutputMaxBytes < 0 || o.Runs.HistoryMax < 0 || o.Runs.HistoryDays < 0 {
		return Invalidf("Runs: OutputMaxBytes, HistoryMax and HistoryDays may not be negative")
	}
	return nil
}

// Options returns the server's options.
func (s *Service) Options(ctx context.Context) (Options, error) {
	var o Options
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		o, err = tx.Options()
		return err
	})
	return o, err
}

// UpdateOptions replaces the options. An empty Register.Key keeps the
// stored key, and empty secret variables keep their stored values, since
// neither is sent out to every caller.
func (s *Service) UpdateOptions(ctx context.Context, who string, o Options) (Options, error) {
	err := s.Store.Update(ctx, func(tx Tx) error {
		old, err := tx.Options()
		if err != nil {
			return err
		}
		if o.Register.Key == "" {
			o.Register.Key = old.Register.Key
		}
		o.General.GlobalEnvironment = keepSecrets(old.General.GlobalEnvironment, o.General.GlobalEnvironment)
		if err := checkOptions(tx, &o); err != nil {
			return err
		}
		if err := tx.PutOptions(o); err != nil {
			return err
		}
		return s.event(tx, who, EventServerOptionsModified, map[string]string{"Changed": changedOptions(old, o)})
	})
	return o, err
}

// changedOptions names the option groups that differ, for the audit log
// (which never holds the values: the register key is one of them).
func changedOptions(old, cur Options) string {
	var out []string
	a, b := reflect.ValueOf(old), reflect.ValueOf(cur)
	for i := range a.NumField() {
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			out = append(out, a.Type().Field(i).Name)
		}
	}
	return strings.Join(out, ",")
}
