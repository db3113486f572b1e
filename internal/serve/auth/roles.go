package auth

import "github.com/otto-automation/otto/internal/serve/domain"

// Permission is what a route asks of its caller.
type Permission int

// Permissions, from none to all.
const (
	// Public routes need no credentials (login, client registration).
	Public Permission = iota
	// Authenticated routes take any signed-in user, even one whose
	// password must change (logout, reset_password).
	Authenticated
	// Read is viewing anything: every role.
	Read
	// Run is running scripts: operators and admins.
	Run
	// Edit is changing hosts, groups, scripts, schedules and attachments:
	// operators and admins.
	Edit
	// Admin is everything else: users, options, registration rules,
	// backups.
	Admin
	// SelfOrAdmin routes name a user in their path; the user themself or an
	// admin may call them. The handler checks which.
	SelfOrAdmin
)

var permNames = map[Permission]string{
	Public: "public", Authenticated: "authenticated", Read: "read", Run: "run",
	Edit: "edit", Admin: "admin", SelfOrAdmin: "self or admin",
}

func (p Permission) String() string { return permNames[p] }

// Allowed reports whether a user of role has permission p. SelfOrAdmin is
// allowed to every role here; the handler narrows it.
func Allowed(role string, p Permission) bool {
	switch p {
	case Public, Authenticated, Read, SelfOrAdmin:
		return role == domain.RoleAdmin || role == domain.RoleOperator || role == domain.RoleViewer
	case Run, Edit:
		return role == domain.RoleAdmin || role == domain.RoleOperator
	case Admin:
		return role == domain.RoleAdmin
	}
	return false
}
