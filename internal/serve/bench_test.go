package serve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/store"
)

// seedDataDir makes a data directory holding 10,000 hosts in 100 groups
// and the admin user, written in batches of 1,000.
func seedDataDir(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	svc := &domain.Service{Store: st, Passwords: auth.DefaultArgon2id}
	if _, err := svc.Bootstrap(ctx, testAdminPassword, false); err != nil {
		b.Fatal(err)
	}
	groups := []string{"1"}
	err = st.Update(ctx, func(tx domain.Tx) error {
		for i := 1; i < 100; i++ {
			g := domain.Group{Name: fmt.Sprintf("group-%03d", i)}
			if err := tx.PutGroup(&g); err != nil {
				return err
			}
			groups = append(groups, g.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	for batch := 0; batch < 10; batch++ {
		err := st.Update(ctx, func(tx domain.Tx) error {
			for i := batch * 1000; i < (batch+1)*1000; i++ {
				h := domain.Host{Name: fmt.Sprintf("host-%05d.example.com", i), Address: fmt.Sprintf("127.%d.%d.%d", i>>16, i>>8&255, i&255),
					Port: 12444, PSK: fmt.Sprintf("psk-%040d", i), GroupIDs: []string{groups[i%100]}, Enabled: true, Created: now, LastPSKRotate: now,
					Environment: domain.Environment{{Key: "ROLE", Value: "web"}}}
				if err := tx.PutHost(&h); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// rssMiB reads a process's resident set size from /proc (Linux only).
func rssMiB(pid int) (float64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024, err == nil
		}
	}
	return 0, false
}

// BenchmarkServer10k starts the real binary on a data directory of 10,000
// hosts in 100 groups and reports its start-up time (process start to the
// listening line), the time of GET /api/hosts (the server's answer, read
// but not decoded), and its RSS after eleven such lists.
// Budgets: start-up 2 s, list 100 ms, RSS 150 MiB.
func BenchmarkServer10k(b *testing.B) {
	dir := seedDataDir(b)
	var startup, list time.Duration
	var rssMax float64
	for b.Loop() {
		t0 := time.Now()
		p := startServer(b, dir)
		startup += time.Since(t0)
		c := login(b, p.url)
		if n := len(c.hosts()); n != 10000 {
			b.Fatalf("GET /api/hosts = %d hosts, want 10000", n)
		}
		t1 := time.Now()
		for range 10 {
			if status, body, err := c.do("GET", "/api/hosts", nil); status != 200 || err != nil {
				b.Fatalf("GET /api/hosts = %d %.100s %v", status, body, err)
			}
		}
		list += time.Since(t1) / 10
		if runtime.GOOS == "linux" {
			if m, ok := rssMiB(p.cmd.Process.Pid); ok {
				rssMax = max(rssMax, m)
			}
		}
		resp, err := http.Get(p.url + "/api/state")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err := p.stop(syscall.SIGTERM); err != nil {
			b.Fatalf("SIGTERM: %v", err)
		}
	}
	b.ReportMetric(float64(startup.Milliseconds())/float64(b.N), "ms-startup")
	b.ReportMetric(float64(list.Milliseconds())/float64(b.N), "ms-list")
	if rssMax > 0 {
		b.ReportMetric(rssMax, "MiB-rss")
	}
}
