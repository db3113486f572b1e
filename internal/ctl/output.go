package ctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

// table writes aligned columns for people: a header line in capitals,
// then one line per row, two spaces between columns.
type table struct {
	tw  *tabwriter.Writer
	buf bytes.Buffer
	w   io.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 8, 2, ' ', 0)
	t.row(headers...)
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		cols[i] = oneLine(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() error { return flushTrimmed(t.tw, &t.buf, t.w) }

// flushTrimmed flushes tw into buf, then copies buf to w without the
// spaces tabwriter leaves at the ends of lines whose last cell is empty.
func flushTrimmed(tw *tabwriter.Writer, buf *bytes.Buffer, w io.Writer) error {
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	var out bytes.Buffer
	for _, l := range lines {
		nl := bytes.HasSuffix(l, []byte("\n"))
		out.Write(bytes.TrimRight(l, " \n"))
		if nl {
			out.WriteByte('\n')
		}
	}
	buf.Reset()
	_, err := w.Write(out.Bytes())
	return err
}

// fields writes "Key:  value" lines, aligned, for one object ("show").
type fields struct {
	tw  *tabwriter.Writer
	buf bytes.Buffer
	w   io.Writer
}

func newFields(w io.Writer) *fields {
	f := &fields{w: w}
	f.tw = tabwriter.NewWriter(&f.buf, 0, 8, 2, ' ', 0)
	return f
}

func (f *fields) add(key, value string) {
	fmt.Fprintf(f.tw, "%s:\t%s\n", key, oneLine(value))
}

func (f *fields) flush() error { return flushTrimmed(f.tw, &f.buf, f.w) }

// oneLine keeps a table cell on its line: tabs and line breaks become
// spaces, other control characters are escaped.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeJSON prints v as indented JSON, HTML characters left alone.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeIDs prints one ID a line, for --quiet.
func writeIDs(w io.Writer, ids ...apitype.ID) error {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(string(id))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// timeLayout is how tables show times, in the local zone.
const timeLayout = "2006-01-02 15:04:05"

func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format(timeLayout)
}

// fmtDuration rounds a duration for people: milliseconds under a minute,
// seconds above.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Minute:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtMode shows permission bits the way chmod takes them. The API writes
// them as the decimal digits of the octal mode (644 is 0644), as 0.x did.
func fmtMode(m uint32) string { return fmt.Sprintf("%04d", m) }

// fmtSize shows a byte count for people.
func fmtSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// fmtEnv shows an environment as KEY=VALUE pairs; secrets show as
// KEY=(secret).
func fmtEnv(env []apitype.Variable) string {
	if len(env) == 0 {
		return "-"
	}
	parts := make([]string, len(env))
	for i, v := range env {
		if v.Secret {
			parts[i] = v.Key + "=(secret)"
		} else {
			parts[i] = v.Key + "=" + strconv.Quote(v.Value)
		}
	}
	return strings.Join(parts, " ")
}

// fmtNames shows IDs by their names where known: "web (3), db (4)".
func fmtNames(ids []apitype.ID, names map[apitype.ID]string) string {
	if len(ids) == 0 {
		return "-"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		if n, ok := names[id]; ok {
			parts[i] = n
		} else {
			parts[i] = "#" + string(id)
		}
	}
	return strings.Join(parts, ",")
}

// fmtDetails shows a map as sorted key=value pairs.
func fmtDetails(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := m[k]
		if strings.ContainsAny(v, " \t\"=") || v == "" {
			v = strconv.Quote(v)
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, " ")
}
