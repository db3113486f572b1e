package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/otto-automation/otto/internal/client"
	"github.com/otto-automation/otto/internal/wire"
)

// clientsStopTimeout bounds the wait for the in-process clients to stop:
// a daemon gives running actions 10 s, then cancels them (5 s more).
const clientsStopTimeout = 30 * time.Second

// benchClient is one client daemon running in this process.
type benchClient struct {
	name   string
	port   uint32
	psk    string // the PSK it started with
	config string // its config file; PSK updates land there
}

// currentPSK reads the PSK the client holds now from its config file.
func (c *benchClient) currentPSK() (string, error) {
	cfg, err := client.LoadConfig(c.config)
	if err != nil {
		return "", err
	}
	return string(cfg.PSK), nil
}

// fleet is a set of client daemons in this process.
type fleet struct {
	clients []*benchClient
	stop    context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
}

// clientOptions change how startFleet runs clients.
type clientOptions struct {
	perFrame bool         // derive the key for every frame (needs PerFrameBuilt)
	log      *slog.Logger // the daemons' log; nil discards
}

// newPSK returns a random PSK, as the server makes them.
func newPSK() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// startFleet starts n client daemons, each on its own 127.0.0.1 listener
// with its own config file under dir and its own PSK, and derives their
// keys (unless per frame) with one worker per CPU, as each "otto client"
// does at its start.
func startFleet(ctx context.Context, dir, prefix string, n int, opts clientOptions) (*fleet, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &fleet{stop: cancel}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.close()
			return nil, fmt.Errorf("client %d of %d: %w (raise the open files limit?)", i+1, n, err)
		}
		port := uint32(ln.Addr().(*net.TCPAddr).Port)
		c := &benchClient{
			name:   fmt.Sprintf("%s-%05d", prefix, i),
			port:   port,
			psk:    newPSK(),
			config: filepath.Join(dir, fmt.Sprintf("client-%05d.toml", i)),
		}
		// A config as "otto client setup" writes it; only 127.0.0.1 may
		// connect. Written plainly: this is setup, and PSK updates go
		// through the client's own atomic write.
		toml := fmt.Sprintf("listen_addr = %q\npsk = %q\nallow_from = [\"127.0.0.1\"]\n", ln.Addr().String(), c.psk)
		if err := os.WriteFile(c.config, []byte(toml), 0o600); err != nil {
			ln.Close()
			f.close()
			return nil, err
		}
		f.clients = append(f.clients, c)
		so := client.ServeOptions{ConfigPath: c.config, Logger: opts.log}
		if opts.perFrame {
			derivePerFrame(&so)
		}
		f.wg.Go(func() {
			status, err := client.Serve(ctx, ln, so)
			if err == nil && status != 0 {
				err = fmt.Errorf("exited with status %d", status)
			}
			if err != nil {
				f.mu.Lock()
				f.errs = append(f.errs, fmt.Errorf("client %s: %w", c.name, err))
				f.mu.Unlock()
			}
		})
	}
	if !opts.perFrame {
		psks := make(chan string)
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for psk := range psks {
					wire.KeyFor(psk)
				}
			})
		}
		for _, c := range f.clients {
			psks <- c.psk
		}
		close(psks)
		wg.Wait()
	}
	return f, nil
}

// close stops every daemon and waits for them (bounded).
func (f *fleet) close() error {
	f.stop()
	done := make(chan struct{})
	go func() {
		f.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(clientsStopTimeout):
		return fmt.Errorf("clients did not stop within %s", clientsStopTimeout)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		return fmt.Errorf("%d clients failed, the first: %w", len(f.errs), f.errs[0])
	}
	return nil
}

// raiseFileLimit raises this process's open files limit to its hard limit
// and returns the new soft limit: each client holds a listener, and each
// exchange a connection.
func raiseFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return lim.Cur
}

// fdsNeeded is a rough count of descriptors n clients need: a listener
// each, a connection each during a fan-out, and room for the harness.
func fdsNeeded(n int) uint64 { return uint64(2*n + 512) }

// checkFileLimit fails early when n clients cannot fit.
func checkFileLimit(n int) error {
	have := raiseFileLimit()
	if have != 0 && have < fdsNeeded(n) {
		return fmt.Errorf("%d clients need about %d open files; the limit is %d (ulimit -n)", n, fdsNeeded(n), have)
	}
	return nil
}

// itoa is strconv.Itoa for int64.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
