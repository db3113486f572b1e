package ctl

import (
	"time"

	"github.com/otto-automation/otto/internal/apiclient"
	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/version"
)

// newClient returns an API client of the server and credentials of s. A
// stream silent for streamIdle (0: never) fails.
func newClient(s settings, streamIdle time.Duration) (*apiclient.Client, error) {
	cl, err := apiclient.New(s.URL, apiclient.Options{
		Username:   s.Username,
		APIKey:     s.APIKey,
		Insecure:   s.Insecure,
		UserAgent:  "ottoctl/" + version.Version,
		StreamIdle: streamIdle,
	})
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return cl, nil
}

// itemPath is an API path ending in an ID, like /api/hosts/host/3.
func itemPath(prefix string, id apitype.ID, suffix ...string) string {
	return apiclient.ItemPath(prefix, string(id), suffix...)
}
