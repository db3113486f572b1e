//go:build unix

package store

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropPages tells the kernel that this process is done with the pages of
// the database mapping under b, a value that a read-only transaction read
// and copied. bbolt maps the whole file, and every page read through the
// map stays in the process's RSS until the kernel needs the memory: reading
// back a hundred megabyte outputs would add a hundred megabytes to it. The
// pages stay in the page cache; a later read maps them again.
//
// b must lie in the mapping of a transaction that is still open (see
// inMapping), which bbolt does not move while a read transaction is open.
// Memory on the heap would be wiped.
func dropPages(b []byte) {
	if len(b) == 0 {
		return
	}
	pageSize := uintptr(os.Getpagesize())
	p := unsafe.Pointer(unsafe.SliceData(b))
	off := uintptr(p) % pageSize
	n := (off + uintptr(len(b)) + pageSize - 1) / pageSize * pageSize
	_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, -int(off))), n), unix.MADV_DONTNEED)
}
