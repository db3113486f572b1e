//go:build !unix

package store

// dropPages does nothing where there is no madvise: see pages.go.
func dropPages([]byte) {}
