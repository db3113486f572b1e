package domain

import (
	"cmp"
	"context"
	"regexp"
	"slices"
)

func checkRule(tx Tx, r *RegisterRule) error {
	var err error
	if r.Name, err = checkName("Name", r.Name); err != nil {
		return err
	}
	if len(r.Clauses) == 0 {
		return Invalidf("Clauses: a rule needs at least one clause (the default group takes hosts no rule matches)")
	}
	for i, c := range r.Clauses {
		if !slices.Contains(RegisterProperties, c.Property) {
			return Invalidf("Clauses[%d]: Property %q is not one of hostname, kernel_name, kernel_version, distribution_name, distribution_version", i, c.Property)
		}
		if _, err := regexp.Compile(c.Pattern); err != nil {
			return Invalidf("Clauses[%d]: Pattern %q is not a valid regular expression: %v", i, c.Pattern, err)
		}
	}
	if _, err := tx.Group(r.GroupID); err != nil {
		if isNotFound(err) {
			return Invalidf("GroupID: no group with ID %s", r.GroupID)
		}
		return err
	}
	all, err := tx.RegisterRules()
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.ID != r.ID && o.Name == r.Name {
			return Invalidf("Name: a registration rule named %q already exists (ID %s)", r.Name, o.ID)
		}
	}
	return nil
}

func ruleDetails(r RegisterRule) map[string]string {
	return map[string]string{"ID": r.ID, "Name": r.Name, "GroupID": r.GroupID}
}

// CreateRegisterRule adds a registration rule.
func (s *Service) CreateRegisterRule(ctx context.Context, who string, r RegisterRule) (RegisterRule, error) {
	r.ID = ""
	err := s.Store.Update(ctx, func(tx Tx) error {
		if err := checkRule(tx, &r); err != nil {
			return err
		}
		if err := tx.PutRegisterRule(&r); err != nil {
			return err
		}
		return s.event(tx, who, EventRegisterRuleAdded, ruleDetails(r))
	})
	return r, err
}

// UpdateRegisterRule replaces a registration rule.
func (s *Service) UpdateRegisterRule(ctx context.Context, who string, ruleID string, e RegisterRule) (RegisterRule, error) {
	r := e
	r.ID = ruleID
	err := s.Store.Update(ctx, func(tx Tx) error {
		if _, err := tx.RegisterRule(ruleID); err != nil {
			return notFound(err, "registration rule", ruleID)
		}
		if err := checkRule(tx, &r); err != nil {
			return err
		}
		if err := tx.PutRegisterRule(&r); err != nil {
			return err
		}
		return s.event(tx, who, EventRegisterRuleModified, ruleDetails(r))
	})
	return r, err
}

// DeleteRegisterRule removes a registration rule.
func (s *Service) DeleteRegisterRule(ctx context.Context, who string, ruleID string) error {
	return s.Store.Update(ctx, func(tx Tx) error {
		r, err := tx.RegisterRule(ruleID)
		if err != nil {
			return notFound(err, "registration rule", ruleID)
		}
		if err := tx.DeleteRegisterRule(ruleID); err != nil {
			return err
		}
		return s.event(tx, who, EventRegisterRuleDeleted, ruleDetails(r))
	})
}

// RegisterRule returns one registration rule.
func (s *Service) RegisterRule(ctx context.Context, ruleID string) (RegisterRule, error) {
	var r RegisterRule
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		r, err = tx.RegisterRule(ruleID)
		return notFound(err, "registration rule", ruleID)
	})
	return r, err
}

// RegisterRules lists the rules in the order they are tried.
func (s *Service) RegisterRules(ctx context.Context) ([]RegisterRule, error) {
	var l []RegisterRule
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		l, err = tx.RegisterRules()
		return err
	})
	sortRules(l)
	return l, err
}

func sortRules(rules []RegisterRule) {
	slices.SortStableFunc(rules, func(a, b RegisterRule) int {
		if c := cmp.Compare(a.Order, b.Order); c != 0 {
			return c
		}
		return CompareIDs(a.ID, b.ID)
	})
}

// MatchRule returns the group a host with props goes into: that of the
// first rule (by Order, then ID) whose every clause matches, else def. A
// property the client did not send matches as the empty string.
func MatchRule(rules []RegisterRule, props map[string]string, def string) string {
	rules = slices.Clone(rules)
	sortRules(rules)
	for _, r := range rules {
		ok := true
		for _, c := range r.Clauses {
			re, err := regexp.Compile(c.Pattern)
			if err != nil || !re.MatchString(props[c.Property]) {
				ok = false
				break
			}
		}
		if ok {
			return r.GroupID
		}
	}
	return def
}
