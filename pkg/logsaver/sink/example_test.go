package sink_test

import (
	"context"
	"fmt"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
	"github.com/podkit/podkit/pkg/logsaver/sink"
)

func ExampleParse() {
	s, err := sink.Parse("stdout", sink.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	r := record.Record{Line: []byte("hello"), File: "/var/log/app.log", Offset: 0, Time: time.Unix(0, 0)}
	b := &record.Batch{Records: []record.Record{r}, NDJSON: record.AppendNDJSON(nil, &r, nil)}
	if err := s.Send(context.Background(), b); err != nil {
		panic(err)
	}
	fmt.Println(s.Name(), s.(sink.StatsSource).Stats().Acked)

	_, err = sink.Parse("file:///var/log/out?max-byte=1MiB", sink.Options{})
	fmt.Println(err)
	// Output:
	// {"line":"hello","file":"/var/log/app.log","offset":0,"time":"1970-01-01T00:00:00Z"}
	// stdout 1
	// sink file:///var/log/out: bad sink URL: unknown option "max-byte" (known: gzip, gzip-level, max-age, max-bytes, prefix)
}
