package twemconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// ReadFile reads and parses a twemproxy configuration file of at most
// MaxFileSize bytes.
func ReadFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Err: pathErr(err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Err: pathErr(err)}
	}
	return Parse(path, data)
}

// pathErr drops the path that *fs.PathError repeats.
func pathErr(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// Parse parses the text of a twemproxy configuration file; file names it in
// errors. It accepts what nutcracker 0.5.0 accepts, with every default
// filled in, except the keys podkit does not support (ErrUnsupported) and
// values nutcracker takes but cannot run with (README.md lists both). Like
// nutcracker it refuses YAML beyond block mappings and sequences of plain
// or quoted scalars: no flow style, anchors, aliases, tags or document
// markers. The first error in the file is returned, as an *Error with its
// line.
func Parse(file string, data []byte) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Err: fmt.Errorf("%w (over %d bytes)", ErrTooLarge, MaxFileSize)}
	}
	fail := func(line int, pool, key string, err error) (*Config, error) {
		return nil, &Error{File: file, Line: line, Pool: pool, Key: key, Err: err}
	}
	if line := markerLine(data); line > 0 {
		return fail(line, "", "", errors.New("document markers (--- and ...) are not allowed: twemproxy reads exactly one document, without them"))
	}
	var doc yaml.Node
	if err := unmarshal(data, &doc); err != nil {
		line, msg := yamlErr(err)
		return fail(line, "", "", errors.New("invalid YAML: "+msg))
	}
	if len(doc.Content) == 0 {
		return fail(0, "", "", errors.New("no pools"))
	}
	if n, what := unsupportedYAML(doc.Content[0]); n != nil {
		return fail(n.Line, "", "", fmt.Errorf("%s are not allowed: twemproxy reads block mappings and lists of plain or quoted values only", what))
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fail(root.Line, "", "", errors.New("want a mapping of pool names to pools"))
	}

	cfg := &Config{File: file}
	type where struct {
		pool    int
		keys    map[string]int // key -> line
		servers []int          // server index -> line
	}
	var lines []where
	poolLine := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return fail(k.Line, "", "", errors.New("a pool name must be a plain or quoted value"))
		}
		name := k.Value
		if name == "" {
			return fail(k.Line, "", "", errors.New("empty pool name"))
		}
		if first, ok := poolLine[name]; ok {
			return fail(k.Line, name, "", fmt.Errorf("pool defined twice (first at line %d)", first))
		}
		poolLine[name] = k.Line
		if v.Kind != yaml.MappingNode {
			return fail(k.Line, name, "", errors.New("want a mapping of keys (listen:, servers:, ...)"))
		}
		p := DefaultPool()
		p.Name = name
		w := where{pool: k.Line, keys: map[string]int{}}
		for j := 0; j+1 < len(v.Content); j += 2 {
			kk, vv := v.Content[j], v.Content[j+1]
			if kk.Kind != yaml.ScalarNode {
				return fail(kk.Line, name, "", errors.New("a key must be a plain or quoted value"))
			}
			key := kk.Value
			if first, ok := w.keys[key]; ok {
				return fail(kk.Line, name, key, fmt.Errorf("set twice (first at line %d)", first))
			}
			w.keys[key] = kk.Line
			if key == "servers" {
				if vv.Kind != yaml.SequenceNode {
					return fail(kk.Line, name, key, errors.New("want a list of server lines (\"- HOST:PORT:WEIGHT [NAME]\")"))
				}
				for _, s := range vv.Content {
					if s.Kind != yaml.ScalarNode {
						return fail(s.Line, name, key, errors.New("want a server line (\"HOST:PORT:WEIGHT [NAME]\")"))
					}
					srv, err := parseServerLine(s.Value, false)
					if err != nil {
						return fail(s.Line, name, key, err)
					}
					p.Servers = append(p.Servers, srv)
					w.servers = append(w.servers, s.Line)
				}
				continue
			}
			if vv.Kind != yaml.ScalarNode {
				return fail(kk.Line, name, key, errors.New("want a single value, not a list or mapping"))
			}
			warn, err := setKey(&p, key, vv.Value)
			if err != nil {
				return fail(kk.Line, name, key, err)
			}
			if warn != "" {
				cfg.Warnings = append(cfg.Warnings, (&Error{File: file, Line: kk.Line, Pool: name, Key: key, Err: errors.New(warn)}).Error())
			}
		}
		cfg.Pools = append(cfg.Pools, p)
		lines = append(lines, w)
	}

	if i, f := checkPools(cfg.Pools); f != nil {
		e := &Error{File: file, Key: f.key, Err: f.err}
		if i >= 0 {
			w := lines[i]
			e.Pool = cfg.Pools[i].Name
			e.Line = w.pool
			if l, ok := w.keys[f.key]; ok {
				e.Line = l
			}
			if f.key == "servers" && f.server >= 0 && f.server < len(w.servers) {
				e.Line = w.servers[f.server]
			}
		}
		return nil, e
	}
	return cfg, nil
}

// setKey sets one pool key from its value as twemproxy reads it: numbers as
// nc_atoi, booleans exactly "true" or "false". It returns a warning for a key
// that is accepted but has no effect.
func setKey(p *Pool, key, val string) (warn string, err error) {
	switch key {
	case "listen":
		p.Listen, err = parseListen(val)
	case "hash":
		p.Hash = val
	case "hash_tag":
		// nutcracker: "is not a valid hash tag string with two characters"
		// (two bytes: "é" passes). Pool.Validate also allows "", for flags.
		if len(val) != 2 {
			return "", fmt.Errorf("%s: want exactly two bytes, like \"{}\"", quote(val))
		}
		p.HashTag = val
	case "distribution":
		p.Distribution = val
	case "timeout":
		p.Timeout, err = parseMillis(val)
	case "backlog":
		p.Backlog, err = parseNum(val)
	case "client_connections":
		p.ClientConnections, err = parseNum(val)
		if err == nil && p.ClientConnections != 0 {
			warn = "not enforced: nutcracker 0.5.0 ignores it too, so podkit keeps serving every client"
		}
	case "tcpkeepalive":
		p.TCPKeepalive, err = parseBool(val)
	case "preconnect":
		p.Preconnect, err = parseBool(val)
	case "auto_eject_hosts":
		p.AutoEjectHosts, err = parseBool(val)
	case "server_connections":
		p.ServerConnections, err = parseNum(val)
	case "server_retry_timeout":
		p.ServerRetryTimeout, err = parseMillis(val)
	case "server_failure_limit":
		p.ServerFailureLimit, err = parseNum(val)
	case "redis":
		var redis bool
		if redis, err = parseBool(val); err == nil && redis {
			err = fmt.Errorf("true is %w: it speaks the memcached protocol only", ErrUnsupported)
		}
	case "redis_auth":
		// Never quote the value: it is a password.
		err = fmt.Errorf("%w: it speaks the memcached protocol only (the value is not shown)", ErrUnsupported)
	case "redis_db":
		var db int
		if db, err = parseNum(val); err == nil && db != 0 {
			err = fmt.Errorf("%d is %w: it applies to redis pools, and podkit speaks the memcached protocol only", db, ErrUnsupported)
		}
	default:
		// Name the key, not the value: an unknown key may be a misspelt
		// redis_auth.
		err = fmt.Errorf("%w (twemproxy 0.5 knows listen, hash, hash_tag, distribution, timeout, backlog, client_connections, tcpkeepalive, preconnect, auto_eject_hosts, server_connections, server_retry_timeout, server_failure_limit, servers, redis, redis_auth, redis_db)", ErrUnknownKey)
	}
	return warn, err
}

func parseMillis(s string) (time.Duration, error) {
	n, err := parseNum(s)
	if err != nil {
		return 0, fmt.Errorf("%w of milliseconds", err)
	}
	return time.Duration(n) * time.Millisecond, nil
}

func parseBool(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s: want true or false", quote(s))
}

// markerLine returns the line of the first document marker ("---" or "..."
// at the start of a line), 0 for none. yaml.Node does not record them and
// nutcracker refuses them (conf_validate_tokens), as it does a %YAML or
// %TAG directive, which cannot stand without "---".
func markerLine(data []byte) int {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for line := 1; len(data) > 0; line++ {
		var l []byte
		l, data, _ = bytes.Cut(data, []byte("\n"))
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(l) >= 3 && (string(l[:3]) == "---" || string(l[:3]) == "...") &&
			(len(l) == 3 || l[3] == ' ' || l[3] == '\t') {
			return line
		}
	}
	return 0
}

// unsupportedYAML returns the first node, in document order, that uses YAML
// nutcracker refuses, and what it is.
func unsupportedYAML(n *yaml.Node) (*yaml.Node, string) {
	switch {
	case n.Kind == yaml.AliasNode:
		return n, "aliases (*name)"
	case n.Anchor != "":
		return n, "anchors (&name)"
	case n.Style&yaml.TaggedStyle != 0:
		return n, "tags (!!type)"
	case n.Style&yaml.FlowStyle != 0:
		return n, "flow style ({...} and [...])"
	}
	for _, c := range n.Content {
		if bad, what := unsupportedYAML(c); bad != nil {
			return bad, what
		}
	}
	return nil, ""
}

// unmarshal is yaml.Unmarshal that turns a panic of the YAML library into an
// error: a bad file must never crash the proxy, on start or on reload.
func unmarshal(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(data, n)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlErr splits "yaml: line 3: msg" into 3 and "msg".
func yamlErr(err error) (int, string) {
	s := err.Error()
	if m := yamlLine.FindStringSubmatch(s); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n, m[2]
		}
	}
	if len(s) > 6 && s[:6] == "yaml: " {
		s = s[6:]
	}
	return 0, s
}
