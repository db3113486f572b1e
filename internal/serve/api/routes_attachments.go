package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
)

func (s *Server) attachmentRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/attachments", perm: auth.Read, handle: s.listAttachments},
		{method: "PUT", pattern: "/api/attachments", perm: auth.Edit, handle: s.uploadAttachment, maxBody: MaxUploadBody},
		{method: "GET", pattern: "/api/attachments/attachment/{id}", perm: auth.Read, handle: s.getAttachment},
		{method: "POST", pattern: "/api/attachments/attachment/{id}", perm: auth.Edit, handle: s.editAttachment, maxBody: MaxUploadBody},
		{method: "DELETE", pattern: "/api/attachments/attachment/{id}", perm: auth.Edit, handle: s.deleteAttachment},
		{method: "GET", pattern: "/api/attachments/attachment/{id}/download", perm: auth.Read, handle: s.downloadAttachment},
	}
}

func (s *Server) listAttachments(c *call) (any, error) {
	l, err := s.svc.Attachments(c.ctx)
	return attachmentsOut(l), err
}

func (s *Server) getAttachment(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	a, err := s.svc.Attachment(c.ctx, id)
	return attachmentOut(a), err
}

// upload is a parsed multipart attachment form.
type upload struct {
	fields   map[string]string
	blob     *domain.Blob
	file     string // the file part's file name
	mimeType string // the file's media type
}

// maxFormField bounds each non-file form field.
const maxFormField = 4096

var formFields = []string{"Name", "Path", "UID", "GID", "Inherit", "Mode"}

// readUpload streams a multipart form: the "file" part goes straight into
// a new blob (so 100 MiB never sit in memory), the other fields are small.
// On error the blob, if any, is dropped.
func (s *Server) readUpload(c *call) (u upload, err error) {
	mr, err := c.r.MultipartReader()
	if err != nil {
		return u, badRequest("send a multipart/form-data body with a file part \"file\" and the fields Path, UID, GID, Inherit, Mode")
	}
	defer func() {
		if err != nil && u.blob != nil {
			s.svc.DropBlob(c.ctx, u.blob.Key)
		}
	}()
	u.fields = map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return u, nil
		}
		if err != nil {
			return u, formError(err)
		}
		name := p.FormName()
		switch {
		case name == "file":
			if u.blob != nil {
				return u, badRequest("the form has more than one file part")
			}
			data, mimeType, err := sniff(p)
			if err != nil {
				return u, formError(err)
			}
			b, err := s.svc.PutAttachmentData(c.ctx, data)
			if err != nil {
				return u, formError(err)
			}
			u.blob, u.file, u.mimeType = &b, p.FileName(), mimeType
		case contains(formFields, name):
			v, err := io.ReadAll(io.LimitReader(p, maxFormField+1))
			if err != nil {
				return u, formError(err)
			}
			if len(v) > maxFormField {
				return u, badRequest("form field %s is longer than %d bytes", name, maxFormField)
			}
			u.fields[name] = strings.TrimSpace(string(v))
		default:
			return u, badRequest("unknown form field %q (known: file, %s)", name, strings.Join(formFields, ", "))
		}
	}
}

// sniff returns the media type of a file part: its Content-Type, unless
// that is missing or the generic application/octet-stream (which Go's and
// many clients' forms send for any file), else the type
// http.DetectContentType finds in the first 512 bytes. The reader it
// returns yields the whole data.
func sniff(p *multipart.Part) (io.Reader, string, error) {
	if ct := p.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt != "application/octet-stream" {
			return p, ct, nil
		}
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(p, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, "", err
	}
	head = head[:n]
	return io.MultiReader(bytes.NewReader(head), p), http.DetectContentType(head), nil
}

func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || domain.KindOf(err) != 0 {
		return err
	}
	return &PublicError{Status: http.StatusBadRequest, Msg: "reading the multipart form: " + err.Error(), Err: err}
}

// edit turns the form's fields into an attachment change.
func (u upload) edit() (domain.AttachmentEdit, error) {
	var e domain.AttachmentEdit
	if v, ok := u.fields["Name"]; ok {
		e.Name = &v
	}
	if v, ok := u.fields["Path"]; ok {
		e.Path = &v
	}
	_, hasUID := u.fields["UID"]
	_, hasGID := u.fields["GID"]
	_, hasInherit := u.fields["Inherit"]
	if hasUID || hasGID || hasInherit {
		var o domain.RunAs
		for _, f := range []struct {
			name string
			dst  *uint32
		}{{"UID", &o.UID}, {"GID", &o.GID}} {
			if v := u.fields[f.name]; v != "" {
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					return e, badRequest("%s %q is not a number", f.name, v)
				}
				*f.dst = uint32(n)
			}
		}
		if v := u.fields["Inherit"]; v != "" {
			switch strings.ToLower(v) {
			case "1", "true", "on", "yes":
				o.Inherit = true
			case "0", "false", "off", "no":
			default:
				return e, badRequest("Inherit %q is not true or false", v)
			}
		}
		e.Owner = &o
	}
	if v, ok := u.fields["Mode"]; ok && v != "" {
		m, err := domain.ParseMode(v)
		if err != nil {
			return e, err
		}
		e.Mode = &m
	}
	e.Data = u.blob
	if u.blob != nil {
		e.MimeType = &u.mimeType
	}
	return e, nil
}

// uploadAttachment creates an attachment from a multipart form. Name
// defaults to the file's name (else the last element of Path), Mode to
// 0644, the owner to Inherit.
func (s *Server) uploadAttachment(c *call) (any, error) {
	u, err := s.readUpload(c)
	if err != nil {
		return nil, err
	}
	e, err := u.edit()
	if err != nil || u.blob == nil {
		if u.blob != nil {
			s.svc.DropBlob(c.ctx, u.blob.Key)
		} else if err == nil {
			err = badRequest("the form has no file part named \"file\"")
		}
		return nil, err
	}
	a := domain.Attachment{Mode: 0o644, Owner: domain.RunAs{Inherit: true}, MimeType: u.mimeType}
	if e.Path != nil {
		a.Path = *e.Path
	}
	switch {
	case e.Name != nil:
		a.Name = *e.Name
	case u.file != "":
		a.Name = u.file
	default:
		a.Name = path.Base(a.Path)
	}
	if e.Owner != nil {
		a.Owner = *e.Owner
	}
	if e.Mode != nil {
		a.Mode = *e.Mode
	}
	a, err = s.svc.CreateAttachment(c.ctx, c.who(), a, *u.blob)
	return attachmentOut(a), err
}

// editAttachment changes an attachment: a multipart form like the upload's
// (every field optional; a file part replaces the data and its media
// type), or a JSON body with metadata only.
func (s *Server) editAttachment(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	ct, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var req apitype.AttachmentRequest
		if err := c.decode(&req); err != nil {
			return nil, err
		}
		if err := sameID(req.ID, id); err != nil {
			return nil, err
		}
		e, err := attachmentEditIn(req)
		if err != nil {
			return nil, err
		}
		a, err := s.svc.UpdateAttachment(c.ctx, c.who(), id, e)
		return attachmentOut(a), err
	}
	if _, err := s.svc.Attachment(c.ctx, id); err != nil {
		return nil, err // before reading a large body for nothing
	}
	u, err := s.readUpload(c)
	if err != nil {
		return nil, err
	}
	e, err := u.edit()
	if err != nil {
		if u.blob != nil {
			s.svc.DropBlob(c.ctx, u.blob.Key)
		}
		return nil, err
	}
	a, err := s.svc.UpdateAttachment(c.ctx, c.who(), id, e)
	return attachmentOut(a), err
}

func (s *Server) deleteAttachment(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	return true, s.svc.DeleteAttachment(c.ctx, c.who(), id)
}

// downloadAttachment streams the file itself, not an envelope.
func (s *Server) downloadAttachment(c *call) (any, error) {
	id, err := c.id("id")
	if err != nil {
		return nil, err
	}
	a, rc, err := s.svc.OpenAttachment(c.ctx, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := c.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-OTTO-SHA256", a.Checksum)
	c.w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(c.w, rc); err != nil {
		s.log.Warn("sending attachment failed", "attachment", a.ID, "err", err)
		panic(http.ErrAbortHandler) // the client must not take a short file for the whole one
	}
	return written{}, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
