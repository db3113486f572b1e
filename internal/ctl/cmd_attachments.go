package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

func newAttachmentsCommand() *cli.Command {
	return &cli.Command{
		Name:  "attachments",
		Usage: "list, upload, download and remove attachments",
		Description: describe("An attachment is a file that otto places on a host (at its Path, with its owner and\n"+
			"mode) before a script that names it runs.",
			[]string{"ottoctl attachments upload nginx.conf --path /etc/nginx/nginx.conf --mode 0644"}, ""),
		Subcommands: []*cli.Command{
			{
				Name: "ls", Aliases: []string{"list"}, Usage: "list the attachments",
				Description: describe("Lists every attachment.", []string{"ottoctl attachments ls"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 0); err != nil {
						return err
					}
					return runAttachmentsLs(ctx, g, c.App.Writer)
				}),
			},
			{
				Name: "show", Usage: "show one attachment's metadata", ArgsUsage: "ATTACHMENT",
				Description: describe("Shows an attachment by name or ID.", []string{"ottoctl attachments show nginx.conf"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					return runAttachmentsShow(ctx, args[0], g, c.App.Writer)
				}),
			},
			{
				Name: "upload", Usage: "upload a file as a new attachment", ArgsUsage: "FILE",
				Description: describe("Uploads FILE. --path is where hosts get it. Without --uid and --gid it is owned by\n"+
					"the user the script runs as.",
					[]string{"ottoctl attachments upload nginx.conf --path /etc/nginx/nginx.conf --mode 0644 --uid 0 --gid 0"}, ""),
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "path", Usage: "the absolute `PATH` on the host"},
					&cli.StringFlag{Name: "name", Usage: "the attachment's `NAME` (default: the file's name)"},
					&cli.StringFlag{Name: "mode", Usage: "the file's permission bits, octal `MODE` (default 0644)"},
					&cli.StringFlag{Name: "uid", Usage: "owner `UID` (a number)"},
					&cli.StringFlag{Name: "gid", Usage: "group `GID` (a number)"},
				},
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					o := uploadOpts{file: args[0], path: c.String("path"), name: c.String("name"), mode: c.String("mode")}
					for _, f := range []struct {
						flag string
						dst  **uint32
					}{{"uid", &o.uid}, {"gid", &o.gid}} {
						if c.IsSet(f.flag) {
							n, err := parseUint32(c.String(f.flag))
							if err != nil {
								return usagef("--%s %q: %v", f.flag, c.String(f.flag), err)
							}
							*f.dst = &n
						}
					}
					return runAttachmentsUpload(ctx, o, g, c.App.Writer)
				}),
			},
			{
				Name: "download", Usage: "download an attachment's file", ArgsUsage: "ATTACHMENT",
				Description: describe("Downloads the file, checks its SHA-256 against the server's, and writes it to\n"+
					"--output (default: its name, in the current directory; - for stdout). An existing\n"+
					"file is replaced only with --force.",
					[]string{"ottoctl attachments download nginx.conf -o /tmp/nginx.conf"}, ""),
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, TakesFile: true, Usage: "write to `FILE` (- for stdout)"},
					&cli.BoolFlag{Name: "force", Usage: "replace an existing file"},
				},
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, 1); err != nil {
						return err
					}
					return runAttachmentsDownload(ctx, args[0], c.String("output"), c.Bool("force"), g, c.App.Writer)
				}),
			},
			{
				Name: "rm", Aliases: []string{"remove"}, Usage: "remove attachments", ArgsUsage: "ATTACHMENT...",
				Description: describe("Removes attachments.", []string{"ottoctl attachments rm nginx.conf"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 1, -1); err != nil {
						return err
					}
					return runRemove(ctx, attachmentKind(), args, g, c.App.Writer)
				}),
			},
		},
	}
}

func runAttachmentsLs(ctx context.Context, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	atts, err := cl.Attachments(ctx)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, atts)
	case g.quiet:
		return writeIDs(out, idsOf(atts, attachmentKind())...)
	}
	return renderAttachments(out, atts, g)
}

func fmtOwner(o apitype.RunAs) string {
	if o.Inherit {
		return "script's user"
	}
	return fmt.Sprintf("%d:%d", o.UID, o.GID)
}

func renderAttachments(w io.Writer, atts []apitype.Attachment, g *globals) error {
	t := newTable(w, "ID", "NAME", "PATH", "MODE", "OWNER", "SIZE", "MODIFIED")
	for _, a := range atts {
		t.row(string(a.ID), a.Name, a.Path, fmtMode(a.Mode), fmtOwner(a.Owner), fmtSize(a.Size), fmtTime(a.Modified, g.loc))
	}
	return t.flush()
}

func runAttachmentsShow(ctx context.Context, arg string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	a, err := newResolver(cl, attachmentKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(out, a)
	case g.quiet:
		return writeIDs(out, a.ID)
	}
	f := newFields(out)
	f.add("ID", string(a.ID))
	f.add("Name", a.Name)
	f.add("Path", a.Path)
	f.add("Mode", fmtMode(a.Mode))
	f.add("Owner", fmtOwner(a.Owner))
	f.add("Size", fmt.Sprintf("%s (%d bytes)", fmtSize(a.Size), a.Size))
	f.add("SHA-256", a.Checksum)
	f.add("Created", fmtTime(a.Created, g.loc))
	f.add("Modified", fmtTime(a.Modified, g.loc))
	return f.flush()
}

type uploadOpts struct {
	file, path, name, mode string
	uid, gid               *uint32
}

func runAttachmentsUpload(ctx context.Context, o uploadOpts, g *globals, out io.Writer) error {
	if o.path == "" {
		return usagef("--path is required: where hosts get the file, like /etc/app.conf")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	f, err := os.Open(o.file)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return usagef("%s is not a regular file", o.file)
	}
	u := apiclient.AttachmentUpload{Path: o.path, Name: o.name, Mode: o.mode}
	if o.uid != nil || o.gid != nil {
		u.Owner = &apitype.RunAs{UID: deref(o.uid), GID: deref(o.gid)}
	}
	a, err := cl.UploadAttachment(ctx, u, filepath.Base(o.file), f)
	if err != nil {
		return err
	}
	return done(out, g, a, a.ID, "uploaded attachment %s (ID %s, %s)", a.Name, a.ID, fmtSize(a.Size))
}

func runAttachmentsDownload(ctx context.Context, arg, output string, force bool, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	a, err := newResolver(cl, attachmentKind()).get(ctx, arg)
	if err != nil {
		return err
	}
	if output == "" {
		output = filepath.Base(a.Name)
		if output == "." || output == "/" || output == ".." {
			output = "attachment-" + string(a.ID)
		}
	}
	if output == "-" {
		d, err := cl.DownloadAttachment(ctx, string(a.ID), out)
		if err != nil {
			return fmt.Errorf("downloading %s: %w", a.Name, err)
		}
		return checkDownload(a, d)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(output, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return usagef("%s exists; pass --force to replace it, or -o to write elsewhere", output)
	}
	if err != nil {
		return err
	}
	d, err := cl.DownloadAttachment(ctx, string(a.ID), f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkDownload(a, d)
	}
	if err != nil {
		os.Remove(output)
		return fmt.Errorf("downloading %s: %w (nothing kept)", a.Name, err)
	}
	if g.json {
		return writeJSON(out, a)
	}
	if g.quiet {
		return nil
	}
	_, err = fmt.Fprintf(out, "wrote %s (%s)\n", output, fmtSize(d.Size))
	return err
}

// checkDownload checks the bytes downloaded against the attachment's
// metadata (DownloadAttachment checked them against the download's own
// checksum header).
func checkDownload(a apitype.Attachment, d apiclient.Download) error {
	if a.Size > 0 && d.Size != a.Size {
		return fmt.Errorf("got %d bytes, the attachment has %d", d.Size, a.Size)
	}
	if want := strings.ToLower(a.Checksum); want != "" && d.SHA256 != want {
		return fmt.Errorf("SHA-256 %s does not match the server's %s", d.SHA256, want)
	}
	return nil
}
