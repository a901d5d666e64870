package twemconf_test

import (
	"errors"
	"fmt"

	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

func ExampleParse() {
	cfg, err := twemconf.Parse("nutcracker.yml", []byte(`
cache:
  listen: 127.0.0.1:22121
  hash: fnv1a_64
  distribution: ketama
  timeout: 400
  auto_eject_hosts: true
  servers:
   - 10.0.0.1:11211:1 mc-a
   - 10.0.0.2:11212:1
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	pools, _ := cfg.Select("") // every pool, as nutcracker runs them
	for _, p := range pools {
		fmt.Println(p.Name, p.Listen.Network(), p.Listen.Addr(), p.Hash, p.Distribution, p.Timeout, p.ServerRetryTimeout)
		for _, s := range p.Servers {
			fmt.Printf("  %s %s weight %d ring %q\n", s.Network(), s.Addr(), s.Weight, s.RingName())
		}
	}

	_, err = twemconf.Parse("nutcracker.yml", []byte("cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 10.0.0.1:6379:1\n"))
	fmt.Println(err)
	fmt.Println(errors.Is(err, twemconf.ErrUnsupported))
	// Output:
	// cache tcp 127.0.0.1:22121 fnv1a_64 ketama 400ms 30s
	//   tcp 10.0.0.1:11211 weight 1 ring "mc-a"
	//   tcp 10.0.0.2:11212 weight 1 ring "10.0.0.2:11212"
	// nutcracker.yml:3: pool "cache": redis: true is not supported by podkit memcache-proxy: it speaks the memcached protocol only
	// true
}

// A pool from flags: twemproxy's defaults, then the flags' values.
func ExampleParseServerFlag() {
	p := twemconf.DefaultPool()
	p.Listen, _ = twemconf.ParseListen("127.0.0.1:11211")
	for _, arg := range []string{"10.0.0.1:11211", "[fd00::2]:11211:2 mc-b"} {
		s, err := twemconf.ParseServerFlag(arg)
		if err != nil {
			fmt.Println(err)
			return
		}
		p.Servers = append(p.Servers, s)
	}
	p.ServerConnections = 0
	err := p.Validate()
	if e, ok := errors.AsType[*twemconf.Error](err); ok {
		fmt.Printf("%s: %v\n", e.Flag(), e.Err)
	}
	// Output:
	// --server-connections: must be at least 1 (got 0)
}
