package hashkit_test

import (
	"fmt"

	"github.com/podkit/podkit/pkg/memcache-proxy/hashkit"
)

// The pool of a twemproxy config such as
//
//	pool:
//	  hash: fnv1a_64
//	  distribution: ketama
//	  hash_tag: "{}"
//	  servers:
//	   - 10.0.0.1:11211:1
//	   - 10.0.0.2:11211:1
//	   - 10.0.0.3:11211:2 big
func ExampleNew() {
	ring, err := hashkit.New(hashkit.Config{
		Hash:         hashkit.HashFNV64a,
		Distribution: hashkit.Ketama,
		HashTag:      "{}",
		Servers: []hashkit.Server{
			{Addr: "10.0.0.1:11211", Weight: 1},
			{Addr: "10.0.0.2:11211", Weight: 1},
			{Addr: "10.0.0.3:11211", Weight: 2, Name: "big"},
		},
	})
	if err != nil {
		panic(err)
	}
	for _, key := range []string{"user:{42}:name", "user:{42}:email", "session:abc"} {
		i := ring.Pick([]byte(key))
		fmt.Printf("%s -> %d (%s)\n", key, i, ring.RingName(i))
	}

	// auto_eject_hosts took server 2 out: twemproxy rebuilds the ring
	// from the live servers.
	live, err := ring.WithLive([]bool{true, true, false})
	if err != nil {
		panic(err)
	}
	fmt.Println("after ejection: user:{42}:name ->", live.Pick([]byte("user:{42}:name")))
	// Output:
	// user:{42}:name -> 2 (big)
	// user:{42}:email -> 2 (big)
	// session:abc -> 0 (10.0.0.1)
	// after ejection: user:{42}:name -> 1
}
