package domain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
)

// MaxAttachmentSize is the largest attachment, in bytes (100 MiB): files
// travel to hosts inside one protocol frame, held in memory on both ends.
const MaxAttachmentSize = 100 << 20

// Blob is attachment data already in the store, not yet named by a record.
type Blob struct {
	Key      string
	Size     int64
	Checksum string // hex SHA-256
}

// PutAttachmentData stores r as a new blob, refusing data larger than
// MaxAttachmentSize. The caller hands the blob to CreateAttachment or
// UpdateAttachment, which own it from then on, or drops it with DropBlob.
func (s *Service) PutAttachmentData(ctx context.Context, r io.Reader) (Blob, error) {
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	b := Blob{Key: hex.EncodeToString(key)}
	sum := sha256.New()
	n, err := s.Store.PutBlob(ctx, b.Key, io.TeeReader(io.LimitReader(r, MaxAttachmentSize+1), sum))
	if err == nil && n > MaxAttachmentSize {
		err = Invalidf("file: the data is larger than the limit of %d MiB", MaxAttachmentSize>>20)
	}
	if err != nil {
		s.DropBlob(ctx, b.Key)
		return Blob{}, err
	}
	b.Size, b.Checksum = n, hex.EncodeToString(sum.Sum(nil))
	return b, nil
}

// DropBlob deletes a blob no record names; a failure is only logged, since
// GCBlobs collects what is left over.
func (s *Service) DropBlob(ctx context.Context, key string) {
	if err := s.Store.DeleteBlob(context.WithoutCancel(ctx), key); err != nil && !errors.Is(err, ErrNotFound) && s.Log != nil {
		s.Log.Warn("deleting unused attachment data failed", "blob", key, "err", err)
	}
}

func checkAttachment(a *Attachment) error {
	var err error
	if a.Name, err = checkName("Name", a.Name); err != nil {
		return err
	}
	if err := checkAbsPath("Path", a.Path); err != nil {
		return err
	}
	if a.Mode > 0o7777 {
		return Invalidf("Mode %o is not a permission mode (0 to 7777 octal)", a.Mode)
	}
	return nil
}

// ParseMode reads a file mode written in octal, as "0644", "644" or "0o644".
func ParseMode(s string) (uint32, error) {
	t := s
	if len(t) > 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O') {
		t = t[2:]
	}
	m, err := strconv.ParseUint(t, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, Invalidf("Mode %q is not an octal permission mode such as 0644", s)
	}
	return uint32(m), nil
}

func attachmentDetails(a Attachment) map[string]string {
	return map[string]string{"ID": a.ID, "Name": a.Name, "Path": a.Path, "Size": strconv.FormatInt(a.Size, 10), "Checksum": a.Checksum}
}

// CreateAttachment adds an attachment whose data is data. On failure the
// blob is deleted.
func (s *Service) CreateAttachment(ctx context.Context, who string, a Attachment, data Blob) (Attachment, error) {
	a.ID = ""
	a.BlobKey, a.Size, a.Checksum = data.Key, data.Size, data.Checksum
	a.Created = s.now()
	a.Modified = a.Created
	err := s.Store.Update(ctx, func(tx Tx) error {
		if err := checkAttachment(&a); err != nil {
			return err
		}
		if err := tx.PutAttachment(&a); err != nil {
			return err
		}
		return s.event(tx, who, EventAttachmentAdded, attachmentDetails(a))
	})
	if err != nil {
		s.DropBlob(ctx, data.Key)
	}
	return a, err
}

// AttachmentEdit changes an attachment; nil fields stay as they are.
type AttachmentEdit struct {
	Name  *string
	Path  *string
	Owner *RunAs
	Mode  *uint32
	// MimeType is the data's media type; set it with Data.
	MimeType *string
	// Data replaces the file's data.
	Data *Blob
}

// UpdateAttachment changes an attachment's metadata or data. A replaced
// blob is deleted after the change commits; on failure the new one is.
func (s *Service) UpdateAttachment(ctx context.Context, who string, attID string, e AttachmentEdit) (Attachment, error) {
	var a Attachment
	var oldKey string
	err := s.Store.Update(ctx, func(tx Tx) error {
		var err error
		if a, err = tx.Attachment(attID); err != nil {
			return notFound(err, "attachment", attID)
		}
		if e.Name != nil {
			a.Name = *e.Name
		}
		if e.Path != nil {
			a.Path = *e.Path
		}
		if e.Owner != nil {
			a.Owner = *e.Owner
		}
		if e.Mode != nil {
			a.Mode = *e.Mode
		}
		if e.MimeType != nil {
			a.MimeType = *e.MimeType
		}
		if e.Data != nil {
			oldKey = a.BlobKey
			a.BlobKey, a.Size, a.Checksum = e.Data.Key, e.Data.Size, e.Data.Checksum
		}
		a.Modified = s.now()
		if err := checkAttachment(&a); err != nil {
			return err
		}
		if err := tx.PutAttachment(&a); err != nil {
			return err
		}
		return s.event(tx, who, EventAttachmentModified, attachmentDetails(a))
	})
	switch {
	case err != nil && e.Data != nil:
		s.DropBlob(ctx, e.Data.Key)
	case err == nil && oldKey != "" && oldKey != a.BlobKey:
		s.DropBlob(ctx, oldKey)
	}
	return a, err
}

// DeleteAttachment removes an attachment and its data; it is refused
// while a script uses it.
func (s *Service) DeleteAttachment(ctx context.Context, who string, attID string) error {
	var a Attachment
	err := s.Store.Update(ctx, func(tx Tx) error {
		var err error
		if a, err = tx.Attachment(attID); err != nil {
			return notFound(err, "attachment", attID)
		}
		scripts, err := tx.Scripts()
		if err != nil {
			return err
		}
		var users []string
		for _, sc := range scripts {
			if contains(sc.AttachmentIDs, attID) {
				users = append(users, describe(sc.Name, sc.ID))
			}
		}
		if len(users) > 0 {
			return Conflictf("attachment %q is in use: scripts %s use it; take it out of them first", a.Name, names(users))
		}
		if err := tx.DeleteAttachment(attID); err != nil {
			return err
		}
		return s.event(tx, who, EventAttachmentDeleted, attachmentDetails(a))
	})
	if err == nil {
		s.DropBlob(ctx, a.BlobKey)
	}
	return err
}

// Attachment returns one attachment.
func (s *Service) Attachment(ctx context.Context, attID string) (Attachment, error) {
	var a Attachment
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		a, err = tx.Attachment(attID)
		return notFound(err, "attachment", attID)
	})
	return a, err
}

// Attachments lists every attachment.
func (s *Service) Attachments(ctx context.Context) ([]Attachment, error) {
	var l []Attachment
	err := s.Store.View(ctx, func(tx Tx) error {
		var err error
		l, err = tx.Attachments()
		return err
	})
	return l, err
}

// OpenAttachment returns an attachment and a reader of its data.
func (s *Service) OpenAttachment(ctx context.Context, attID string) (Attachment, io.ReadCloser, error) {
	a, err := s.Attachment(ctx, attID)
	if err != nil {
		return a, nil, err
	}
	rc, err := s.Store.OpenBlob(ctx, a.BlobKey)
	return a, rc, err
}
