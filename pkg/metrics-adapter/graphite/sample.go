package graphite

import (
	"math"
	"time"
)

// Label is one Graphite tag. Name is already escaped (EscapeLabelName);
// Value is as sent (valid UTF-8, maybe empty).
type Label struct {
	Name, Value []byte
}

// Sample is one parsed line. Path and the Labels' bytes alias the packet or
// the Parser's scratch space: valid only until Handler.Sample returns. Copy
// them to keep them.
type Sample struct {
	// Path is the Graphite path with the tags removed, as sent (not
	// escaped: mappings match the raw path). Never empty.
	Path []byte
	// Labels are the tags ("path;k=v;k2=v2"): unique names, in first-seen
	// order; the last value for a name wins, as in graphite_exporter's map.
	Labels []Label
	// Value is the value as sent; NaN and ±Inf included.
	Value float64
	// Timestamp is the line's timestamp (seconds since the epoch, a float),
	// converted as graphite_exporter does: time.Unix(int64(ts),
	// int64(math.Mod(ts, 1)*1e9)), with amd64's conversion of NaN, ±Inf and
	// out-of-range values (math.MinInt64), so such a sample is already
	// expired. See Expired.
	Timestamp time.Time
}

// unixTime is graphite_exporter's conversion of a timestamp.
func unixTime(ts float64) time.Time {
	return time.Unix(truncInt64(ts), truncInt64(math.Mod(ts, 1)*1e9))
}

// truncInt64 is int64(f) as amd64 computes it: truncation toward zero, and
// math.MinInt64 for NaN and values outside the int64 range (Go leaves those
// implementation-defined; arm64 saturates instead).
func truncInt64(f float64) int64 {
	if f >= -(1<<63) && f < 1<<63 {
		return int64(f)
	}
	return math.MinInt64
}

// DefaultSampleExpiry is graphite_exporter's --graphite.sample-expiry.
const DefaultSampleExpiry = 5 * time.Minute

// Expired reports whether a sample with timestamp ts is no longer exposed
// at time now: graphite_exporter hides (and, once a minute, deletes) a
// sample whose own timestamp is older than now-expiry, whenever it arrived.
func Expired(ts, now time.Time, expiry time.Duration) bool {
	return now.Add(-expiry).After(ts)
}

// Reason says why a line or a tag was rejected. The set is fixed and small:
// use it as a metric label.
type Reason uint8

// The reject reasons. Unless noted, the whole line is dropped.
const (
	// ReasonWrongFieldCount: after trimming white space, not exactly three
	// fields separated by single spaces (graphite_exporter: "Invalid part
	// count", logged only). A tab is not a separator.
	ReasonWrongFieldCount Reason = iota + 1
	// ReasonInvalidValue: the value is not a float for strconv.ParseFloat
	// (out of range included); graphite_exporter: "Invalid value", logged.
	ReasonInvalidValue
	// ReasonInvalidTimestamp: the timestamp is not a float;
	// graphite_exporter: "Invalid timestamp", logged.
	ReasonInvalidTimestamp
	// ReasonMalformedTag: a tag without '=' ("path;k"). Only the tag is
	// dropped; graphite_exporter counts it in graphite_tag_parse_failures.
	ReasonMalformedTag
	// ReasonInvalidLabelName: a tag with an empty name ("path;=v"), or one
	// that escapes to a name starting with "__" (reserved). Only the tag is
	// dropped; graphite_exporter takes it and panics on the next scrape.
	ReasonInvalidLabelName
	// ReasonInvalidLabelValue: a tag value that is not UTF-8. Only the tag
	// is dropped; graphite_exporter takes it and panics on the next scrape.
	ReasonInvalidLabelValue
	// ReasonEmptyPath: nothing before the first ';' ("; k=v 1 2");
	// graphite_exporter takes it and panics on the next scrape.
	ReasonEmptyPath
	// ReasonLineTooLong: longer than Limits.MaxLineLength.
	ReasonLineTooLong
	// ReasonTooManyTags: more than Limits.MaxTags distinct tag names.
	ReasonTooManyTags
	// ReasonPacketTooLong: the packet is longer than Limits.MaxPacketSize;
	// nothing in it is parsed.
	ReasonPacketTooLong

	numReasons
)

var reasonNames = [numReasons]string{
	"",
	"wrong_field_count",
	"invalid_value",
	"invalid_timestamp",
	"malformed_tag",
	"invalid_label_name",
	"invalid_label_value",
	"empty_path",
	"line_too_long",
	"too_many_tags",
	"packet_too_long",
}

// Reasons lists every Reason, to pre-create metric series.
func Reasons() []Reason {
	r := make([]Reason, 0, numReasons-1)
	for i := Reason(1); i < numReasons; i++ {
		r = append(r, i)
	}
	return r
}

// String is the metric label value, e.g. "invalid_value".
func (r Reason) String() string {
	if r < numReasons && r != 0 {
		return reasonNames[r]
	}
	return "unknown"
}

// DropsLine reports whether r drops the whole line (false: only a tag).
func (r Reason) DropsLine() bool {
	return r != ReasonMalformedTag && r != ReasonInvalidLabelName && r != ReasonInvalidLabelValue
}

// Handler receives a packet's samples and errors, in order.
type Handler interface {
	// Sample gets one sample. s and its slices are reused after it returns.
	Sample(s *Sample)
	// Error gets one rejected line or tag; line aliases the packet (do not
	// log it at Info: it is untrusted input).
	Error(r Reason, line []byte)
}
