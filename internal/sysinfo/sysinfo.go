// Package sysinfo gathers the five properties a client reports about its
// host, in heartbeats and when it registers: hostname, kernel name and
// version (uname), and distribution name and version (/etc/os-release on
// Linux; the kernel's name and release on the BSDs, which ship as one).
//
// The parsers take what they parse as arguments (parseOSRelease reads an
// io.Reader, fromUtsname takes a *unix.Utsname), so tests feed them fixtures
// from testdata/ on any OS.
package sysinfo

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The property names, as the protocol and the registration rules spell them.
const (
	KeyHostname            = "hostname"
	KeyKernelName          = "kernel_name"
	KeyKernelVersion       = "kernel_version"
	KeyDistributionName    = "distribution_name"
	KeyDistributionVersion = "distribution_version"
)

// Info is the struct form of the properties.
type Info struct {
	Hostname            string // os.Hostname
	KernelName          string // uname -s, such as "Linux" or "FreeBSD"
	KernelVersion       string // uname -r, such as "6.1.0-18-amd64" or "14.1-RELEASE"
	DistributionName    string // such as "Debian GNU/Linux"; on a BSD, KernelName
	DistributionVersion string // such as "12 (bookworm)"; on a BSD, KernelVersion
}

// Map returns the properties under their protocol names, always all five
// keys.
func (i Info) Map() map[string]string {
	return map[string]string{
		KeyHostname:            i.Hostname,
		KeyKernelName:          i.KernelName,
		KeyKernelVersion:       i.KernelVersion,
		KeyDistributionName:    i.DistributionName,
		KeyDistributionVersion: i.DistributionVersion,
	}
}

// Get reads this host's properties. It returns what it could find even when
// err is not nil: err then says what could not be read, and the fields it
// concerns are empty. A client should still report the rest.
func Get() (Info, error) {
	var info Info
	var errs []error

	h, err := os.Hostname()
	if err != nil {
		errs = append(errs, fmt.Errorf("sysinfo: hostname: %w", err))
	}
	info.Hostname = h

	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		errs = append(errs, fmt.Errorf("sysinfo: uname: %w", err))
	} else {
		info.KernelName, info.KernelVersion = fromUtsname(&u)
	}

	name, version, err := distribution(info.KernelName, info.KernelVersion)
	if err != nil {
		errs = append(errs, err)
	}
	info.DistributionName, info.DistributionVersion = name, version
	return info, errors.Join(errs...)
}

// Properties is Get in the map form the protocol carries: exactly the keys
// hostname, kernel_name, kernel_version, distribution_name and
// distribution_version, always all five (see Get for errors).
func Properties() (map[string]string, error) {
	info, err := Get()
	return info.Map(), err
}

// fromUtsname returns the kernel's name and release (uname -s, uname -r).
func fromUtsname(u *unix.Utsname) (name, release string) {
	return unix.ByteSliceToString(u.Sysname[:]), unix.ByteSliceToString(u.Release[:])
}
