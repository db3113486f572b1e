package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"github.com/otto-automation/otto/internal/apitype"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// multipartBody builds a form with fields and, if data is not nil, a file.
func multipartBody(t testing.TB, fields map[string]string, filename string, data io.Reader) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if data != nil {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(fw, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

func (e *env) uploadReq(c *caller, method, path string, fields map[string]string, filename string, data []byte) answer {
	var r io.Reader
	if data != nil {
		r = bytes.NewReader(data)
	}
	body, ct := multipartBody(e.t, fields, filename, r)
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-OTTO-USERNAME", c.name)
	req.Header.Set("X-OTTO-API-KEY", c.key)
	return e.send(c.client, req)
}

func (e *env) upload(t testing.TB, method, path string, fields map[string]string, filename string, data []byte) apitype.Attachment {
	t.Helper()
	a := e.uploadReq(e.admin, method, path, fields, filename, data)
	if a.Status != 200 {
		t.Fatalf("%s %s = %d %s", method, path, a.Status, a.Body)
	}
	var att apitype.Attachment
	a.into(t, &att)
	return att
}

func TestAttachments(t *testing.T) {
	e := newEnv(t)
	data := []byte("#!/bin/sh\necho hi\n")
	att := e.upload(t, "PUT", "/api/attachments", map[string]string{"Path": "/usr/local/bin/hi", "UID": "0", "GID": "0", "Inherit": "false", "Mode": "0755"}, "hi.sh", data)
	sum := sha256.Sum256(data)
	if att.Name != "hi.sh" || att.Path != "/usr/local/bin/hi" || att.Mode != 755 || att.Owner.Inherit || att.Size != int64(len(data)) || att.Checksum != hex.EncodeToString(sum[:]) {
		t.Errorf("uploaded = %+v", att)
	}
	// The form's file part says application/octet-stream: the type is sniffed.
	if att.MimeType != "text/plain; charset=utf-8" {
		t.Errorf("uploaded MimeType = %q, want the sniffed text/plain; charset=utf-8", att.MimeType)
	}
	var stored domain.Attachment
	if stored, _ = e.svc.Attachment(t.Context(), string(att.ID)); stored.Mode != 0o755 {
		t.Errorf("stored Mode = %o, want 0755 (the answer's 755 is its octal digits)", stored.Mode)
	}
	if !e.hasEvent(domain.EventAttachmentAdded, map[string]string{"Name": "hi.sh"}) {
		t.Errorf("no AttachmentAdded event")
	}
	path := "/api/attachments/attachment/" + string(att.ID)
	a := e.must(e.view, "GET", path+"/download", nil, nil)
	if a.Body != string(data) || a.Header.Get("Content-Disposition") != `attachment; filename=hi.sh` {
		t.Errorf("download = %q %v", a.Body, a.Header)
	}
	for _, tt := range []struct {
		fields map[string]string
		data   []byte
		want   string
	}{
		{map[string]string{"Path": "relative"}, data, `Path "relative" must be an absolute path`},
		{map[string]string{"Path": "/x", "Mode": "0999"}, data, `Mode "0999" is not an octal permission mode`},
		{map[string]string{"Path": "/x", "UID": "-1"}, data, `UID "-1" is not a number`},
		{map[string]string{"Path": "/x", "Inherit": "maybe"}, data, `Inherit "maybe" is not true or false`},
		{map[string]string{"Path": "/x", "Owner": "root"}, data, `unknown form field "Owner"`},
		{map[string]string{"Path": "/x"}, nil, `no file part named "file"`},
	} {
		a := e.uploadReq(e.oper, "PUT", "/api/attachments", tt.fields, "f", tt.data)
		if a.Status != 400 || !strings.Contains(a.Message(), tt.want) {
			t.Errorf("upload %v = %d %s, want 400 %q", tt.fields, a.Status, a.Body, tt.want)
		}
	}
	e.fails(e.oper, "PUT", "/api/attachments", map[string]any{"Path": "/x"}, 400, "send a multipart/form-data body")

	// Edit metadata as JSON, then replace the data by a form.
	var got apitype.Attachment
	e.must(e.oper, "POST", path, map[string]any{"Path": "/opt/hi", "Mode": 700}, &got)
	if got.Path != "/opt/hi" || got.Mode != 700 || got.Size != int64(len(data)) {
		t.Errorf("after JSON edit = %+v", got)
	}
	e.fails(e.oper, "POST", path, map[string]any{"Mode": 799}, 400, "Mode 799 is not a permission mode")
	e.must(e.oper, "POST", path, got, &got) // what was read goes back as it is
	if got.Mode != 700 {
		t.Errorf("after sending back the answer Mode = %d, want 700", got.Mode)
	}
	newData := []byte("new data")
	got = e.upload(t, "POST", path, map[string]string{"Inherit": "on"}, "ignored-name", newData)
	if got.Size != int64(len(newData)) || !got.Owner.Inherit || got.Path != "/opt/hi" || got.Name != "hi.sh" {
		t.Errorf("after replacing the data = %+v", got)
	}
	if a := e.must(e.view, "GET", path+"/download", nil, nil); a.Body != "new data" {
		t.Errorf("download after replace = %q", a.Body)
	}
	if !e.hasEvent(domain.EventAttachmentModified, map[string]string{"ID": string(att.ID)}) {
		t.Errorf("no AttachmentModified event")
	}
	var l []apitype.Attachment
	e.must(e.view, "GET", "/api/attachments", nil, &l)
	if len(l) != 1 {
		t.Errorf("attachments = %+v", l)
	}

	// In use by a script: refused.
	sc := e.mkScript("s")
	sc.AttachmentIDs = []apitype.ID{att.ID}
	e.must(e.oper, "POST", "/api/scripts/script/"+string(sc.ID), sc, nil)
	e.must(e.view, "GET", "/api/scripts/script/"+string(sc.ID)+"/attachments", nil, &l)
	if len(l) != 1 || l[0].ID != att.ID {
		t.Errorf("script attachments = %+v", l)
	}
	e.fails(e.oper, "DELETE", path, nil, 409, `scripts "s"`)
	sc.AttachmentIDs = nil
	e.must(e.oper, "POST", "/api/scripts/script/"+string(sc.ID), sc, nil)
	e.must(e.oper, "DELETE", path, nil, nil)
	e.fails(e.view, "GET", path+"/download", nil, 404, "no attachment with ID")
	if !e.hasEvent(domain.EventAttachmentDeleted, map[string]string{"Name": "hi.sh"}) {
		t.Errorf("no AttachmentDeleted event")
	}
}

// TestAttachmentTooLarge uploads one byte more than the limit.
func TestAttachmentTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 100 MiB")
	}
	e := newEnv(t)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		_ = mw.WriteField("Path", "/big")
		fw, _ := mw.CreateFormFile("file", "big")
		_, _ = io.CopyN(fw, zeros{}, domain.MaxAttachmentSize+1)
		_ = mw.Close()
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("PUT", e.srv.URL+"/api/attachments", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-OTTO-USERNAME", "admin")
	req.Header.Set("X-OTTO-API-KEY", e.admin.key)
	a := e.send(e.srv.Client(), req)
	if a.Status != 400 || !strings.Contains(a.Message(), "larger than the limit of 100 MiB") {
		t.Errorf("upload of 100 MiB + 1 = %d %s, want 400", a.Status, a.Body)
	}
	var l []apitype.Attachment
	e.must(e.view, "GET", "/api/attachments", nil, &l)
	if len(l) != 0 {
		t.Errorf("attachments after a refused upload = %+v", l)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestAttachmentMimeType: the file part's Content-Type is the attachment's
// MimeType, as in 0.x; without one (or with the generic
// application/octet-stream) the type is sniffed from the data. Replacing
// the data replaces the type.
func TestAttachmentMimeType(t *testing.T) {
	e := newEnv(t)
	send := func(method, path, partType string, data []byte) apitype.Attachment {
		t.Helper()
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("Path", "/etc/motd.d/otto")
		h := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="file"; filename="motd.txt"`}}
		if partType != "" {
			h.Set("Content-Type", partType)
		}
		fw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
		mw.Close()
		req, _ := http.NewRequest(method, e.srv.URL+path, &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("X-OTTO-USERNAME", "admin")
		req.Header.Set("X-OTTO-API-KEY", e.admin.key)
		a := e.send(e.srv.Client(), req)
		if a.Status != 200 {
			t.Fatalf("%s %s = %d %s", method, path, a.Status, a.Body)
		}
		var att apitype.Attachment
		a.into(t, &att)
		return att
	}
	att := send("PUT", "/api/attachments", "text/plain", []byte("hello from an attachment\n"))
	if att.MimeType != "text/plain" || att.Mode != 644 {
		t.Errorf("uploaded with text/plain: MimeType %q Mode %d, want text/plain 644", att.MimeType, att.Mode)
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for _, partType := range []string{"", "application/octet-stream"} {
		got := send("POST", "/api/attachments/attachment/"+string(att.ID), partType, png)
		if got.MimeType != "image/png" {
			t.Errorf("data replaced with part type %q: MimeType %q, want the sniffed image/png", partType, got.MimeType)
		}
	}
	// A metadata edit keeps the type.
	var got apitype.Attachment
	e.must(e.admin, "POST", "/api/attachments/attachment/"+string(att.ID), map[string]any{"Name": "logo.png"}, &got)
	if got.MimeType != "image/png" {
		t.Errorf("after a JSON edit MimeType = %q, want image/png kept", got.MimeType)
	}
}
