package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/otto-automation/otto/internal/exec"
	"github.com/otto-automation/otto/internal/sysinfo"
	"github.com/otto-automation/otto/internal/version"
	"github.com/otto-automation/otto/internal/wire"
)

// exchange is one request on one connection and its answer.
type exchange struct {
	d    *daemon
	conn net.Conn
	key  frameKey // the PSK the request came under; every answer uses it
	cfg  Config   // the config when the request came
}

// actionName names an action for the log; "" for one protocol 2 lacks.
func actionName(a uint32) string {
	switch a {
	case wire.ActionRunScript:
		return "run script"
	case wire.ActionReloadConfig:
		return "reload config"
	case wire.ActionUploadFile:
		return "upload file"
	case wire.ActionUploadFileAndExit:
		return "upload file and exit"
	case wire.ActionExit:
		return "exit"
	case wire.ActionReboot:
		return "reboot"
	case wire.ActionShutdown:
		return "shutdown"
	case wire.ActionUpdatePSK:
		return "update psk"
	}
	return ""
}

func (x *exchange) heartbeat() {
	props, err := sysinfo.Properties()
	if err != nil {
		// Send what there is: a host missing one property is still alive.
		x.d.log.Warn("reading host properties", attrErr(err))
	}
	resp := wire.MessageHeartbeatResponse{ClientVersion: version.Version, Properties: props}
	if err := x.write(wire.MessageTypeHeartbeatResponse, resp); err != nil {
		x.d.log.Warn("answering a heartbeat", attrRemote(x.conn), attrErr(err))
		return
	}
	x.d.log.Debug("answered a heartbeat", attrRemote(x.conn))
}

// trigger performs an action and answers it.
func (x *exchange) trigger(m wire.MessageTriggerAction) {
	name := actionName(m.Action)
	if name == "" {
		x.d.log.Warn("refused an unknown action", attrRemote(x.conn), slog.Uint64(keyAction, uint64(m.Action)))
		x.answer(fmt.Errorf("unknown action %d; this client (otto %s) knows actions 1 to 8", m.Action, version.Version))
		return
	}
	log := x.d.log.With(attrRemote(x.conn), slog.String(keyAction, name))
	log.Info("action requested")
	switch m.Action {
	case wire.ActionRunScript:
		x.runScript(log, m.Script)
	case wire.ActionReloadConfig:
		x.answerLogged(log, x.d.reload())
	case wire.ActionUploadFile:
		x.answerLogged(log, placeFile(m.File))
	case wire.ActionUploadFileAndExit:
		err := placeFile(m.File)
		x.answerLogged(log, err)
		if err == nil {
			x.conn.Close()
			x.d.requestExit(ExitRestart)
		}
	case wire.ActionExit:
		x.answerLogged(log, nil)
		x.conn.Close()
		x.d.requestExit(0)
	case wire.ActionReboot, wire.ActionShutdown:
		argv := powerCommand(m.Action, x.cfg)
		x.answerLogged(log, nil)
		x.conn.Close()
		runPower(x.d.actions, log, argv)
	case wire.ActionUpdatePSK:
		// The answer goes out under the old key, x.key; the new one
		// serves the next connection.
		x.answerLogged(log, x.d.updatePSK(m.NewPSK))
	}
}

// answer sends the ActionResult that ends a non-script action as a 0.x
// client does: a zero ScriptResult for success (Success stays false), err
// in ExecError for a failure. The Error field stays nil: deployed peers
// cannot decode any error value in it.
func (x *exchange) answer(err error) error {
	r := wire.MessageActionResult{ClientVersion: version.Version}
	if err != nil {
		r.ScriptResult.ExecError = err.Error()
	}
	return x.write(wire.MessageTypeActionResult, r)
}

func (x *exchange) answerLogged(log *slog.Logger, err error) {
	if err != nil {
		log.Warn("action failed", attrErr(err))
	} else {
		log.Info("action done")
	}
	if werr := x.answer(err); werr != nil {
		log.Warn("answering the action", attrErr(werr))
	}
}

func (x *exchange) write(typ uint32, msg any) error {
	x.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return x.key.get().WriteMessage(typ, msg, x.conn)
}

// runScript runs a script and streams its progress: a Keepalive at once
// and whenever nothing else went out for keepaliveEvery, an ActionOutput
// when the output grew (at most every 50 ms), and the ActionResult at the
// end. A CancelAction from the server stops the script. If the server goes
// away the script still runs to its end, and its result is logged.
func (x *exchange) runScript(log *slog.Logger, s wire.Script) {
	log = log.With(slog.String(keyScript, s.Name))
	out := &sender{conn: x.conn, key: x.key}
	out.send(wire.MessageTypeKeepalive, nil)
	stopKeepalive := out.keepalive(keepaliveEvery)

	ctx, cancel := context.WithCancel(x.d.actions)
	defer cancel()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		x.awaitCancel(log, cancel)
	}()

	var res exec.Result
	job, err := jobFor(s, x.cfg)
	if err != nil {
		res = exec.Result{ExitCode: -1, Err: err}
	} else {
		res = exec.Run(ctx, job, func(stdout, stderr []byte) {
			out.send(wire.MessageTypeActionOutput, wire.MessageActionOutput{Stdout: stdout, Stderr: stderr})
		})
	}
	stopKeepalive()

	result := wire.MessageActionResult{ScriptResult: scriptResult(res), ClientVersion: version.Version}
	err = out.send(wire.MessageTypeActionResult, result)
	if errors.Is(err, wire.ErrFrameTooLarge) {
		fitResult(&result.ScriptResult)
		err = out.send(wire.MessageTypeActionResult, result)
	}
	attrs := []any{slog.Int(keyCode, res.ExitCode), attrElapsed(res.Elapsed)}
	switch {
	case res.Err != nil:
		log.Warn("script did not run", append(attrs, attrErr(res.Err))...)
	case res.Canceled:
		log.Info("script canceled", attrs...)
	default:
		log.Info("script finished", attrs...)
	}
	if err != nil {
		log.Warn("sending the script's result", attrErr(err))
	}
	x.conn.Close() // ends awaitCancel's read
	<-readerDone
}

// awaitCancel reads the frames the server sends while a script runs, with
// no deadline (a cancel may come hours in), and calls cancel on a
// CancelAction. It returns when the connection closes or a frame fails.
func (x *exchange) awaitCancel(log *slog.Logger, cancel context.CancelFunc) {
	x.conn.SetReadDeadline(time.Time{})
	for {
		typ, _, err := x.key.get().ReadMessage(x.conn)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
				log.Warn("stopped reading from the server during a script", attrErr(err))
			}
			return
		}
		if typ == wire.MessageTypeCancelAction {
			log.Info("cancel requested")
			cancel()
			continue
		}
		log.Warn("ignored a message during a script", slog.Uint64(keyType, uint64(typ)))
	}
}

// jobFor translates a protocol script into an exec job under cfg.
func jobFor(s wire.Script, cfg Config) (exec.Job, error) {
	files := make([]exec.File, 0, len(s.Files))
	for _, f := range s.Files {
		ef, err := fileFromWire(f)
		if err != nil {
			return exec.Job{}, err
		}
		files = append(files, ef)
	}
	return exec.Job{
		Executable:  s.Executable,
		Script:      s.Data,
		Env:         s.Environment,
		Path:        cfg.Path,
		Dir:         s.WorkingDirectory,
		Cred:        runAs(s.RunAs, cfg),
		Files:       files,
		OutputLimit: cfg.OutputLimit,
	}, nil
}

// runAs is the credential a script runs as: its RunAs, or for Inherit the
// config's default_uid and default_gid where set, else the client's own.
func runAs(r wire.RunAs, cfg Config) exec.Credential {
	if !r.Inherit {
		return exec.Credential{UID: r.UID, GID: r.GID}
	}
	if cfg.DefaultUID == nil && cfg.DefaultGID == nil {
		return exec.Credential{Inherit: true}
	}
	c := exec.Credential{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
	if cfg.DefaultUID != nil {
		c.UID = *cfg.DefaultUID
	}
	if cfg.DefaultGID != nil {
		c.GID = *cfg.DefaultGID
	}
	return c
}

// fileFromWire translates a protocol file, whose mode is octal written in
// decimal digits (644 for 0644).
func fileFromWire(f wire.File) (exec.File, error) {
	mode, err := wire.ModeFromWire(f.Mode)
	if err != nil {
		return exec.File{}, fmt.Errorf("file %s: %w", f.Path, err)
	}
	return exec.File{
		Path:  f.Path,
		Owner: exec.Credential{Inherit: f.Owner.Inherit, UID: f.Owner.UID, GID: f.Owner.GID},
		Mode:  mode,
		Data:  f.Data,
	}, nil
}

func placeFile(f wire.File) error {
	ef, err := fileFromWire(f)
	if err != nil {
		return err
	}
	return exec.PlaceFile(ef)
}

// scriptResult translates an exec result for the wire.
func scriptResult(r exec.Result) wire.ScriptResult {
	sr := wire.ScriptResult{
		Success: r.Err == nil && r.ExitCode == 0,
		Code:    r.ExitCode,
		Stdout:  string(r.Stdout),
		Stderr:  string(r.Stderr),
		Elapsed: r.Elapsed,
	}
	if r.Err != nil {
		sr.ExecError = r.Err.Error()
	}
	return sr
}

// fitResult cuts a result's output so that its frame fits in
// wire.MaxFrameLen: both streams at the output limit can exceed it, and a
// result must reach the server even then.
func fitResult(sr *wire.ScriptResult) {
	limit := int(wire.MaxFrameLen/2) - 64<<10 // room for the rest of the frame
	cut := func(s string) string {
		if len(s) <= limit {
			return s
		}
		return s[:limit] + fmt.Sprintf("\n[otto: output cut to %d bytes to fit the result frame]\n", limit)
	}
	sr.Stdout, sr.Stderr = cut(sr.Stdout), cut(sr.Stderr)
}

// reload re-reads the config file. listen_addr and log_path apply from the
// next start; everything else from the next connection.
func (d *daemon) reload() error {
	d.fileMu.Lock()
	defer d.fileMu.Unlock()
	cfg, err := LoadConfig(d.configPath)
	if err != nil {
		return err
	}
	prepareKey(cfg.PSK)
	old := d.config()
	if cfg.ListenAddr != old.ListenAddr || cfg.LogPath != old.LogPath {
		d.log.Warn("listen_addr and log_path changes take effect when the client restarts", slog.String(keyConfig, d.configPath))
		cfg.ListenAddr, cfg.LogPath = old.ListenAddr, old.LogPath
	}
	d.setConfig(cfg)
	d.log.Info("config reloaded", slog.String(keyConfig, d.configPath))
	return nil
}

// updatePSK stores a new PSK in the config file, durably, and uses it from
// the next connection on.
func (d *daemon) updatePSK(psk string) error {
	if psk == "" {
		return errors.New("the new PSK is empty; refusing it")
	}
	prepareKey(PSK(psk)) // before the switch, so the next request does not wait
	d.fileMu.Lock()
	defer d.fileMu.Unlock()
	cur := d.config()
	// Store what the file holds with the new PSK; a file edited since the
	// last load is not silently reverted.
	onDisk, err := LoadConfig(d.configPath)
	if err != nil {
		onDisk = cur
	}
	// From the first byte written until the new PSK is in use, new
	// requests wait (see daemon.mu): none may be answered under the old
	// PSK once the file may hold the new one. The answer to this request
	// still goes out under the old one, as protocol 2 wants.
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := savePSK(d.configPath, onDisk, PSK(psk), func() { d.hangAt(hangBeforeRename) }); err != nil {
		return fmt.Errorf("storing the new PSK: %w", err)
	}
	d.hangAt(hangBeforeAnswer)
	if d.pskStored != nil {
		d.pskStored()
	}
	cur.PSK = PSK(psk)
	d.setConfigLocked(cur)
	d.log.Info("psk updated", slog.String(keyConfig, d.configPath))
	return nil
}
