package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
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

func (e *env) upload(t testing.TB, method, path string, fields map[string]string, filename string, data []byte) domain.Attachment {
	t.Helper()
	a := e.uploadReq(e.admin, method, path, fields, filename, data)
	if a.Status != 200 {
		t.Fatalf("%s %s = %d %s", method, path, a.Status, a.Body)
	}
	var att domain.Attachment
	a.into(t, &att)
	return att
}

func TestAttachments(t *testing.T) {
	e := newEnv(t)
	data := []byte("#!/bin/sh\necho hi\n")
	att := e.upload(t, "PUT", "/api/attachments", map[string]string{"Path": "/usr/local/bin/hi", "UID": "0", "GID": "0", "Inherit": "false", "Mode": "0755"}, "hi.sh", data)
	sum := sha256.Sum256(data)
	if att.Name != "hi.sh" || att.Path != "/usr/local/bin/hi" || att.Mode != 0o755 || att.Owner.Inherit || att.Size != int64(len(data)) || att.Checksum != hex.EncodeToString(sum[:]) {
		t.Errorf("uploaded = %+v", att)
	}
	if !e.hasEvent(domain.EventAttachmentAdded, map[string]string{"Name": "hi.sh"}) {
		t.Errorf("no AttachmentAdded event")
	}
	path := "/api/attachments/attachment/" + itoa(att.ID)
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
	var got domain.Attachment
	e.must(e.oper, "POST", path, map[string]any{"Path": "/opt/hi", "Mode": 0o700}, &got)
	if got.Path != "/opt/hi" || got.Mode != 0o700 || got.Size != int64(len(data)) {
		t.Errorf("after JSON edit = %+v", got)
	}
	newData := []byte("new data")
	got = e.upload(t, "POST", path, map[string]string{"Inherit": "on"}, "ignored-name", newData)
	if got.Size != int64(len(newData)) || !got.Owner.Inherit || got.Path != "/opt/hi" || got.Name != "hi.sh" {
		t.Errorf("after replacing the data = %+v", got)
	}
	if a := e.must(e.view, "GET", path+"/download", nil, nil); a.Body != "new data" {
		t.Errorf("download after replace = %q", a.Body)
	}
	if !e.hasEvent(domain.EventAttachmentModified, map[string]string{"ID": itoa(att.ID)}) {
		t.Errorf("no AttachmentModified event")
	}
	var l []domain.Attachment
	e.must(e.view, "GET", "/api/attachments", nil, &l)
	if len(l) != 1 {
		t.Errorf("attachments = %+v", l)
	}

	// In use by a script: refused.
	sc := e.mkScript("s")
	sc.AttachmentIDs = []int64{att.ID}
	e.must(e.oper, "POST", "/api/scripts/script/"+itoa(sc.ID), sc, nil)
	e.must(e.view, "GET", "/api/scripts/script/"+itoa(sc.ID)+"/attachments", nil, &l)
	if len(l) != 1 || l[0].ID != att.ID {
		t.Errorf("script attachments = %+v", l)
	}
	e.fails(e.oper, "DELETE", path, nil, 409, `scripts "s"`)
	sc.AttachmentIDs = nil
	e.must(e.oper, "POST", "/api/scripts/script/"+itoa(sc.ID), sc, nil)
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
	var l []domain.Attachment
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
