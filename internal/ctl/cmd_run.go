package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
)

// Following a batch.
const (
	// streamIdle is how long the live stream may stay silent (no output,
	// no keepalive comment) before ottoctl takes it for dead and polls
	// instead. The server sends keepalives more often than this.
	streamIdle = 90 * time.Second
	// pollInterval is how often ottoctl asks for the batch's state when
	// it has no live stream.
	pollInterval = time.Second
)

const runExitStatus = `EXIT STATUS
   0 when the script ran and succeeded on every host; 1 when it failed (or was canceled)
   on a host, or on an error; 3 when a host could not be reached (or the server); 2 for bad
   flags or arguments; 130 when interrupted. When several apply, the highest wins.
   With --no-follow, 0 once the runs are started.`

func newRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a script on hosts now and follow its output",
		ArgsUsage: "SCRIPT (--host HOST... | --group GROUP...)",
		Description: describe("Runs SCRIPT (a name or ID) on the hosts named and the members of the groups named,\n"+
			"prints their output as it comes, then a summary table (HOST, STATE, EXIT, DURATION,\n"+
			"ERROR) on stderr, so that stdout carries only the scripts' output. The scripts' stdout\n"+
			"goes to stdout and their stderr to stderr. With more than one host every line starts\n"+
			"with \"HOST: \", as pdsh does.\n\n"+
			"Ctrl-C stops following and tells how to cancel the runs, which go on on the server.\n"+
			"--no-follow prints the run IDs and returns at once. --json prints, at the end, the batch\n"+
			"with every run and its output: {\"BatchID\", \"Runs\": [...]}. --quiet drops the summary.",
			[]string{"ottoctl run uptime --host web1", "ottoctl run deploy --group webservers --host db1",
				"ottoctl run backup --group dbservers --no-follow"}, runExitStatus),
		Flags: []cli.Flag{
			namesFlag("host", "run on `HOST` (name or ID; repeat or separate with commas)"),
			namesFlag("group", "run on every host of `GROUP`"),
			&cli.BoolFlag{Name: "no-follow", Usage: "print the run IDs and return at once"},
		},
		Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
			if err := needArgs(c, args, 1, 1); err != nil {
				return err
			}
			o := runOpts{script: args[0], hosts: list(c, "host"), groups: list(c, "group"), follow: !c.Bool("no-follow")}
			return runRun(ctx, o, g, c.App.Writer, c.App.ErrWriter)
		}),
	}
}

type runOpts struct {
	script        string
	hosts, groups []string
	follow        bool
	// idle and poll override streamIdle and pollInterval (tests).
	idle, poll time.Duration
}

func runRun(ctx context.Context, o runOpts, g *globals, out, errOut io.Writer) error {
	if len(o.hosts) == 0 && len(o.groups) == 0 {
		return usagef("name where to run %s: --host HOST or --group GROUP (or both)", o.script)
	}
	idle := streamIdle
	if o.idle > 0 {
		idle = o.idle
	}
	cl, err := g.clientIdle(idle)
	if err != nil {
		return err
	}
	sid, err := newResolver(cl, scriptKind()).id(ctx, o.script)
	if err != nil {
		return err
	}
	req := apitype.RunsRequest{ScriptID: sid}
	if req.HostIDs, err = newResolver(cl, hostKind()).ids(ctx, o.hosts); err != nil {
		return err
	}
	if req.GroupIDs, err = newResolver(cl, groupKind()).ids(ctx, o.groups); err != nil {
		return err
	}
	b, err := cl.StartRuns(ctx, req)
	if err != nil {
		return err
	}
	if !o.follow {
		return printStarted(b, g, out, errOut)
	}
	f := newFollower(b, !g.json, out, errOut)
	if o.poll > 0 {
		f.poll = o.poll
	}
	err = f.follow(ctx, cl)
	f.flushAll()
	if ctx.Err() != nil {
		return &interruptedError{msg: f.interruptHint()}
	}
	if err != nil {
		return err
	}
	runs := f.list()
	if g.json {
		full := make([]apitype.Run, 0, len(runs))
		for _, r := range runs {
			fr, err := cl.Run(ctx, string(r.ID))
			if err != nil {
				return err
			}
			full = append(full, fr)
		}
		if err := writeJSON(out, apitype.Batch{BatchID: b.BatchID, Runs: full}); err != nil {
			return err
		}
	} else if !g.quiet {
		if err := renderSummary(errOut, runs); err != nil {
			return err
		}
	}
	return outcome(runs)
}

func printStarted(b apitype.Batch, g *globals, out, errOut io.Writer) error {
	if g.json {
		return writeJSON(out, b)
	}
	ids := make([]apitype.ID, len(b.Runs))
	for i, r := range b.Runs {
		ids[i] = r.ID
	}
	if err := writeIDs(out, ids...); err != nil {
		return err
	}
	if !g.quiet {
		fmt.Fprintf(errOut, "batch %s: %d run(s) started; see them with \"ottoctl runs ls --batch %s\"\n", b.BatchID, len(b.Runs), b.BatchID)
	}
	return nil
}

// outcome turns the final runs into the command's result: nil when every
// run succeeded, else a failedError with the highest code that applies.
func outcome(runs []apitype.Run) error {
	var failed, canceled, unreachable []string
	for _, r := range runs {
		switch {
		case r.State == apitype.RunDone && r.Success:
		case r.State == apitype.RunFailed:
			unreachable = append(unreachable, r.HostName)
		case r.State == apitype.RunCanceled:
			canceled = append(canceled, r.HostName)
		default:
			failed = append(failed, r.HostName)
		}
	}
	var parts []string
	code := ExitOK
	if len(failed) > 0 {
		parts = append(parts, "the script failed on "+strings.Join(failed, ", "))
		code = ExitError
	}
	if len(canceled) > 0 {
		parts = append(parts, "canceled on "+strings.Join(canceled, ", "))
		code = ExitError
	}
	if len(unreachable) > 0 {
		parts = append(parts, "could not run on "+strings.Join(unreachable, ", ")+" (see ERROR)")
		code = ExitUnreachable
	}
	if code == ExitOK {
		return nil
	}
	return &failedError{code: code, msg: fmt.Sprintf("%d of %d host(s): %s", len(failed)+len(canceled)+len(unreachable), len(runs), strings.Join(parts, "; "))}
}

func renderSummary(w io.Writer, runs []apitype.Run) error {
	t := newTable(w, "HOST", "STATE", "EXIT", "DURATION", "ERROR")
	for _, r := range runs {
		e := r.Error
		if r.Truncated {
			e = strings.TrimSpace(e + " (output truncated)")
		}
		t.row(r.HostName, r.State, fmtExit(r), fmtDuration(r.Duration), e)
	}
	return t.flush()
}

// streamKey names one output stream of one run.
type streamKey struct {
	run    apitype.ID
	stream string // "stdout" or "stderr"
}

// follower follows a batch: it prints the runs' output as it comes and
// keeps their latest state.
type follower struct {
	batch string
	order []apitype.ID
	runs  map[apitype.ID]*apitype.Run
	// received counts the bytes of output received per stream, so that
	// output fetched after a lost stream is printed from where it stopped.
	received map[streamKey]int
	lines    map[streamKey]*lineBuffer
	live     bool // print the output (not with --json)
	prefix   bool // prefix lines with the host's name
	out, err io.Writer
	poll     time.Duration
}

func newFollower(b apitype.Batch, live bool, out, errOut io.Writer) *follower {
	f := &follower{batch: b.BatchID, runs: map[apitype.ID]*apitype.Run{}, received: map[streamKey]int{},
		lines: map[streamKey]*lineBuffer{}, live: live, prefix: len(b.Runs) > 1, out: out, err: errOut,
		poll: pollInterval}
	for _, r := range b.Runs {
		r := r
		f.order = append(f.order, r.ID)
		f.runs[r.ID] = &r
	}
	return f
}

func (f *follower) list() []apitype.Run {
	out := make([]apitype.Run, 0, len(f.order))
	for _, id := range f.order {
		out = append(out, *f.runs[id])
	}
	return out
}

func (f *follower) allFinished() bool {
	for _, r := range f.runs {
		if !r.Done() {
			return false
		}
	}
	return true
}

// follow reads the live stream until every run finished. When the stream
// fails or ends early it polls instead, then fetches the output it missed.
func (f *follower) follow(ctx context.Context, cl *apiclient.Client) error {
	var err error
	if !f.allFinished() {
		err = f.stream(ctx, cl)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil && f.allFinished() {
			return nil
		}
		if err != nil {
			fmt.Fprintf(f.err, "ottoctl: live output stopped (%v); waiting for the runs to finish\n", err)
		}
		if err := f.pollUntilDone(ctx, cl); err != nil {
			return err
		}
	}
	return f.catchUp(ctx, cl)
}

// errStreamEnd stops the stream at its "end" event.
var errStreamEnd = errors.New("end of the stream")

// stream reads the batch's server-sent events until "end". It returns nil
// also when the server closes the stream early; the caller checks the
// runs. The client gives up on a stream silent for longer than streamIdle.
func (f *follower) stream(ctx context.Context, cl *apiclient.Client) error {
	err := cl.Stream(ctx, http.MethodGet, itemPath("/api/runs/batch", apitype.ID(f.batch), "stream"), nil, func(event string, data []byte) error {
		switch event {
		case apitype.EventOutput:
			var e apitype.Output
			if err := json.Unmarshal(data, &e); err != nil {
				return fmt.Errorf("decoding an output event: %w", err)
			}
			f.output(e)
		case apitype.EventState, apitype.EventDone:
			var run apitype.Run
			if err := json.Unmarshal(data, &run); err != nil {
				return fmt.Errorf("decoding a %s event: %w", event, err)
			}
			f.update(run)
		case apitype.EventEnd:
			return errStreamEnd
		}
		return nil
	})
	if errors.Is(err, errStreamEnd) {
		return nil
	}
	return err
}

// output prints new output of a run.
func (f *follower) output(e apitype.Output) {
	k := streamKey{run: e.RunID, stream: e.Stream}
	f.received[k] += len(e.Data)
	if !f.live || e.Data == "" {
		return
	}
	w := f.out
	if e.Stream == "stderr" {
		w = f.err
	}
	if !f.prefix {
		io.WriteString(w, e.Data)
		return
	}
	lb := f.lines[k]
	if lb == nil {
		name := e.HostName
		if r, ok := f.runs[e.RunID]; ok && r.HostName != "" {
			name = r.HostName
		}
		if name == "" {
			name = "#" + string(e.HostID)
		}
		lb = &lineBuffer{prefix: name + ": ", w: w}
		f.lines[k] = lb
	}
	lb.write(e.Data)
}

// update records a run's new state; a finished run's partial lines are
// printed.
func (f *follower) update(r apitype.Run) {
	old, ok := f.runs[r.ID]
	if !ok {
		if r.BatchID != "" && r.BatchID != f.batch {
			return
		}
		f.order = append(f.order, r.ID)
		f.runs[r.ID] = &r
		return
	}
	if old.Done() && !r.Done() {
		return // a late state event after the final one
	}
	r.Stdout, r.Stderr = old.Stdout, old.Stderr
	*old = r
	if r.Done() {
		f.flushRun(r.ID)
	}
}

func (f *follower) flushRun(id apitype.ID) {
	for _, s := range []string{"stdout", "stderr"} {
		if lb := f.lines[streamKey{id, s}]; lb != nil {
			lb.flush()
		}
	}
}

func (f *follower) flushAll() {
	for _, id := range f.order {
		f.flushRun(id)
	}
}

// pollUntilDone asks for the batch's runs until every one finished.
func (f *follower) pollUntilDone(ctx context.Context, cl *apiclient.Client) error {
	q := url.Values{"batch": {f.batch}, "limit": {strconv.Itoa(max(len(f.order), 1))}}
	for !f.allFinished() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(f.poll):
		}
		runs, err := cl.Runs(ctx, q)
		if err != nil {
			return err
		}
		for _, r := range runs {
			f.update(r)
		}
	}
	return nil
}

// catchUp fetches each run and prints the output not received live.
func (f *follower) catchUp(ctx context.Context, cl *apiclient.Client) error {
	for _, id := range f.order {
		r, err := cl.Run(ctx, string(id))
		if err != nil {
			return err
		}
		for _, s := range []struct{ name, text string }{{"stdout", r.Stdout}, {"stderr", r.Stderr}} {
			if got := f.received[streamKey{id, s.name}]; len(s.text) > got {
				f.output(apitype.Output{RunID: id, HostID: r.HostID, HostName: r.HostName, Stream: s.name, Data: s.text[got:]})
			}
		}
		f.update(r)
	}
	return nil
}

// interruptHint says what Ctrl-C left behind and how to cancel it.
func (f *follower) interruptHint() string {
	var ids []string
	for _, id := range f.order {
		if !f.runs[id].Done() {
			ids = append(ids, string(id))
		}
	}
	if len(ids) == 0 {
		return fmt.Sprintf("interrupted; every run of batch %s had finished (see \"ottoctl runs ls --batch %s\")", f.batch, f.batch)
	}
	return fmt.Sprintf("stopped following; %d run(s) go on on the server. Cancel them with: ottoctl runs cancel %s",
		len(ids), strings.Join(ids, " "))
}

// lineBuffer prefixes each line written through it, holding a partial
// line until its end arrives, so that prefixes land at line starts.
type lineBuffer struct {
	prefix  string
	w       io.Writer
	partial []byte
}

func (lb *lineBuffer) write(data string) {
	var b []byte
	for data != "" {
		i := strings.IndexByte(data, '\n')
		if i < 0 {
			lb.partial = append(lb.partial, data...)
			break
		}
		b = append(b, lb.prefix...)
		b = append(b, lb.partial...)
		b = append(b, data[:i+1]...)
		lb.partial = lb.partial[:0]
		data = data[i+1:]
	}
	if len(b) > 0 {
		lb.w.Write(b)
	}
}

// flush prints a partial line, ended with a line break.
func (lb *lineBuffer) flush() {
	if len(lb.partial) == 0 {
		return
	}
	b := append([]byte(lb.prefix), lb.partial...)
	lb.w.Write(append(b, '\n'))
	lb.partial = lb.partial[:0]
}
