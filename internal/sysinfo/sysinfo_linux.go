package sysinfo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// osReleasePaths are tried in order, as os-release(5) says: /etc first, the
// vendor's /usr/lib copy when /etc has none.
var osReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

// distribution reads the distribution's name and version from os-release.
func distribution(_, _ string) (name, version string, err error) {
	var errs []error
	for _, path := range osReleasePaths {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vars, err := parseOSRelease(f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		name, version = distributionFrom(vars)
		return name, version, nil
	}
	if len(errs) == 0 {
		return "", "", fmt.Errorf("sysinfo: no distribution name: neither %s nor %s exists", osReleasePaths[0], osReleasePaths[1])
	}
	return "", "", fmt.Errorf("sysinfo: no distribution name: %w", errors.Join(errs...))
}
