package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/testbin"
)

// TestPSKUpdateCrash kills a client (kill -9) at each step of a PSK update:
// with the new config file written but not yet renamed into place, and
// with it in place but the acknowledgement not yet sent. Restarted, the
// client holds its old PSK or the new one; the server, which never saw the
// acknowledgement and kept the new PSK pending, reaches it with one of the
// two and settles on the one the client holds.
func TestPSKUpdateCrash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		step     string // the client's hang point (OTTO_CLIENT_TEST_HANG_AT)
		keepsOld bool   // the client holds its old PSK after the restart
	}{
		{"psk-rename", true},
		{"psk-answer", false},
	} {
		t.Run(tc.step, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			srv := env.StartServer()
			srv.SetOptions(map[string]any{"Network": map[string]any{"Timeout": 2}})

			// A fixed port, so that the restarted client listens where the
			// server looks for it.
			oldPSK := "psk-" + randomHex(16)
			config := filepath.Join(env.dir, "crash.toml")
			cfg := fmt.Sprintf("listen_addr = \"127.0.0.1:%d\"\npsk = %q\nallow_from = [\"127.0.0.0/8\"]\n", freePort(t), oldPSK)
			if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			// The knob is only in a test build (testbin.Tag); the server
			// and the restarted client are the release binary.
			cl := &client{Name: "crash", ConfigPath: config, PSK: oldPSK}
			cl.proc = env.startBin(testbin.OttoTest(t), cl.Name, []string{"OTTO_CLIENT_TEST_HANG_AT=" + tc.step}, "client", "--config", config)
			cl.awaitListening()

			// A host added by hand gets a new PSK at its first contact: the
			// client hangs at the step, the server waits in vain for the
			// acknowledgement and keeps the new PSK pending.
			h := srv.MustAddHost(cl)
			srv.Heartbeat(h.ID)
			cl.awaitLog(regexp.MustCompile(`msg="hanging for a test" step=` + tc.step))
			cl.Kill()
			if got := srv.Host(h.ID).PSK; got != oldPSK {
				t.Fatalf("the server holds PSK %q after an unacknowledged rotation, want the old one", got)
			}

			held := cl.ConfigPSK()
			if (held == oldPSK) != tc.keepsOld {
				t.Fatalf("after the kill the config holds the old PSK: %v, want %v", held == oldPSK, tc.keepsOld)
			}
			restarted := env.StartClient(withConfig(config))
			st := srv.AwaitHeartbeat(h)
			if !st.IsReachable {
				t.Fatalf("the restarted client is unreachable: %s", st.Error)
			}
			// Settled on the client's PSK: at once when the client took the
			// new one, within the pending grace when it kept the old one.
			waitFor(t, 3*time.Minute, "the server's PSK to be the client's", func() (bool, string) {
				got := srv.Host(h.ID).PSK
				return got == restarted.ConfigPSK(), fmt.Sprintf("server %q, client %q", got, restarted.ConfigPSK())
			})
			if st := srv.Heartbeat(h.ID); !st.IsReachable {
				t.Errorf("after settling, the client is unreachable: %s", st.Error)
			}
		})
	}
}
