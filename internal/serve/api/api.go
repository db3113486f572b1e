package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/fleet"
)

// Body limits.
const (
	// JSONBodyTime and UploadBodyTime bound the time a request body may
	// take to arrive, so a peer trickling bytes cannot hold a handler for
	// ever. Uploads get time for 100 MiB at about 1 Mbit/s.
	JSONBodyTime   = time.Minute
	UploadBodyTime = 15 * time.Minute

	// MaxJSONBody bounds a JSON request body: the largest legitimate one,
	// a script with its body, is far below it.
	MaxJSONBody = 1 << 20
	// MaxUploadBody bounds an attachment upload: the data plus room for
	// the form's other fields.
	MaxUploadBody = domain.MaxAttachmentSize + 1<<20
)

// Config is what a Server needs.
type Config struct {
	Service *domain.Service
	// Fleet talks to the clients: heartbeats, runs, PSK rotation.
	Fleet *fleet.Service
	Auth  *auth.Authenticator
	Log   *slog.Logger
	// Version is the server's version, reported by /api/state.
	Version string
	// TLS is set when the server speaks HTTPS; session cookies are then
	// Secure.
	TLS bool
	// Hostname is reported as Runtime.ServerFQDN.
	Hostname string
	// Now is the clock; nil means time.Now.
	Now domain.Clock
}

// Server is the API's handler.
type Server struct {
	cfg      Config
	svc      *domain.Service
	fleet    *fleet.Service
	auth     *auth.Authenticator
	log      *slog.Logger
	register *auth.RateLimit
	mux      *http.ServeMux
	// bodyTime is JSONBodyTime and UploadBodyTime; tests shorten them.
	bodyTime [2]time.Duration
}

// route is one API endpoint. Each file of this package contributes a table
// of them, and Server.routes gathers the tables.
type route struct {
	method  string
	pattern string // a ServeMux pattern without the method: "/api/hosts/host/{id}"
	perm    auth.Permission
	handle  func(c *call) (any, error)
	// maxBody overrides MaxJSONBody.
	maxBody int64
}

// routes gathers every table. A new file of routes adds its table here.
func (s *Server) routes() []route {
	var all []route
	for _, table := range [][]route{
		s.sessionRoutes(),
		s.hostRoutes(),
		s.groupRoutes(),
		s.scriptRoutes(),
		s.attachmentRoutes(),
		s.scheduleRoutes(),
		s.registerRoutes(),
		s.userRoutes(),
		s.serverRoutes(),
		s.fleetRoutes(),
	} {
		all = append(all, table...)
	}
	return all
}

// New returns the API server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, svc: cfg.Service, fleet: cfg.Fleet, auth: cfg.Auth, log: cfg.Log,
		register: auth.NewRateLimit(10, time.Minute, cfg.Now), mux: http.NewServeMux(),
		bodyTime: [2]time.Duration{JSONBodyTime, UploadBodyTime}}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
	}
	s.mux.HandleFunc("/api/", s.notFound)
	return s
}

// Handler returns the API's http.Handler.
func (s *Server) Handler() http.Handler { return s.mux }

// call is one request to a route, as its handler sees it.
type call struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context
	p   auth.Principal
	// status of a successful answer; 0 means 200.
	status int
}

// written is returned by a handler that wrote its answer itself.
type written struct{}

func (c *call) who() string    { return c.p.User.Username }
func (c *call) admin() bool    { return c.p.User.Role == domain.RoleAdmin }
func (c *call) remote() string { return c.r.RemoteAddr }

// id reads the path parameter name: an ID, opaque to the API. The route's
// pattern guarantees a non-empty segment; an unknown ID is the domain's
// 404.
func (c *call) id(name string) (string, error) {
	v := c.r.PathValue(name)
	if v == "" {
		return "", notFound("the path has no ID after %s", c.r.URL.Path)
	}
	return v, nil
}

// sameID refuses a body whose ID names another record than the path's.
func sameID(body apitype.ID, path string) error {
	if body != "" && string(body) != path {
		return badRequest("ID %q in the body does not match ID %q in the path", body, path)
	}
	return nil
}

// wrap applies to a route what every route gets: recovery, body limit,
// authentication, the permission and CSRF checks, the envelope.
func (s *Server) wrap(rt route) http.Handler {
	limit := rt.maxBody
	if limit == 0 {
		limit = MaxJSONBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		c := &call{s: s, w: sw, r: r, ctx: r.Context()}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", "route", rt.method+" "+rt.pattern, "panic", v)
				if sw.status == 0 {
					s.writeError(c, errors.New("panic"))
				}
			}
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"user", c.who(), "duration", time.Since(start))
		}()
		if r.Body != nil {
			s.limitBodyTime(sw, r, limit)
			r.Body = http.MaxBytesReader(sw, r.Body, limit)
		}
		data, err := s.serve(c, rt)
		if err != nil {
			s.writeError(c, err)
			return
		}
		if _, ok := data.(written); ok {
			return
		}
		status := c.status
		if status == 0 {
			status = http.StatusOK
		}
		if data == nil {
			data = json.RawMessage("null") // a success always has "data"
		}
		writeJSON(sw, status, apitype.Envelope[any]{Code: status, Data: data})
	})
}

func (s *Server) serve(c *call, rt route) (any, error) {
	if rt.perm != auth.Public {
		p, err := s.auth.Authenticate(c.r)
		if err != nil {
			return nil, err
		}
		c.p = p
		if p.Partial && rt.perm != auth.Authenticated {
			return nil, &PublicError{Status: http.StatusForbidden,
				Msg: "you must change your password first: POST /api/users/reset_password with OldPassword and NewPassword"}
		}
		if !auth.Allowed(p.User.Role, rt.perm) {
			return nil, &PublicError{Status: http.StatusForbidden,
				Msg: fmt.Sprintf("your role %s may not do this (needs %s)", p.User.Role, needs(rt.perm))}
		}
	}
	if err := auth.CheckCSRF(c.r, c.p.Via, func() string { return s.serverURL(c.ctx) }); err != nil {
		return nil, err
	}
	return rt.handle(c)
}

func needs(p auth.Permission) string {
	switch p {
	case auth.Run, auth.Edit:
		return "role operator or admin"
	case auth.Admin:
		return "role admin"
	case auth.SelfOrAdmin:
		return "role admin, or to be that user"
	}
	return p.String()
}

// serverURL is the configured public URL, an origin CSRF accepts.
func (s *Server) serverURL(ctx context.Context) string {
	o, err := s.svc.Options(ctx)
	if err != nil {
		return ""
	}
	return o.General.ServerURL
}

// notFound answers /api paths no route matches: 405 when another method
// would match, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pat := s.mux.Handler(r2); pat != "" && pat != "/api/" {
			allow = append(allow, m)
		}
	}
	c := &call{s: s, w: w, r: r}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(c, &PublicError{Status: http.StatusMethodNotAllowed,
			Msg: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, ", "))})
		return
	}
	s.writeError(c, &PublicError{Status: http.StatusNotFound, Msg: fmt.Sprintf("no API route %s %s; see docs/api.md", r.Method, r.URL.Path)})
}

// statusWriter remembers the status written, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines) through the wrapper.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on, for streamed answers.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func writeJSON(w http.ResponseWriter, status int, v apitype.Envelope[any]) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":500,"error":{"code":500,"message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decode reads the JSON body into v, refusing unknown fields and trailing
// data, with a message that names what was wrong.
func (c *call) decode(v any) error {
	dec := json.NewDecoder(c.r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("request body has more after its JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("request body is not valid JSON: it ends too early")
	case errors.As(err, &se):
		return badRequest("request body is not valid JSON: %v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("request body must be a JSON %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
		}
		return badRequest("field %s: expected %s, got JSON %s", te.Field, jsonKind(te.Type.String()), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field %s (see docs/api.md for this route's fields)", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return badRequest("request body is not valid JSON: %v", err)
}

func jsonKind(t string) string {
	switch {
	case t == "apitype.ID":
		return "an ID (a string or a whole number)"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number (" + t + ")"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case t == "struct":
		return "object"
	}
	return t
}

// limitBodyTime gives the body of r a read deadline (see JSONBodyTime). It
// is lifted once the body has been read, so that a handler that then runs
// long (a synchronous run) is not cut off: the server's read of the next
// request sets deadlines of its own.
func (s *Server) limitBodyTime(w http.ResponseWriter, r *http.Request, limit int64) {
	if r.Body == http.NoBody {
		return
	}
	d := s.bodyTime[0]
	if limit > MaxJSONBody {
		d = s.bodyTime[1]
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return
	}
	r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
}

// deadlineBody lifts its read deadline at the body's end.
type deadlineBody struct {
	io.ReadCloser
	lift func()
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		// Only a body read whole lifts it: after a timeout the deadline
		// must also cut short the server's draining of the rest.
		b.once.Do(b.lift)
	}
	return n, err
}
