package load

import (
	"strconv"
	"strings"
)

// minPayload is the least a Payload holds before it repeats: a cycle of a
// few lines is repeated until it fills many datagrams, so that packing is
// the same as with a long cycle.
const minPayload = 256 << 10

// Datagram is one UDP datagram or TCP write: whole lines, each ending in
// "\n" (statsd_exporter splits a datagram on newlines; TCP needs them).
type Datagram struct {
	Data    []byte
	Lines   int // lines in Data
	Counted int // of them, counters and timers: the lines Count can see
}

// Payload is the prebuilt load: the sender cycles through Datagrams, so
// that sending costs a syscall per datagram and nothing else.
type Payload struct {
	Datagrams []Datagram
	Bytes     int // of all datagrams
}

// tagMarks open and close the tags of the name-embedded styles:
// name,k=v:1|c (InfluxDB), name#k=v:1|c (Librato), name[k=v]:1|c (SignalFx).
var tagMarks = map[string][2]string{"influx": {",", ""}, "librato": {"#", ""}, "signalfx": {"[", "]"}}

// Line returns line i of the cycle: type Types[i%len(Types)], series
// First + (i/len(Types)) % Series. Counters add 1; timers and gauges take a
// value that varies with the series; sets add a member per series.
func (c Config) Line(i int) string {
	c = c.withDefaults()
	return string(c.appendLine(nil, i))
}

func (c Config) appendLine(b []byte, i int) []byte {
	typ := c.Types[i%len(c.Types)]
	series := c.First + (i/len(c.Types))%c.Series
	name := c.Prefix + "." + typ
	var value string
	switch typ {
	case "counter":
		value = "1"
	case "gauge":
		value = strconv.Itoa(series % 1000)
	case "timer":
		value = strconv.Itoa(1 + (series*7)%500)
	case "set":
		value = "m" + strconv.Itoa(series)
	}
	kind := Types[typ]
	s := strconv.Itoa(series)
	switch c.Style {
	case "none":
		b = append(b, name+"."+s+":"+value+"|"+kind...)
	case "dogstatsd":
		b = append(b, name+":"+value+"|"+kind+"|#series:"+s...)
		for _, t := range c.Tags {
			b = append(b, ',')
			b = append(b, t...)
		}
	default:
		open, close := tagMarks[c.Style][0], tagMarks[c.Style][1]
		b = append(b, name+open+"series="+s...)
		for _, t := range c.Tags {
			b = append(b, ","+strings.Replace(t, ":", "=", 1)...)
		}
		b = append(b, close+":"+value+"|"+kind...)
	}
	return append(b, '\n')
}

// Build packs lines into datagrams of at most Size bytes (one line each with
// OneLine; a line longer than Size goes alone). It takes whole cycles of
// Series * len(Types) lines, repeated until at least minPayload bytes, so
// that every series is sent equally often.
func Build(c Config) (*Payload, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	cycle := c.Series * len(c.Types)
	p := &Payload{}
	var cur Datagram
	var line []byte
	flush := func() {
		if cur.Lines > 0 {
			p.Datagrams = append(p.Datagrams, cur)
			p.Bytes += len(cur.Data)
			cur = Datagram{}
		}
	}
	for rep := 0; rep == 0 || p.Bytes+len(cur.Data) < minPayload; rep++ {
		for n := range cycle {
			line = c.appendLine(line[:0], n)
			if c.OneLine || len(cur.Data)+len(line) > c.Size {
				flush()
			}
			if cur.Data == nil {
				size := c.Size
				if c.OneLine {
					size = len(line)
				}
				cur.Data = make([]byte, 0, max(size, len(line)))
			}
			cur.Data = append(cur.Data, line...)
			cur.Lines++
			if t := c.Types[n%len(c.Types)]; t == "counter" || t == "timer" {
				cur.Counted++
			}
		}
	}
	flush()
	return p, nil
}
