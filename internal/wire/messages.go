package wire

import (
	"fmt"
	"os"
	"time"
)

// The message bodies. gob matches fields by name, so the exported field names
// and kinds are part of the protocol; the JSON tags are otto's API names.

// MessageHeartbeatRequest asks a client for its version and properties.
type MessageHeartbeatRequest struct {
	ServerVersion string `json:"server_version"`
}

// MessageHeartbeatResponse answers a MessageHeartbeatRequest.
type MessageHeartbeatResponse struct {
	ClientVersion string `json:"client_version"`
	// Properties has the keys hostname, kernel_name, kernel_version,
	// distribution_name and distribution_version.
	Properties map[string]string `json:"properties"`
}

// MessageTriggerAction asks a client to perform Action (one of the Action
// constants). Script is used by ActionRunScript, File by ActionUploadFile and
// ActionUploadFileAndExit, NewPSK by ActionUpdatePSK.
type MessageTriggerAction struct {
	Action uint32 `json:"action"`
	Script Script `json:"script"`
	File   File   `json:"file"`
	NewPSK string `json:"new_psk"`
}

// MessageCancelAction asks a client to stop the script it is running.
type MessageCancelAction struct{}

// MessageActionOutput carries a running script's output.
type MessageActionOutput struct {
	// Stdout and Stderr are the whole output so far, not what is new since
	// the previous MessageActionOutput.
	Stdout []byte `json:"stdout"`
	Stderr []byte `json:"stderr"`
}

// MessageActionResult ends every action.
type MessageActionResult struct {
	ScriptResult ScriptResult `json:"script_result"`
	// Error is always sent as nil, since deployed peers cannot decode any
	// concrete error type; failures go in ScriptResult.ExecError. When a
	// caller sets it, the encoders send nil instead, first copying its text
	// into ScriptResult.ExecError (and clearing Success) if ExecError is
	// empty. A received non-nil Error is kept if gob could decode it.
	Error         error  `json:"error"`
	File          File   `json:"file"`
	ClientVersion string `json:"client_version"`
}

// MessageGeneralFailure reports a failure outside any action.
type MessageGeneralFailure struct {
	// Error is always sent as nil, for the reason given on
	// MessageActionResult.Error, so this message carries no detail.
	Error error `json:"error"`
}

// Script describes a script for a client to run.
type Script struct {
	Name  string `json:"name"`
	RunAs RunAs  `json:"run_as"`
	// Environment is the script's whole environment, besides PATH.
	Environment      map[string]string `json:"environment"`
	WorkingDirectory string            `json:"working_directory"`
	// Executable runs the script: the client runs Executable with the path
	// of a temporary file holding Data as its one argument.
	Executable string `json:"executable"`
	// Files are placed before the script runs.
	Files []File `json:"files"`
	Data  []byte `json:"data"`
}

// File describes a file for a client to place.
type File struct {
	Path  string `json:"path"`
	Owner RunAs  `json:"owner"`
	// Mode holds the permission bits as the decimal digits of their octal
	// value: 0644 is 644. Convert with ModeToWire and ModeFromWire.
	Mode uint32 `json:"mode"`
	Data []byte `json:"data"`
}

// RunAs names the user a script runs as, or a file belongs to.
type RunAs struct {
	// Inherit means the client's own user; UID and GID are then ignored.
	Inherit bool   `json:"inherit"`
	UID     uint32 `json:"uid"`
	GID     uint32 `json:"gid"`
}

// ScriptResult describes how an action ended.
type ScriptResult struct {
	Success bool `json:"success"`
	// ExecError says why the action could not be performed, or could not
	// run the script; it is empty if the script ran, even if it failed.
	ExecError string        `json:"exec_error"`
	Code      int           `json:"code"`
	Stdout    string        `json:"stdout"`
	Stderr    string        `json:"stderr"`
	Elapsed   time.Duration `json:"elapsed"`
}

// String summarizes the result in one line, without the output.
func (sr ScriptResult) String() string {
	switch {
	case sr.ExecError != "":
		return fmt.Sprintf("failed after %s: %s", sr.Elapsed, sr.ExecError)
	case sr.Success:
		return fmt.Sprintf("succeeded after %s (exit code %d)", sr.Elapsed, sr.Code)
	default:
		return fmt.Sprintf("failed after %s (exit code %d)", sr.Elapsed, sr.Code)
	}
}

// specialBits pairs the os.FileMode flags with their octal permission bits.
var specialBits = [...]struct {
	mode  os.FileMode
	octal uint32
}{{os.ModeSetuid, 0o4000}, {os.ModeSetgid, 0o2000}, {os.ModeSticky, 0o1000}}

// ModeToWire returns the File.Mode for m: the octal digits of its permission
// bits, and of its setuid, setgid and sticky bits, read as a decimal number.
// 0644 becomes 644 and os.ModeSetuid|0755 becomes 4755. Other bits of m are
// ignored.
func ModeToWire(m os.FileMode) uint32 {
	octal := uint32(m.Perm())
	for _, b := range specialBits {
		if m&b.mode != 0 {
			octal |= b.octal
		}
	}
	var w uint32
	for scale := uint32(1); octal > 0; octal, scale = octal>>3, scale*10 {
		w += octal & 7 * scale
	}
	return w
}

// ModeFromWire is the inverse of ModeToWire: it reads the decimal digits of
// w as octal, so 644 becomes 0644 and 4755 becomes os.ModeSetuid|0755. It
// fails if a digit is 8 or 9 or if w has more than four digits.
func ModeFromWire(w uint32) (os.FileMode, error) {
	if w > 7777 {
		return 0, fmt.Errorf("wire: file mode %d has more than four octal digits", w)
	}
	var octal uint32
	for v, shift := w, 0; v > 0; v, shift = v/10, shift+3 {
		d := v % 10
		if d > 7 {
			return 0, fmt.Errorf("wire: file mode %d has the non-octal digit %d", w, d)
		}
		octal |= d << shift
	}
	m := os.FileMode(octal & 0o777)
	for _, b := range specialBits {
		if octal&b.octal != 0 {
			m |= b.mode
		}
	}
	return m, nil
}
