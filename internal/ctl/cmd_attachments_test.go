package ctl

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

func TestGoldenAttachments(t *testing.T) {
	var b bytes.Buffer
	atts := []apitype.Attachment{
		{ID: "5", Name: "app.conf", Path: "/etc/app.conf", Mode: 640, Owner: apitype.RunAs{UID: 0, GID: 33}, Size: 2300, Modified: t0},
		{ID: "6", Name: "big.tar", Path: "/tmp/big.tar", Mode: 644, Owner: apitype.RunAs{Inherit: true}, Size: 5 << 20, Modified: t0},
	}
	must(t, renderAttachments(&b, atts, gu))
	golden(t, "attachments.golden", b.String())
}

// TestAttachmentsDownloadChecksum checks that a download whose SHA-256
// does not match the server's is an error and leaves no file.
func TestAttachmentsDownloadChecksum(t *testing.T) {
	f := newFakeAPI(t)
	const sum = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // of "hello"
	f.mux.HandleFunc("GET /api/attachments", func(w http.ResponseWriter, r *http.Request) {
		reply(w, []apitype.Attachment{{ID: "1", Name: "good"}, {ID: "2", Name: "bad"}})
	})
	f.mux.HandleFunc("GET /api/attachments/attachment/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, apitype.Attachment{ID: apitype.ID(r.PathValue("id")), Name: "a.txt", Size: 5, Checksum: sum})
	})
	f.mux.HandleFunc("GET /api/attachments/attachment/{id}/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(apiclient.HeaderChecksum, sum)
		if r.PathValue("id") == "2" {
			w.Write([]byte("jello"))
			return
		}
		w.Write([]byte("hello"))
	})
	f.use(t)
	dir := t.TempDir()
	if r := ctlRun(t, "", "attachments", "download", "good", "-o", filepath.Join(dir, "good")); r.code != 0 {
		t.Errorf("download good = %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "good")); string(b) != "hello" {
		t.Errorf("downloaded %q", b)
	}
	r := ctlRun(t, "", "attachments", "download", "bad", "-o", filepath.Join(dir, "bad"))
	if r.code != ExitError || !strings.Contains(r.stderr, "does not match") {
		t.Errorf("download bad = %+v, want a checksum error", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Errorf("a download with a bad checksum left its file: %v", err)
	}
	if r := ctlRun(t, "", "attachments", "download", "good", "-o", "-"); r.code != 0 || r.stdout != "hello" {
		t.Errorf("download to stdout = %+v", r)
	}
}
