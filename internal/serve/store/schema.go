package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Buckets. Record buckets are keyed by idKey(ID) unless noted.
var (
	metaBucket        = []byte("meta") // the store's own keys, see below
	hostsBucket       = []byte("hosts")
	hostNamesBucket   = []byte("hosts_by_name") // index: nameKey(Name, idKey(ID)) -> nil
	hostStatusBucket  = []byte("host_status")   // keyed by idKey(HostID)
	groupsBucket      = []byte("groups")
	scriptsBucket     = []byte("scripts")
	attachmentsBucket = []byte("attachments")
	schedulesBucket   = []byte("schedules")
	rulesBucket       = []byte("register_rules")
	usersBucket       = []byte("users")
	userNamesBucket   = []byte("users_by_name") // index: nameKey(Username, idKey(ID)) -> nil
	sessionsBucket    = []byte("sessions")      // keyed by TokenHash
	eventsBucket      = []byte("events")        // keyed by seqKey
	runsBucket        = []byte("runs")          // keyed by seqKey; summaries, without output
	runOutputBucket   = []byte("run_output")    // keyed as runs, see encodeOutput
	optionsBucket     = []byte("options")       // one key, optionsKey
)

var (
	schemaVersionKey = []byte("schema_version") // in metaBucket, uint64 big-endian
	optionsKey       = []byte("options")
)

// migrations[v] brings a database from schema v to v+1, inside the one
// transaction that Open runs them all in. Append only: a released step
// never changes, and len(migrations) is the schema this binary writes.
var migrations = []func(*bolt.Tx) error{
	// 0 -> 1: the initial schema.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{
			hostsBucket, hostNamesBucket, hostStatusBucket, groupsBucket,
			scriptsBucket, attachmentsBucket, schedulesBucket, rulesBucket,
			usersBucket, userNamesBucket, sessionsBucket, eventsBucket,
			runsBucket, runOutputBucket, optionsBucket,
		} {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		return nil
	},
	// 1 -> 2: string IDs (otto 0.x's are kept on import).
	migrateStringIDs,
}

// migrate runs the steps the database has not seen yet, all in one
// transaction, and reports the schema before and after.
func migrate(db *bolt.DB, steps []func(*bolt.Tx) error) (from, to int, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		switch v := meta.Get(schemaVersionKey); len(v) {
		case 0:
		case 8:
			from = int(binary.BigEndian.Uint64(v))
		default:
			return fmt.Errorf("has a malformed schema version %x", v)
		}
		if from > len(steps) {
			return fmt.Errorf("has schema %d, this otto knows up to %d; upgrade otto", from, len(steps))
		}
		for v := from; v < len(steps); v++ {
			if err := steps[v](tx); err != nil {
				return fmt.Errorf("failed migration to schema %d: %w", v+1, err)
			}
		}
		return meta.Put(schemaVersionKey, binary.BigEndian.AppendUint64(nil, uint64(len(steps))))
	})
	return from, len(steps), err
}
