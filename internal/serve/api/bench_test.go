package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
)

// Seed10k fills a store with 10,000 hosts in 100 groups, in batches of
// 1,000 per transaction.
func seed10k(tb testing.TB, st domain.Store) {
	tb.Helper()
	ctx := context.Background()
	var groups []string
	err := st.Update(ctx, func(tx domain.Tx) error {
		for i := len(groups); len(groups) < 100; i++ {
			g := domain.Group{Name: fmt.Sprintf("group-%03d", i)}
			gs, _ := tx.Groups()
			if len(gs) > 0 && i == 0 {
				groups = append(groups, gs[0].ID)
				continue
			}
			if err := tx.PutGroup(&g); err != nil {
				return err
			}
			groups = append(groups, g.ID)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC()
	for batch := 0; batch < 10; batch++ {
		err := st.Update(ctx, func(tx domain.Tx) error {
			for i := batch * 1000; i < (batch+1)*1000; i++ {
				h := domain.Host{Name: fmt.Sprintf("host-%05d.example.com", i), Address: fmt.Sprintf("127.%d.%d.%d", i>>16, i>>8&255, i&255),
					Port: 12444, PSK: fmt.Sprintf("psk-%040d", i), GroupIDs: []string{groups[i%100]}, Enabled: true, Created: now, LastPSKRotate: now,
					Environment: domain.Environment{{Key: "ROLE", Value: "web"}, {Key: "TOKEN", Value: "secret", Secret: true}}}
				if err := tx.PutHost(&h); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkListHosts10k is GET /api/hosts with 10,000 hosts in 100 groups,
// over HTTP, as an admin with an API key. Budget: 100 ms.
func BenchmarkListHosts10k(b *testing.B) {
	e := newEnv(b)
	seed10k(b, e.svc.Store)
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/hosts", nil)
	req.Header.Set("X-OTTO-USERNAME", "admin")
	req.Header.Set("X-OTTO-API-KEY", e.admin.key)
	var size int64
	b.ResetTimer()
	for b.Loop() {
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		size, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/list")
	b.ReportMetric(float64(size)/(1<<20), "MiB/answer")
}
