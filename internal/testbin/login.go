package testbin

import (
	"context"
	"fmt"

	"github.com/otto-automation/otto/internal/apiclient"
)

// Login signs in to the otto server at url as username with password,
// issues the user a new API key, and returns a client that calls with that
// key (and the rest of o) along with the key.
func Login(ctx context.Context, url, username, password string, o apiclient.Options) (*apiclient.Client, string, error) {
	session, err := apiclient.New(url, o)
	if err != nil {
		return nil, "", err
	}
	if _, err := session.Login(ctx, username, password); err != nil {
		return nil, "", fmt.Errorf("logging in as %s: %w", username, err)
	}
	key, err := session.NewAPIKey(ctx, username)
	if err != nil {
		return nil, "", fmt.Errorf("issuing an API key for %s: %w", username, err)
	}
	if key == "" {
		return nil, "", fmt.Errorf("issuing an API key for %s: the answer holds none", username)
	}
	o.Username, o.APIKey, o.Cookies = username, key, nil
	c, err := apiclient.New(url, o)
	return c, key, err
}
