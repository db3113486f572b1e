package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// migrateStringIDs takes a database from schema 1 to 2, where IDs are
// strings. Schema 1 keyed records by their int64 ID as 8 big-endian bytes
// and stored IDs as JSON numbers, 0 meaning none. Schema 2 keys records
// by idKey of the ID in decimal and stores IDs as JSON strings, "" meaning
// none. Runs and events keep their keys (sequence numbers); a run's header
// holds its IDs as strings. Buckets keep their sequences, so no ID is
// assigned twice across the migration.
//
// The step works on the raw JSON rather than on the domain types, which
// later versions change: it rewrites the ID fields and leaves every other
// byte of meaning alone.
func migrateStringIDs(tx *bolt.Tx) error {
	for _, m := range []struct {
		bucket []byte
		fields []string
	}{
		{hostsBucket, []string{"ID", "GroupIDs"}},
		{hostStatusBucket, []string{"HostID"}},
		{groupsBucket, []string{"ID", "ScriptIDs"}},
		{scriptsBucket, []string{"ID", "AttachmentIDs"}},
		{attachmentsBucket, []string{"ID"}},
		{schedulesBucket, []string{"ID", "ScriptID", "Scope.HostIDs", "Scope.GroupIDs"}},
		{rulesBucket, []string{"ID", "GroupID"}},
		{usersBucket, []string{"ID"}},
	} {
		if err := rekeyV2(tx, m.bucket, m.fields); err != nil {
			return fmt.Errorf("bucket %s: %w", m.bucket, err)
		}
	}
	for _, m := range []struct {
		bucket, index []byte
		field         string
	}{
		{hostsBucket, hostNamesBucket, "Name"},
		{usersBucket, userNamesBucket, "Username"},
	} {
		if err := reindexV2(tx, m.bucket, m.index, m.field); err != nil {
			return fmt.Errorf("bucket %s: %w", m.index, err)
		}
	}
	for _, m := range []struct {
		bucket []byte
		fields []string
	}{
		{sessionsBucket, []string{"UserID"}},
		{eventsBucket, []string{"ID"}},
		{optionsBucket, []string{"Register.DefaultGroupID"}},
	} {
		err := rewriteV2(tx, m.bucket, func(data []byte) ([]byte, error) { return jsonIDsV2(data, m.fields) })
		if err != nil {
			return fmt.Errorf("bucket %s: %w", m.bucket, err)
		}
	}
	if err := rewriteV2(tx, runsBucket, runV2); err != nil {
		return fmt.Errorf("bucket %s: %w", runsBucket, err)
	}
	return nil
}

// rekeyV2 moves every record of bucket from its 8-byte key to the key of
// its ID, rewriting fields in its JSON.
func rekeyV2(tx *bolt.Tx, bucket []byte, fields []string) error {
	b := tx.Bucket(bucket)
	type record struct{ key, data []byte }
	var records []record
	err := b.ForEach(func(key, data []byte) error {
		if len(key) != 8 {
			return fmt.Errorf("key %x is not a schema 1 ID", key)
		}
		id := strconv.FormatUint(binary.BigEndian.Uint64(key), 10)
		js, err := jsonIDsV2(data, fields)
		if err != nil {
			return fmt.Errorf("record %s: %w", id, err)
		}
		records = append(records, record{idKey(id), js})
		return nil
	})
	if err != nil {
		return err
	}
	seq := b.Sequence()
	if err := tx.DeleteBucket(bucket); err != nil {
		return err
	}
	if b, err = tx.CreateBucket(bucket); err != nil {
		return err
	}
	if err := b.SetSequence(seq); err != nil {
		return err
	}
	// Schema 1's key order was the IDs' numeric order, as schema 2's is:
	// the records go in in order, which bbolt packs best.
	b.FillPercent = 1
	for _, r := range records {
		if err := b.Put(r.key, r.data); err != nil {
			return err
		}
	}
	return nil
}

// reindexV2 rebuilds the name index of bucket, whose records hold the
// name in field, from the records already at their schema 2 keys.
func reindexV2(tx *bolt.Tx, bucket, index []byte, field string) error {
	if err := tx.DeleteBucket(index); err != nil {
		return err
	}
	ix, err := tx.CreateBucket(index)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).ForEach(func(key, data []byte) error {
		var r map[string]json.RawMessage
		var name string
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("record %s: %w", keyID(key), err)
		}
		if raw, ok := r[field]; ok {
			if err := json.Unmarshal(raw, &name); err != nil {
				return fmt.Errorf("record %s: %s: %w", keyID(key), field, err)
			}
		}
		return ix.Put(nameKey(name, key), nil)
	})
}

// rewriteV2 replaces every value of bucket with what fn makes of it,
// keeping the keys.
func rewriteV2(tx *bolt.Tx, bucket []byte, fn func([]byte) ([]byte, error)) error {
	b := tx.Bucket(bucket)
	var keys [][]byte
	b.ForEach(func(key, _ []byte) error {
		keys = append(keys, append([]byte(nil), key...)) // a Put may move what key points at
		return nil
	})
	for _, key := range keys {
		data, err := fn(b.Get(key))
		if err != nil {
			return fmt.Errorf("key %x: %w", key, err)
		}
		if err := b.Put(key, data); err != nil {
			return err
		}
	}
	return nil
}

// runV2 rewrites a schema 1 run record:
//
//	host ID, script ID, schedule ID   8 bytes big-endian each
//	batch ID                          uvarint length, bytes
//	the run                           JSON
//
// into the schema 2 one (see appendRunHeader).
func runV2(data []byte) ([]byte, error) {
	const fixed = 3 * 8
	if len(data) < fixed {
		return nil, errors.New("malformed schema 1 run record")
	}
	var ids [3]string
	for i := range ids {
		ids[i] = idV2(int64(binary.BigEndian.Uint64(data[8*i:])))
	}
	rest := data[fixed:]
	n, size := binary.Uvarint(rest)
	if size <= 0 || n > uint64(len(rest)-size) {
		return nil, errors.New("malformed schema 1 run record")
	}
	batch := string(rest[size : size+int(n)])
	js, err := jsonIDsV2(rest[size+int(n):], []string{"ID", "ScriptID", "HostID", "ScheduleID"})
	if err != nil {
		return nil, err
	}
	return appendRunHeader(nil, ids[0], ids[1], ids[2], batch, js), nil
}

// jsonIDsV2 rewrites the given fields of the JSON object data, each an ID
// (a number) or a list of IDs, into strings (see idV2). A field path
// names a field of a nested object after a dot ("Scope.HostIDs"). Missing
// and null fields stay as they are.
func jsonIDsV2(data []byte, fields []string) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	for _, path := range fields {
		name, rest, nested := strings.Cut(path, ".")
		raw, ok := obj[name]
		if !ok || string(raw) == "null" {
			continue
		}
		var err error
		switch {
		case nested:
			raw, err = jsonIDsV2(raw, []string{rest})
		case len(raw) > 0 && raw[0] == '[':
			var ns []int64
			if err = json.Unmarshal(raw, &ns); err == nil {
				ids := make([]string, len(ns))
				for i, n := range ns {
					ids[i] = idV2(n)
				}
				raw, err = json.Marshal(ids)
			}
		default:
			var n int64
			if err = json.Unmarshal(raw, &n); err == nil {
				raw, err = json.Marshal(idV2(n))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		obj[name] = raw
	}
	return json.Marshal(obj)
}

// idV2 is schema 2's ID for schema 1's ID n: "" for 0 (none), else n in
// decimal.
func idV2(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}
