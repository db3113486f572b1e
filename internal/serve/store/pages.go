//go:build unix

package store

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropPagesMin is the smallest value, in bytes, whose pages dropPages lets
// go: run outputs, not the small records read all the time.
const dropPagesMin = 64 << 10

// dropPages tells the kernel that this process is done with the pages of
// the database mapping under b, a value that a read-only transaction read
// and copied. bbolt maps the whole file, and every page read through the
// map stays in the process's RSS until the kernel needs the memory: reading
// back a hundred megabyte outputs would add a hundred megabytes to it. The
// pages stay in the page cache; a later read maps them again.
//
// b must come from a read-only transaction that is still open: its values
// lie in the file's mapping, which bbolt does not move while a read
// transaction is open. A writable transaction's values may be on the heap,
// whose pages this would wipe.
func dropPages(b []byte) {
	if len(b) < dropPagesMin {
		return
	}
	pageSize := uintptr(os.Getpagesize())
	p := unsafe.Pointer(unsafe.SliceData(b))
	off := uintptr(p) % pageSize
	n := (off + uintptr(len(b)) + pageSize - 1) / pageSize * pageSize
	_ = unix.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, -int(off))), n), unix.MADV_DONTNEED)
}
