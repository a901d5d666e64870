package graphite_test

import (
	"fmt"
	"time"

	"github.com/podkit/podkit/pkg/metrics-adapter/graphite"
	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
)

type printer struct{ mp *mapping.Mapper }

func (p printer) Sample(s *graphite.Sample) {
	m := graphite.Expose(s, p.mp, graphite.ExposeOptions{})
	if m.Drop {
		fmt.Println("dropped by mapping")
		return
	}
	expired := graphite.Expired(s.Timestamp, time.Unix(1700000060, 0), graphite.DefaultSampleExpiry)
	fmt.Println(m.Name, m.Labels, m.Value, "expired:", expired)
}

func (printer) Error(r graphite.Reason, _ []byte) { fmt.Printf("rejected (%s)\n", r) }

func ExampleNew() {
	mp, err := mapping.Parse([]byte("mappings:\n- match: servers.*.cpu\n  name: cpu_load\n  labels: {host: $1}\n- match: debug.*\n  name: x\n  action: drop\n"))
	if err != nil {
		panic(err)
	}
	p, err := graphite.New(graphite.Config{})
	if err != nil {
		panic(err)
	}
	packet := []byte("servers.web1.cpu;dc=eu 0.75 1700000000\n" +
		"disk.used-bytes;mount.point=/ 1e9 1700000000\r\n" +
		"debug.x 1 1700000000\n" +
		"old.sample 1 1600000000\n" +
		"bad;tag 1 x\n")
	p.Parse(packet, printer{mp})
	// Output:
	// cpu_load [{dc eu} {host web1}] 0.75 expired: false
	// disk_used_bytes [{mount_point /}] 1e+09 expired: false
	// dropped by mapping
	// old_sample [] 1 expired: true
	// rejected (malformed_tag)
	// rejected (invalid_timestamp)
}
