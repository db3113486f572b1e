package client

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
)

// runSetup asks for the listen address, the PSK and the allowed networks on
// stdin and writes the config file at path. An existing config supplies the
// defaults and keeps its other keys. An empty PSK answer generates one,
// which is printed once for the user to give the server.
func runSetup(path string, stdin io.Reader, stdout io.Writer) error {
	cfg, err := LoadConfig(path)
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "Updating %s. Press Enter to keep the value in brackets.\n", path)
	case errors.Is(err, ErrNoConfig):
		cfg = Config{}
		fmt.Fprintf(stdout, "Writing %s. Press Enter to take the value in brackets.\n", path)
	default:
		cfg = Config{}
		fmt.Fprintf(stdout, "The current config is unusable (%v);\nwriting a new one at %s.\n", err, path)
	}
	p := &prompter{in: bufio.NewScanner(stdin), out: stdout}
	p.in.Buffer(nil, 1<<20)

	listen := cfg.ListenAddr
	if listen == "" {
		listen = DefaultListenAddr
	}
	cfg.ListenAddr, err = p.ask("Listen address (host:port)", listen, func(s string) error {
		if err := checkListenAddr(s); err != nil {
			return fmt.Errorf("%q: %v; use host:port, such as %s or [::]:12444", s, err, DefaultListenAddr)
		}
		return nil
	})
	if err != nil {
		return err
	}

	keep := "generate one"
	if cfg.PSK != "" {
		keep = "keep the current one"
	}
	psk, err := p.ask("PSK (Enter to "+keep+")", "", nil)
	if err != nil {
		return err
	}
	generated := false
	switch {
	case psk != "":
		cfg.PSK = PSK(psk)
	case cfg.PSK == "":
		cfg.PSK = PSK(rand.Text())
		generated = true
	}

	allow := "everyone"
	if len(cfg.AllowFrom) > 0 {
		allow = strings.Join(cfg.AllowFrom, ", ")
	}
	answer, err := p.ask(`Networks allowed to connect, comma-separated CIDRs, or "everyone"`, allow, func(s string) error {
		_, err := splitAllow(s)
		return err
	})
	if err != nil {
		return err
	}
	cfg.AllowFrom, _ = splitAllow(answer)

	if err := cfg.check(); err != nil {
		return fmt.Errorf("client config %s: %w", path, err)
	}
	if err := SaveConfig(path, cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s.\n", path)
	if generated {
		fmt.Fprintf(stdout, "\nThe generated PSK, shown only this once; enter it as this host's PSK on the server:\n\n    %s\n\n", string(cfg.PSK))
	}
	fmt.Fprintf(stdout, "Start the client with \"otto client --config %s\".\n", path)
	return nil
}

// splitAllow parses the answer to the networks question: nil for everyone.
func splitAllow(s string) ([]string, error) {
	if strings.EqualFold(strings.TrimSpace(s), "everyone") {
		return nil, nil
	}
	var list []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if _, err := parseAllow(f); err != nil {
			return nil, fmt.Errorf("%q is not a network; use CIDR notation such as 10.0.0.0/8", f)
		}
		list = append(list, f)
	}
	if len(list) == 0 {
		return nil, errors.New(`no network given; answer "everyone" to allow all`)
	}
	return list, nil
}

// prompter asks questions on a line-oriented input.
type prompter struct {
	in  *bufio.Scanner
	out io.Writer
}

// ask prints the question and reads an answer, def for an empty one. A
// check failure asks again. The end of the input counts as an empty answer;
// after that a failing check is an error.
func (p *prompter) ask(question, def string, check func(string) error) (string, error) {
	for {
		if def != "" {
			fmt.Fprintf(p.out, "%s [%s]: ", question, def)
		} else {
			fmt.Fprintf(p.out, "%s: ", question)
		}
		more := p.in.Scan()
		if !more && p.in.Err() != nil {
			return "", fmt.Errorf("reading the answer: %w", p.in.Err())
		}
		answer := ""
		if more {
			answer = strings.TrimSpace(p.in.Text())
		} else {
			fmt.Fprintln(p.out)
		}
		if answer == "" {
			answer = def
		}
		if check == nil {
			return answer, nil
		}
		err := check(answer)
		if err == nil {
			return answer, nil
		}
		if !more {
			return "", fmt.Errorf("%s: %w", question, err)
		}
		fmt.Fprintf(p.out, "  %v\n", err)
	}
}
