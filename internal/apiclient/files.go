package apiclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/otto-automation/otto/internal/apitype"
)

// FormField is one field of a multipart form.
type FormField struct{ Name, Value string }

// Upload sends a multipart form to method path: the fields, then the file
// part "file" named fileName streamed from data (none when data is nil),
// and decodes the answer's data into out.
func (c *Client) Upload(ctx context.Context, method, path string, fields []FormField, fileName string, data io.Reader, out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, f := range fields {
				if err := mw.WriteField(f.Name, f.Value); err != nil {
					return err
				}
			}
			if data != nil {
				fw, err := mw.CreateFormFile("file", fileName)
				if err != nil {
					return err
				}
				if _, err := io.Copy(fw, data); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := c.newRequest(ctx, method, path, pr)
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.send(req)
	if err != nil {
		pr.CloseWithError(err)
		return err
	}
	defer resp.Body.Close()
	return c.decode(req, resp, out)
}

// AttachmentUpload is the metadata of a new attachment.
type AttachmentUpload struct {
	Path string // where hosts get the file; required
	Name string // "": the file's name
	// Mode is the permission bits as octal digits, like "644" or "0600";
	// "": the server's default, 0644.
	Mode string
	// Owner is the file's owner; nil: inherit the script's user.
	Owner *apitype.RunAs
}

// UploadAttachment uploads a new attachment: fileName and data are the
// file, u says where it goes.
func (c *Client) UploadAttachment(ctx context.Context, u AttachmentUpload, fileName string, data io.Reader) (apitype.Attachment, error) {
	fields := []FormField{{"Path", u.Path}}
	if u.Name != "" {
		fields = append(fields, FormField{"Name", u.Name})
	}
	if u.Mode != "" {
		fields = append(fields, FormField{"Mode", u.Mode})
	}
	if u.Owner != nil && !u.Owner.Inherit {
		fields = append(fields, FormField{"Inherit", "false"},
			FormField{"UID", strconv.FormatUint(uint64(u.Owner.UID), 10)},
			FormField{"GID", strconv.FormatUint(uint64(u.Owner.GID), 10)})
	} else {
		fields = append(fields, FormField{"Inherit", "true"})
	}
	var a apitype.Attachment
	err := c.Upload(ctx, http.MethodPut, "/api/attachments", fields, fileName, data, &a)
	return a, err
}

// Download is what DownloadAttachment wrote.
type Download struct {
	Size   int64
	SHA256 string // hex, of the bytes written
}

// ErrChecksum means downloaded bytes do not match their checksum.
var ErrChecksum = errors.New("checksum mismatch")

// DownloadAttachment writes the bytes of attachment id to w. When the
// server sends their SHA-256 (X-OTTO-SHA256), a mismatch is an error
// matching ErrChecksum, returned after everything was written: the caller
// should throw the bytes away then. An error reading the answer or writing
// to w is returned as it is.
func (c *Client) DownloadAttachment(ctx context.Context, id string, w io.Writer) (Download, error) {
	resp, err := c.open(ctx, http.MethodGet, ItemPath("/api/attachments/attachment", id, "download"), nil, "application/octet-stream")
	if err != nil {
		return Download{}, err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	d := Download{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return d, ctxErr
		}
		return d, err
	}
	if want := strings.ToLower(resp.Header.Get(HeaderChecksum)); want != "" && want != d.SHA256 {
		return d, fmt.Errorf("%w: SHA-256 %s does not match the server's %s", ErrChecksum, d.SHA256, want)
	}
	return d, nil
}
