package store_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/store"
	"github.com/otto-automation/otto/internal/serve/storetest"
)

var benchTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// benchHost is a host as registration creates them: a name, an address,
// a PSK, a group and a little environment.
func benchHost(i int, groupID string) domain.Host {
	return domain.Host{
		Name:          fmt.Sprintf("host%05d.example.com", i),
		Address:       fmt.Sprintf("127.%d.%d.%d", i>>16&255, i>>8&255, i&255),
		Port:          12444,
		PSK:           fmt.Sprintf("%044d", i),
		LastPSKRotate: benchTime,
		GroupIDs:      []string{groupID},
		Environment:   domain.Environment{{Key: "DATACENTER", Value: "fra1"}, {Key: "ROLE", Value: "web"}},
		Enabled:       true,
		Created:       benchTime,
	}
}

// reportCPU, deferred before a benchmark's loop, adds the process's CPU
// time per operation to its results: on a shared machine that varies
// less than the wall clock, but counts every goroutine.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64(cpu()-start)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// withHosts opens a store holding n hosts in 10 groups.
func withHosts(b *testing.B, n int) *store.Store {
	s := storetest.Open(b)
	err := s.Update(context.Background(), func(tx domain.Tx) error {
		var groups []string
		for i := range 10 {
			g := domain.Group{Name: fmt.Sprint("group", i)}
			if err := tx.PutGroup(&g); err != nil {
				return err
			}
			groups = append(groups, g.ID)
		}
		for i := range n {
			h := benchHost(i, groups[i%len(groups)])
			if err := tx.PutHost(&h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkHosts10k(b *testing.B) {
	s := withHosts(b, 10000)
	defer reportCPU(b)()
	for b.Loop() {
		err := s.View(context.Background(), func(tx domain.Tx) error {
			hosts, err := tx.Hosts()
			if len(hosts) != 10000 {
				return fmt.Errorf("%d hosts", len(hosts))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostByName10k compares the index with the scan it replaces.
func BenchmarkHostByName10k(b *testing.B) {
	s := withHosts(b, 10000)
	const name = "host05000.example.com"
	b.Run("index", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			err := s.View(context.Background(), func(tx domain.Tx) error {
				_, err := tx.HostByName(name)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			err := s.View(context.Background(), func(tx domain.Tx) error {
				hosts, err := tx.Hosts()
				for _, h := range hosts {
					if h.Name == name {
						return err
					}
				}
				return fmt.Errorf("%s not found", name)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPutHostStatus1000Batch writes a sweep's results over 1000
// hosts in one transaction.
func BenchmarkPutHostStatus1000Batch(b *testing.B) {
	s := withHosts(b, 1000)
	props := map[string]string{
		"hostname": "host", "kernel_name": "Linux", "kernel_version": "6.12.0",
		"distribution_name": "debian", "distribution_version": "13",
	}
	defer reportCPU(b)()
	for b.Loop() {
		err := s.Update(context.Background(), func(tx domain.Tx) error {
			for id := range 1000 {
				err := tx.PutHostStatus(domain.HostStatus{
					HostID: strconv.Itoa(id + 1), Address: "127.0.0.1", IsReachable: true,
					LastAttempt: benchTime, LastReply: benchTime, Version: "2.0.0", Properties: props,
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutHost inserts one host per transaction: mostly the fsync.
func BenchmarkPutHost(b *testing.B) {
	s := withHosts(b, 0)
	i := 0
	defer reportCPU(b)()
	for b.Loop() {
		h := benchHost(i, "1")
		i++
		if err := s.Update(context.Background(), func(tx domain.Tx) error { return tx.PutHost(&h) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRuns10k lists from 10,000 runs of 8 KiB output each: listing
// reads only the summaries.
func BenchmarkRuns10k(b *testing.B) {
	s := storetest.Open(b)
	out := strings.Repeat("output line\n", 4096/12)
	err := s.Update(context.Background(), func(tx domain.Tx) error {
		for i := range 10000 {
			r := domain.Run{
				BatchID: fmt.Sprint("batch", i/100), ScriptID: strconv.Itoa(i%20 + 1), ScriptName: "deploy",
				HostID: strconv.Itoa(i%1000 + 1), HostName: fmt.Sprintf("host%05d.example.com", i%1000),
				StartedBy: "admin", State: domain.RunDone, Started: benchTime, Finished: benchTime,
				Duration: time.Second, Success: true, Stdout: out, Stderr: out,
			}
			if err := tx.PutRun(&r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		f    domain.RunFilter
		want int
	}{
		{"all", domain.RunFilter{}, 10000},
		{"page", domain.RunFilter{Limit: 50}, 50},
		{"host", domain.RunFilter{HostID: "7"}, 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				err := s.View(context.Background(), func(tx domain.Tx) error {
					runs, err := tx.Runs(bc.f)
					if len(runs) != bc.want {
						return fmt.Errorf("%d runs, want %d", len(runs), bc.want)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
