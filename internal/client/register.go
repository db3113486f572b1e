package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/exec"
	"github.com/otto-automation/otto/internal/sysinfo"
	"github.com/otto-automation/otto/internal/version"
	"github.com/otto-automation/otto/internal/wire"
)

// Registration settings come from the environment, as with 0.x clients, so
// that an image or a provisioning script can register a fresh host.
const (
	envRegisterHost    = "REGISTER_HOST"                // the server: https://otto.example.com, or host[:port] for https
	envRegisterKey     = "REGISTER_KEY"                 // the server's registration key
	envNoTLSVerify     = "REGISTER_NO_TLS_VERIFY"       // set (not "0" or "false") to skip certificate checks
	envDontExit        = "REGISTER_DONT_EXIT_ON_FINISH" // set to serve as the daemon after registering
	envClientPort      = "OTTO_CLIENT_PORT"             // the port to listen on and announce, default 12444
	defaultClientPort  = 12444
	registerTimeout    = time.Minute // the whole registration request
	maxRegisterReplyMB = 1 << 10     // MiB; first-run scripts may carry attachments
)

// registration is a self-registration to perform.
type registration struct {
	server      string // the server's URL, without a trailing slash
	key         string
	port        uint16
	noTLSVerify bool
	dontExit    bool
}

// registrationFromEnv reads the registration settings. It returns nil when
// neither REGISTER_HOST nor REGISTER_KEY is set.
func registrationFromEnv(getenv func(string) string) (*registration, error) {
	host, key := getenv(envRegisterHost), getenv(envRegisterKey)
	switch {
	case host == "" && key == "":
		return nil, nil
	case host == "":
		return nil, fmt.Errorf("%s is set but %s is not; set both to register with a server", envRegisterKey, envRegisterHost)
	case key == "":
		return nil, fmt.Errorf("%s is set but %s is not; set both to register with a server", envRegisterHost, envRegisterKey)
	}
	r := &registration{key: key, port: defaultClientPort, noTLSVerify: envTrue(getenv(envNoTLSVerify)), dontExit: envTrue(getenv(envDontExit))}
	if p := getenv(envClientPort); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("%s=%q is not a port; give a number from 1 to 65535", envClientPort, p)
		}
		r.port = uint16(n)
	}
	base := strings.TrimRight(host, "/")
	if !strings.Contains(base, "://") {
		base = "https://" + base // a server reached over the network should use TLS
	}
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return nil, fmt.Errorf("%s=%q: use an http:// or https:// URL, or host[:port] for https", envRegisterHost, host)
	}
	r.server = base
	return r, nil
}

func envTrue(v string) bool {
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// register registers this host with the server. It returns the server's
// answer and the address to listen on: every address of the family that
// reached the server, on r.port.
func register(ctx context.Context, r *registration) (wire.RegisterResponse, string, error) {
	// A property that cannot be read is sent empty: the server may still
	// take the host, and refusing to register would strand it.
	info, _ := sysinfo.Get()
	req := wire.RegisterRequest{
		Key:  r.key,
		Port: uint32(r.port),
		Properties: wire.RegisterRequestProperties{
			Hostname:            info.Hostname,
			KernelName:          info.KernelName,
			KernelVersion:       info.KernelVersion,
			DistributionName:    info.DistributionName,
			DistributionVersion: info.DistributionVersion,
		},
	}
	cl, err := apiclient.New(r.server, apiclient.Options{
		Insecure:  r.noTLSVerify,
		UserAgent: "otto-client/" + version.Version,
		Header:    http.Header{wire.RegisterProtoHeader: {strconv.FormatUint(uint64(wire.ProtocolVersion), 10)}},
		MaxAnswer: maxRegisterReplyMB << 20,
	})
	if err != nil {
		return wire.RegisterResponse{}, "", fmt.Errorf("registering with %s: %w", r.server, err)
	}
	defer cl.CloseIdleConnections()

	var local net.Addr
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { local = info.Conn.LocalAddr() },
	})
	ctx, cancel := context.WithTimeout(ctx, registerTimeout)
	defer cancel()
	var rr wire.RegisterResponse
	if err := cl.Do(ctx, http.MethodPut, "/api/register", req, &rr); err != nil {
		var ae *apiclient.Error
		if errors.As(err, &ae) {
			return wire.RegisterResponse{}, "", fmt.Errorf("registering with %s: the server answered %d: %s", r.server, ae.Status, ae.Message)
		}
		return wire.RegisterResponse{}, "", fmt.Errorf("registering with %s: %w", r.server, err)
	}
	if rr.PSK == "" {
		return wire.RegisterResponse{}, "", fmt.Errorf("registering with %s: the server answered without a PSK", r.server)
	}
	return rr, listenAddrFor(local, r.port), nil
}

// listenAddrFor returns the wildcard address of local's family on port:
// the server will dial back the address it saw, which is of that family.
func listenAddrFor(local net.Addr, port uint16) string {
	if tcp, ok := local.(*net.TCPAddr); ok {
		if a := tcp.AddrPort().Addr(); a.Is6() && !a.Is4In6() {
			return netip.AddrPortFrom(netip.IPv6Unspecified(), port).String()
		}
	}
	return netip.AddrPortFrom(netip.IPv4Unspecified(), port).String()
}

// selfRegister registers, writes the config with the PSK the server gave,
// and runs the server's first-run scripts one after the other.
func selfRegister(ctx context.Context, log *slog.Logger, r *registration, configPath string, stdout io.Writer) error {
	log.Info("registering", slog.String("url", r.server))
	rr, listen, err := register(ctx, r)
	if err != nil {
		return err
	}
	cfg := Config{ListenAddr: listen, PSK: PSK(rr.PSK)}
	if err := cfg.check(); err != nil {
		return fmt.Errorf("registered, but: %w", err)
	}
	if err := SaveConfig(configPath, cfg); err != nil {
		return fmt.Errorf("registered, but %w", err)
	}
	fmt.Fprintf(stdout, "registered with %s; wrote %s (listening on %s)\n", r.server, configPath, listen)
	log.Info("registered", slog.String(keyConfig, configPath), slog.String(keyAddr, listen))

	failed := 0
	for _, s := range rr.Scripts {
		var res exec.Result
		job, err := jobFor(s, cfg)
		if err != nil {
			res = exec.Result{ExitCode: -1, Err: err}
		} else {
			res = exec.Run(ctx, job, nil)
		}
		sr := scriptResult(res)
		fmt.Fprintf(stdout, "first-run script %q %s\n", s.Name, sr)
		if !sr.Success {
			failed++
			log.Warn("first-run script failed", slog.String(keyScript, s.Name), slog.Int(keyCode, sr.Code),
				slog.String("exec_error", sr.ExecError), slog.String("stderr", sr.Stderr))
		}
	}
	if failed > 0 {
		// The host is registered and configured; a failed script is for
		// the user to look at, not a reason to register again.
		log.Warn("some first-run scripts failed", slog.Int("failed", failed), slog.Int("scripts", len(rr.Scripts)))
	}
	if ctx.Err() != nil {
		return errors.New("interrupted while running the first-run scripts")
	}
	return nil
}
