package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/auth"
)

func (s *Server) serverRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/options", perm: auth.Read, handle: s.getOptions},
		{method: "POST", pattern: "/api/options", perm: auth.Admin, handle: s.setOptions},
		{method: "GET", pattern: "/api/events", perm: auth.Read, handle: s.events},
		{method: "POST", pattern: "/api/search/system", perm: auth.Read, handle: s.search},
		{method: "GET", pattern: "/api/backup", perm: auth.Admin, handle: s.backup},
	}
}

func (s *Server) getOptions(c *call) (any, error) {
	o, err := s.svc.Options(c.ctx)
	return optionsOut(o, c.admin()), err
}

// setOptions changes the options. The body is laid over the current
// options, so groups or fields it leaves out keep their values.
func (s *Server) setOptions(c *call) (any, error) {
	o, err := s.svc.Options(c.ctx)
	if err != nil {
		return nil, err
	}
	// An omitted key stays (UpdateOptions fills in an empty one), and so do
	// secret values sent back empty.
	req := optionsOut(o, false)
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	o, err = s.svc.UpdateOptions(c.ctx, c.who(), optionsIn(req))
	return optionsOut(o, true), err
}

// events lists the newest audit events, ?c=N (default 50).
func (s *Server) events(c *call) (any, error) {
	n, err := count(c, 50)
	if err != nil {
		return nil, err
	}
	l, err := s.svc.Events(c.ctx, n)
	return eventsOut(l), err
}

func (s *Server) search(c *call) (any, error) {
	var req apitype.SearchRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	l, err := s.svc.Search(c.ctx, req.Query)
	return searchOut(l), err
}

// backup streams a consistent copy of the database.
func (s *Server) backup(c *call) (any, error) {
	return s.streamBackup(c.w, c.r)
}

func (s *Server) streamBackup(w http.ResponseWriter, r *http.Request) (any, error) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=otto-backup-%s.db", time.Now().UTC().Format("20060102T150405Z")))
	n, err := s.svc.Store.Backup(r.Context(), w)
	if err != nil {
		if n == 0 {
			return nil, err
		}
		s.log.Error("backup failed midway", "bytes", n, "err", err)
		panic(http.ErrAbortHandler) // a cut-off stream, never a short file taken for whole
	}
	s.log.Info("backup sent", "bytes", n)
	return written{}, nil
}

// BackupHandler serves GET /backup with no authentication, for the unix
// socket in the data directory: only the data directory's owner can reach
// that socket, and "otto server backup" uses it while the server runs.
func (s *Server) BackupHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.streamBackup(w, r); err != nil {
			s.writeError(&call{s: s, w: w, r: r}, err)
		}
	})
	return mux
}
