package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/store"
)

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "write a consistent copy of the database to FILE, while the server runs or not",
		ArgsUsage: "FILE",
		Description: "Asks the server running on --data-dir for a copy through the socket otto.sock in the data\n" +
			"directory or, when no server runs, reads the database itself. FILE is replaced atomically.\n" +
			"Attachment data (the attachments/ directory) is not in the copy; copy that directory too.\n\n" +
			"To restore: stop the server, copy FILE to <data-dir>/otto.db, start the server.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data-dir", Value: DefaultDataDir, EnvVars: []string{"OTTO_DATA_DIR"}, Usage: "the server's data directory"},
			&cli.StringFlag{Name: "config", EnvVars: []string{"OTTO_CONFIG"}, TakesFile: true, Usage: "the server's TOML config file, for its data_dir"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("usage: otto server backup [--data-dir DIR] FILE", 2)
			}
			dir := c.String("data-dir")
			if path := c.String("config"); path != "" && !c.IsSet("data-dir") {
				cfg, err := LoadConfig(path, DefaultConfig())
				if err != nil {
					return err
				}
				dir = cfg.DataDir
			}
			n, how, err := Backup(c.Context, dir, c.Args().First())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %s (%d bytes, %s)\n", c.Args().First(), n, how)
			return nil
		},
	}
}

// Backup writes a consistent copy of the database in dataDir to file,
// atomically: from the running server through its socket, or from the
// database itself when no server runs. It says which way it took.
func Backup(ctx context.Context, dataDir, file string) (int64, string, error) {
	if _, err := os.Stat(filepath.Join(dataDir, "otto.db")); err != nil {
		return 0, "", fmt.Errorf("no otto database in %s: %w", dataDir, err)
	}
	sock := filepath.Join(dataDir, SocketName)
	n, err := writeAtomic(file, func(w io.Writer) (int64, error) { return backupFromServer(ctx, sock, w) })
	if err == nil {
		return n, "from the running server", nil
	}
	if !errors.Is(err, errNoServer) {
		return 0, "", err
	}
	st, err := store.Open(dataDir, store.Options{Timeout: time.Second})
	if errors.Is(err, domain.ErrInUse) {
		return 0, "", fmt.Errorf("a server holds %s but does not answer on %s; use GET /api/backup as an admin", dataDir, sock)
	}
	if err != nil {
		return 0, "", err
	}
	defer st.Close()
	n, err = writeAtomic(file, func(w io.Writer) (int64, error) { return st.Backup(ctx, w) })
	return n, "from the database file, no server running", err
}

var errNoServer = errors.New("no server on the socket")

func backupFromServer(ctx context.Context, sock string, w io.Writer) (int64, error) {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://otto/backup", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return 0, errNoServer
		}
		return 0, fmt.Errorf("asking the server for a backup through %s: %w", sock, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("the server refused the backup: %s: %s", resp.Status, msg)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("the backup stream broke off after %d bytes: %w", n, err)
	}
	return n, nil
}

// writeAtomic writes file through fill: into a temporary file beside it,
// synced, then renamed over file, so file is either the old one or the
// whole new one.
func writeAtomic(file string, fill func(io.Writer) (int64, error)) (int64, error) {
	if fi, err := os.Lstat(file); err == nil && !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%s exists and is not a regular file", file)
	}
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, ".otto-backup-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	n, err := fill(tmp)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return n, err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return n, nil
}
