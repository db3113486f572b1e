//go:build freebsd || openbsd || netbsd

package sysinfo

// distribution returns the kernel's name and release: on the BSDs the kernel
// and the userland ship as one system, so uname already names the
// distribution.
func distribution(kernelName, kernelVersion string) (name, version string, err error) {
	return kernelName, kernelVersion, nil
}
