package exec

import "errors"

// Sentinel errors. Every error this package returns starts with "exec: " and
// says what failed; test for a cause with errors.Is.
var (
	// ErrNeedRoot means a script or file was to run as, or belong to, a uid or
	// gid other than the client's own while the client does not run as root.
	// Nothing was run or written.
	ErrNeedRoot = errors.New("exec: the client must run as root to use another uid or gid")

	// ErrNotRegularFile means PlaceFile found something other than a regular
	// file (a directory, a symbolic link, a device, a named pipe, a socket) at
	// the target path. It was left alone.
	ErrNotRegularFile = errors.New("exec: not a regular file")

	// ErrInvalid means the Job or File itself is unusable: an empty
	// Executable, a relative file path, an environment variable name that
	// cannot be passed to a process, a mode with file-type bits.
	ErrInvalid = errors.New("exec: invalid job")

	// ErrCanceled means the context was done (or Job.Timeout expired) before
	// the script started, so it never ran; Result.Canceled (or
	// Result.TimedOut) is also set.
	ErrCanceled = errors.New("exec: canceled before the script started")
)

// wrapError is an error with its own message that still matches a sentinel
// (and an underlying cause, if any) with errors.Is. It keeps messages free of
// the sentinel's text repeated after the real one.
type wrapError struct {
	msg      string
	sentinel error
	cause    error
}

func (e *wrapError) Error() string { return e.msg }

func (e *wrapError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.sentinel}
	}
	return []error{e.sentinel, e.cause}
}
