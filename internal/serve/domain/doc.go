// Package domain holds the server's entities (hosts, groups, scripts, ...), the
// rules they obey, and the Store interface through which they are kept.
//
// The store is an interface owned here so that the embedded bbolt store and a
// later shared PostgreSQL store are two backends of one domain: no storage
// type, bucket or transaction of a backend appears outside its package.
package domain
