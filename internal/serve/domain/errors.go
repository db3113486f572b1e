package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an error whose message a user may see. The API maps each
// kind to an HTTP status; any error that is not an *Error is internal and
// its message is never shown.
type Kind int

// Kinds of user-facing errors.
const (
	// KindInvalid is a request that breaks a rule: a missing or malformed
	// field, a duplicate name, a reference to something that does not exist.
	KindInvalid Kind = iota + 1
	// KindNotFound is an unknown ID or name in the request's path.
	KindNotFound
	// KindConflict is a change refused because of other records: deleting a
	// group that hosts still use, removing the last admin.
	KindConflict
	// KindForbidden is a caller lacking the right to do something.
	KindForbidden
)

// Error is an error whose message is meant for the user. Err, when set, is
// the cause, kept for logs and errors.Is.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Invalidf returns a KindInvalid error with a formatted message.
func Invalidf(format string, args ...any) error {
	return &Error{Kind: KindInvalid, Msg: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a KindNotFound error wrapping ErrNotFound.
func NotFoundf(format string, args ...any) error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf(format, args...), Err: ErrNotFound}
}

// Conflictf returns a KindConflict error with a formatted message.
func Conflictf(format string, args ...any) error {
	return &Error{Kind: KindConflict, Msg: fmt.Sprintf(format, args...)}
}

// Forbiddenf returns a KindForbidden error with a formatted message.
func Forbiddenf(format string, args ...any) error {
	return &Error{Kind: KindForbidden, Msg: fmt.Sprintf(format, args...)}
}

// KindOf reports the kind of a user-facing error in err's chain, or 0.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// notFound turns a store's ErrNotFound into a user-facing 404 naming what
// was looked for; other errors pass through.
func notFound(err error, what string, id any) error {
	if errors.Is(err, ErrNotFound) {
		return NotFoundf("no %s with ID %v", what, id)
	}
	return err
}
