package load

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrConfig marks a Config that cannot run; the command exits 2 on it.
var ErrConfig = errors.New("invalid config")

// Config describes one run. Zero values take the defaults noted.
type Config struct {
	Addrs     []string      `json:"addrs"`       // required; connection i talks to Addrs[i%len(Addrs)], which must all serve the same data
	Conns     int           `json:"conns"`       // 0: 4
	Keys      int           `json:"keys"`        // key space, keys KeyPrefix+"0" ... ; 0: 10000
	KeyPrefix string        `json:"key_prefix"`  // "": "mcload:"
	ValueSize int           `json:"value_size"`  // bytes per value; 0: 100
	GetWeight int           `json:"get_weight"`  // get:set ratio, GetWeight:SetWeight; both 0: 9:1
	SetWeight int           `json:"set_weight"`  //
	Multiget  int           `json:"multiget"`    // keys per get request; 0: 1
	Pipeline  int           `json:"pipeline"`    // requests in flight per connection; 0: 1
	Duration  time.Duration `json:"duration_ns"` // the measured phase; 0 (and Ops 0): 10s
	Ops       int64         `json:"ops"`         // > 0: the measured phase ends after this many requests instead
	Warmup    bool          `json:"warmup"`      // before measuring, set every key once so that gets hit
	Seed      uint64        `json:"seed"`        // the request mix and keys of every connection follow from it
	Timeout   time.Duration `json:"timeout_ns"`  // longest wait for one read or write; 0: 5s
	PIDs      []int         `json:"pids"`        // processes (the target) whose CPU time is sampled around the measured phase
}

const (
	maxKeyLen   = 250     // memcached's KEY_MAX_LENGTH
	maxValue    = 1 << 20 // memcached's default item size limit (-I 1m)
	maxPipeline = 1 << 16
	// Past this many keys per get, keys are drawn with replacement: the
	// distinct draw is quadratic. memcached answers a repeated key once per
	// occurrence and verification accepts that.
	maxDistinct = 64
)

func (c Config) withDefaults() Config {
	if c.Conns == 0 {
		c.Conns = 4
	}
	if c.Keys == 0 {
		c.Keys = 10000
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "mcload:"
	}
	if c.ValueSize == 0 {
		c.ValueSize = 100
	}
	if c.GetWeight == 0 && c.SetWeight == 0 {
		c.GetWeight, c.SetWeight = 9, 1
	}
	if c.Multiget == 0 {
		c.Multiget = 1
	}
	if c.Pipeline == 0 {
		c.Pipeline = 1
	}
	if c.Duration == 0 && c.Ops == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	return c
}

// Validate reports, naming the field, why c (after defaults) cannot run.
func (c Config) Validate() error {
	_, err := c.normalize()
	return err
}

func (c Config) normalize() (Config, error) {
	c = c.withDefaults()
	bad := func(format string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case len(c.Addrs) == 0:
		return bad("Addrs: at least one target address is required")
	case c.Conns < 1:
		return bad("Conns: must be >= 1 (got %d)", c.Conns)
	case c.Keys < 1:
		return bad("Keys: must be >= 1 (got %d)", c.Keys)
	case c.Keys < c.Conns:
		// Each key is written by one connection only, so that the versions
		// of a key are ordered and a stale read can be told from a race.
		return bad("Keys: must be >= Conns (%d keys, %d conns): every connection owns the keys it writes", c.Keys, c.Conns)
	case c.Multiget < 1:
		return bad("Multiget: must be >= 1 (got %d)", c.Multiget)
	case c.Multiget > c.Keys:
		return bad("Multiget: must be <= Keys (%d > %d)", c.Multiget, c.Keys)
	case c.GetWeight < 0 || c.SetWeight < 0:
		return bad("GetWeight, SetWeight: must be >= 0 (got %d:%d)", c.GetWeight, c.SetWeight)
	case c.Pipeline < 1 || c.Pipeline > maxPipeline:
		return bad("Pipeline: must be in [1, %d] (got %d)", maxPipeline, c.Pipeline)
	case c.Duration < 0:
		return bad("Duration: must be >= 0 (got %s)", c.Duration)
	case c.Ops < 0:
		return bad("Ops: must be >= 0 (got %d)", c.Ops)
	case c.Timeout < 0:
		return bad("Timeout: must be > 0 (got %s)", c.Timeout)
	}
	for i := 0; i < len(c.KeyPrefix); i++ {
		if b := c.KeyPrefix[i]; b <= ' ' || b == 0x7f {
			return bad("KeyPrefix: %q has a space or control character", c.KeyPrefix)
		}
	}
	longest := len(c.KeyPrefix) + len(strconv.Itoa(c.Keys-1))
	if longest > maxKeyLen {
		return bad("KeyPrefix: keys would be %d bytes, memcached's limit is %d", longest, maxKeyLen)
	}
	if min := longest + valueOverhead; c.ValueSize < min || c.ValueSize > maxValue {
		return bad("ValueSize: must be in [%d, %d] for these keys (got %d): a value holds its key, a version and a checksum", min, maxValue, c.ValueSize)
	}
	return c, nil
}
