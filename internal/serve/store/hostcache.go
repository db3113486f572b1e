package store

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// hostsGenKey, in metaBucket, counts the writes to the hosts bucket
// (uint64 big-endian; missing means 0). A reader compares it with the
// generation of its cached list.
var hostsGenKey = []byte("hosts_gen")

// hostCache keeps the decoded list of hosts between the transactions that
// leave it alone. Listing 10,000 hosts is nearly all JSON decoding, and the
// list is read (every API list, sweep and run) far more often than it is
// written. The counter lives in the file and is read in the reader's own
// transaction, so a hit is exactly the list that transaction would decode.
type hostCache struct {
	mu    sync.Mutex
	gen   uint64
	valid bool
	hosts []domain.Host
}

// hostsGen is the generation of the hosts bucket seen by t.
func (t *tx) hostsGen() uint64 {
	v := t.b.Bucket(metaBucket).Get(hostsGenKey)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// bumpHostsGen marks a change of the hosts bucket in t.
func (t *tx) bumpHostsGen() error {
	return t.b.Bucket(metaBucket).Put(hostsGenKey, binary.BigEndian.AppendUint64(nil, t.hostsGen()+1))
}

// cachedHosts lists the hosts, from the cache when the bucket has not
// changed since it was filled. Inside a writable transaction it always
// decodes, since that transaction may have changed what it would read.
func (t *tx) cachedHosts() ([]domain.Host, error) {
	c := t.cache
	if c == nil || t.b.Writable() {
		return list(t, hosts)
	}
	gen := t.hostsGen()
	c.mu.Lock()
	if c.valid && c.gen == gen {
		out := cloneHosts(c.hosts)
		c.mu.Unlock()
		return out, nil
	}
	c.mu.Unlock()
	hs, err := list(t, hosts)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if !c.valid || gen >= c.gen {
		c.gen, c.valid, c.hosts = gen, true, cloneHosts(hs)
	}
	c.mu.Unlock()
	return hs, nil
}

// cloneHosts copies hosts deeply enough that a caller may change anything
// in its copy (appending to a host's GroupIDs included) without touching
// the cache.
func cloneHosts(hs []domain.Host) []domain.Host {
	out := slices.Clone(hs)
	for i := range out {
		out[i].GroupIDs = slices.Clone(out[i].GroupIDs)
		out[i].Environment = slices.Clone(out[i].Environment)
	}
	return out
}
