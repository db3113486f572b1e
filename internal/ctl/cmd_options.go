package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apiclient"
)

func newOptionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "options",
		Usage: "read and change the server's options",
		Description: describe("The server's options, by dotted keys such as Network.Timeout or\n"+
			"Security.RotatePSK.Enabled (see \"ottoctl options get\" for all of them).",
			[]string{"ottoctl options get", "ottoctl options set Network.Timeout 30"}, ""),
		Subcommands: []*cli.Command{
			{
				Name: "get", Usage: "show the options, or one of them", ArgsUsage: "[KEY]",
				Description: describe("Without KEY, lists every option as KEY VALUE; with KEY, prints its value alone\n"+
					"(a group of options as JSON). Keys match without regard to case.",
					[]string{"ottoctl options get", "ottoctl options get Network.Timeout", "ottoctl options get --json"}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 0, 1); err != nil {
						return err
					}
					key := ""
					if len(args) == 1 {
						key = args[0]
					}
					return runOptionsGet(ctx, key, g, c.App.Writer)
				}),
			},
			{
				Name: "set", Usage: "change one option", ArgsUsage: "KEY VALUE",
				Description: describe("Sets the option KEY to VALUE, read as the option's type: true or false, a number,\n"+
					"text, or JSON for lists and groups (GlobalEnvironment is a list of {Key, Value, Secret}).\n"+
					"Register.DefaultGroupID takes a group's name or ID.",
					[]string{"ottoctl options set Network.Timeout 30", "ottoctl options set Register.Enabled true",
						`ottoctl options set General.GlobalEnvironment '[{"Key":"TZ","Value":"UTC"}]'`}, ""),
				Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
					if err := needArgs(c, args, 2, 2); err != nil {
						return err
					}
					return runOptionsSet(ctx, args[0], args[1], g, c.App.Writer)
				}),
			},
		},
	}
}

// options is the server options object, kept as generic JSON so that
// "options set" can change keys this version of ottoctl does not know.
type options = map[string]any

// getOptions reads the options, numbers kept exact.
func getOptions(ctx context.Context, cl *apiclient.Client) (options, error) {
	var raw json.RawMessage
	if err := cl.Do(ctx, http.MethodGet, "/api/options", nil, &raw); err != nil {
		return nil, err
	}
	return decodeOptions(raw)
}

func decodeOptions(raw []byte) (options, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var o options
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("decoding the options: %w", err)
	}
	return o, nil
}

func runOptionsGet(ctx context.Context, key string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	o, err := getOptions(ctx, cl)
	if err != nil {
		return err
	}
	if key == "" {
		if g.json {
			return writeJSON(out, o)
		}
		return renderOptions(out, o)
	}
	_, v, err := lookupOption(o, key)
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(out, v)
	}
	_, err = fmt.Fprintln(out, fmtOptionValue(v))
	return err
}

// renderOptions lists every leaf option as KEY VALUE, sorted by key.
func renderOptions(w io.Writer, o options) error {
	var rows [][2]string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			rows = append(rows, [2]string{prefix + k, fmtOptionValue(v)})
		}
	}
	walk("", o)
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	t := newTable(w, "KEY", "VALUE")
	for _, r := range rows {
		t.row(r[0], r[1])
	}
	return t.flush()
}

func fmtOptionValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// lookupOption finds a dotted key, each part matched without regard to
// case; it returns the key as the server spells it and the value.
func lookupOption(o options, key string) (string, any, error) {
	parts := strings.Split(key, ".")
	var cur any = map[string]any(o)
	var path []string
	for _, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", nil, &notFoundError{msg: fmt.Sprintf("no option %q: %s is not a group of options", key, strings.Join(path, "."))}
		}
		name, ok := matchKey(m, p)
		if !ok {
			return "", nil, &notFoundError{msg: fmt.Sprintf("no option %q; the keys%s are %s", key, inGroup(path), strings.Join(sortedKeys(m), ", "))}
		}
		path = append(path, name)
		cur = m[name]
	}
	return strings.Join(path, "."), cur, nil
}

func inGroup(path []string) string {
	if len(path) == 0 {
		return ""
	}
	return " of " + strings.Join(path, ".")
}

func matchKey(m map[string]any, k string) (string, bool) {
	if _, ok := m[k]; ok {
		return k, true
	}
	for name := range m {
		if strings.EqualFold(name, k) {
			return name, true
		}
	}
	return "", false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// setOption sets the dotted key to value, converted to the type of the
// value it replaces. It returns the key as the server spells it.
func setOption(o options, key, value string) (string, error) {
	name, old, err := lookupOption(o, key)
	if err != nil {
		return "", err
	}
	var nv any
	switch old.(type) {
	case bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return "", usagef("%s is true or false, not %q", name, value)
		}
		nv = b
	case json.Number:
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			if _, err := strconv.ParseFloat(value, 64); err != nil {
				return "", usagef("%s is a number, not %q", name, value)
			}
		}
		nv = json.Number(value)
	case string:
		nv = value
	case map[string]any:
		return "", usagef("%s is a group of options; set its keys one by one (%s.KEY)", name, name)
	default: // lists, null: JSON
		dec := json.NewDecoder(strings.NewReader(value))
		dec.UseNumber()
		if err := dec.Decode(&nv); err != nil {
			return "", usagef("%s takes JSON here, like [] or [{\"Key\":\"A\",\"Value\":\"1\"}]: %v", name, err)
		}
	}
	parts := strings.Split(name, ".")
	m := map[string]any(o)
	for _, p := range parts[:len(parts)-1] {
		m = m[p].(map[string]any)
	}
	m[parts[len(parts)-1]] = nv
	return name, nil
}

func runOptionsSet(ctx context.Context, key, value string, g *globals, out io.Writer) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	o, err := getOptions(ctx, cl)
	if err != nil {
		return err
	}
	if name, _, err := lookupOption(o, key); err == nil && name == "Register.DefaultGroupID" && value != "" {
		id, err := newResolver(cl, groupKind()).id(ctx, value) // a group's name works too
		if err != nil {
			return err
		}
		value = string(id)
	}
	name, err := setOption(o, key, value)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := cl.Do(ctx, http.MethodPost, "/api/options", o, &raw); err != nil {
		return err
	}
	n, err := decodeOptions(raw)
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(out, n)
	}
	if g.quiet {
		return nil
	}
	_, v, err := lookupOption(n, name)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s = %s\n", name, fmtOptionValue(v))
	return err
}
