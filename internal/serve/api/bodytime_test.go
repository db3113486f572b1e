package api

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSlowBodyCutOff sends a request whose body trickles in: the server
// gives up on it after the body time instead of holding the handler, and a
// prompt request on another connection is answered meanwhile.
func TestSlowBodyCutOff(t *testing.T) {
	e := newEnv(t)
	e.api.bodyTime = [2]time.Duration{300 * time.Millisecond, 300 * time.Millisecond}
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /api/groups/group HTTP/1.1\r\nHost: x\r\nX-OTTO-USERNAME: admin\r\nX-OTTO-API-KEY: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Name\"", e.admin.key)
	start := time.Now()
	done := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		done <- line
	}()
	for i := 0; ; i++ {
		select {
		case line := <-done:
			if !strings.Contains(line, "400") && line != "" {
				t.Errorf("slow body answered %q, want 400 or a closed connection", line)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("slow body held for %v, want about 300ms", d)
			}
			e.must(e.admin, "GET", "/api/groups", nil, nil)
			return
		case <-time.After(100 * time.Millisecond):
			if i > 100 {
				t.Fatal("slow body still held after 10 s")
			}
			conn.Write([]byte(" ")) // a byte now and then, never the whole body
		}
	}
}
