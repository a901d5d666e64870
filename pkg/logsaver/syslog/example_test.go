package syslog_test

import (
	"context"
	"log"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
	"github.com/podkit/podkit/pkg/logsaver/syslog"
)

func ExampleNew() {
	sink, err := syslog.New(syslog.Config{
		URL:    "syslog+tcp://127.0.0.1:514?facility=local0&app-name=web",
		Labels: []record.Label{{Name: "pod", Value: "web-0"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()
	r := record.Record{Line: []byte("hello"), File: "/var/log/app.log", Time: time.Now()}
	b := &record.Batch{Records: []record.Record{r}, NDJSON: record.AppendNDJSON(nil, &r, nil)}
	if err := sink.Send(context.Background(), b); err != nil {
		log.Printf("%s: %v", sink.Name(), err) // sent again later
	}
}
