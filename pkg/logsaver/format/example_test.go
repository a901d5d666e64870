package format_test

import (
	"fmt"
	"regexp"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/format"
)

func ExampleNew() {
	d, err := format.New(format.Config{
		Format:    format.CRI,
		File:      "/var/log/pods/app.log",
		Multiline: regexp.MustCompile(`^\d{4}-\d{2}-\d{2} `),
	})
	if err != nil {
		panic(err)
	}
	var out []format.Entry
	var off int64
	for _, l := range []string{
		"2024-05-01T12:00:00.1Z stderr F 2024-05-01 12:00:00 ERROR failed\n",
		"2024-05-01T12:00:00.2Z stderr P java.lang.IllegalStateException: \n",
		"2024-05-01T12:00:00.3Z stderr F bad state\n",
		"2024-05-01T12:00:00.4Z stderr F \tat com.example.Main.main(Main.java:5)\n",
	} {
		out = d.Feed(out, []byte(l), off, off+int64(len(l)))
		off += int64(len(l))
	}
	fmt.Println(len(out), "records; checkpoint at", d.SafeOffset())
	// The caller drives the timeout (here: as if the file ended).
	out = d.Flush(out, time.Now().Add(time.Hour))
	for _, e := range out {
		fmt.Printf("[%d,%d) %s\n%s\n", e.Offset, e.End, e.Fields[1].Value, e.Line)
	}
	fmt.Println("checkpoint at", d.SafeOffset())
	// Output:
	// 0 records; checkpoint at 0
	// [0,244) "stderr"
	// 2024-05-01 12:00:00 ERROR failed
	// java.lang.IllegalStateException: bad state
	// 	at com.example.Main.main(Main.java:5)
	// checkpoint at 244
}
