package statsd

// Type is a statsd metric type.
type Type uint8

// The statsd types, spelled on the wire after the first '|'.
const (
	TypeCounter      Type = iota + 1 // "c"
	TypeGauge                        // "g"; Event.Relative for "+N" and "-N"
	TypeTimer                        // "ms": milliseconds
	TypeHistogram                    // "h"
	TypeDistribution                 // "d"
	TypeSet                          // "s": only with Config.Sets
)

var typeNames = [...]string{"", "counter", "gauge", "timer", "histogram", "distribution", "set"}

func (t Type) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return "unknown"
}

// Observer reports whether the type is observed into a summary or histogram
// (timer, histogram, distribution), as statsd_exporter's ObserverEvent.
func (t Type) Observer() bool {
	return t == TypeTimer || t == TypeHistogram || t == TypeDistribution
}

// Label is one tag. Name is already escaped like statsd_exporter's
// mapper.EscapeMetricName; Value is as sent.
type Label struct {
	Name, Value []byte
}

// Event is one parsed sample. Name and the Labels' bytes alias the packet
// or the Parser's scratch space: valid only until Handler.Event returns.
// Copy them to keep them.
type Event struct {
	Name   []byte // as sent, tags removed; not escaped (mappings match the raw name)
	Type   Type
	Value  float64 // in the unit sent; counters already divided by the sample rate
	Labels []Label // unique names, in first-seen order

	// Relative is true for a gauge sent as "+N" or "-N": add Value to the
	// gauge instead of setting it. (Also set for signed counters and
	// observers, where it means nothing, as in statsd_exporter.)
	Relative bool

	// Repeat is how many times an observer's Value is to be observed:
	// int(1/sample rate), as statsd_exporter which emits that many
	// events. Here it is a count (capped by Limits.MaxRepeat) so the
	// consumer can weight one observation. 1 for counters, gauges and sets.
	Repeat int

	// Member is a set's member as sent (TypeSet only; Value is then 0).
	// It aliases the packet like Name.
	Member []byte
}

// ObservedValue is the value to observe or add in Prometheus base units:
// timers are sent in milliseconds and observed in seconds (Value/1000),
// which statsd_exporter does in its line parser; everything else as is.
func (e *Event) ObservedValue() float64 {
	if e.Type == TypeTimer {
		return e.Value / 1000
	}
	return e.Value
}

// Reason says why a line, a sample or a tag was rejected. The set is fixed
// and small: use it as a metric label. The names are statsd_exporter's
// where it has one (statsd_exporter_sample_errors_total{reason},
// statsd_exporter_events_error_total{reason}).
type Reason uint8

// The reject reasons. Unless noted, the whole line is dropped; "sample"
// means only that value of a multi-value line is dropped.
const (
	// ReasonMalformedLine: no ':', nothing before it, or not UTF-8.
	ReasonMalformedLine Reason = iota + 1
	// ReasonMixedTaggingStyles: DogStatsD tags ("|#") on a line whose name
	// carried InfluxDB, Librato or SignalFX tags.
	ReasonMixedTaggingStyles
	// ReasonNotEnoughParts: no '|' after the first ':'.
	ReasonNotEnoughParts
	// ReasonInvalidExtendedAggregateType: several ':'-separated values for
	// one type that is not ms, h or d ("a:1:2|c").
	ReasonInvalidExtendedAggregateType
	// ReasonMalformedComponent (sample): fewer than 2 or more than 6
	// '|'-separated parts, or an empty part after the type.
	ReasonMalformedComponent
	// ReasonMalformedValue (sample): the value is not a float.
	ReasonMalformedValue
	// ReasonInvalidSampleFactor (sample): an unknown part after the type
	// (sample dropped), or "@x" with x not a float (reported, but the
	// sample is kept with rate 1, as statsd_exporter does).
	ReasonInvalidSampleFactor
	// ReasonMalformedContainerID (sample): a part starting with 'c' that is
	// not "c:ID".
	ReasonMalformedContainerID
	// ReasonIllegalEvent (sample): unknown type, or a set without
	// Config.Sets.
	ReasonIllegalEvent
	// ReasonIllegalNegativeCounter (sample): a counter below zero after the
	// sample rate (statsd_exporter_events_error_total).
	ReasonIllegalNegativeCounter
	// ReasonMalformedTag: an empty tag, or one without separator, key or
	// value (statsd_exporter_tag_errors_total). Only the tag is dropped.
	ReasonMalformedTag
	// ReasonEmptyName: nothing left of the name once tags are removed
	// ("#k=v:1|c"); statsd_exporter takes it, and then every scrape of its
	// /metrics fails.
	ReasonEmptyName
	// ReasonLineTooLong: longer than Limits.MaxLineLength.
	ReasonLineTooLong
	// ReasonTooManyTags (sample): more than Limits.MaxTags labels.
	ReasonTooManyTags
	// ReasonReservedLabelName: a tag whose escaped key starts with "__",
	// reserved by Prometheus. Only the tag is dropped.
	ReasonReservedLabelName
	// ReasonPacketTooLong: the packet is longer than Limits.MaxPacketSize;
	// nothing in it is parsed.
	ReasonPacketTooLong

	numReasons
)

var reasonNames = [numReasons]string{
	"",
	"malformed_line",
	"mixed_tagging_styles",
	"not_enough_parts_after_colon",
	"invalid_extended_aggregate_type",
	"malformed_component",
	"malformed_value",
	"invalid_sample_factor",
	"malformed_container_id",
	"illegal_event",
	"illegal_negative_counter",
	"malformed_tag",
	"empty_name",
	"line_too_long",
	"too_many_tags",
	"reserved_label_name",
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

// String is the metric label value, e.g. "malformed_value".
func (r Reason) String() string {
	if r < numReasons && r != 0 {
		return reasonNames[r]
	}
	return "unknown"
}

// Handler receives a packet's events and errors, in order.
type Handler interface {
	// Event gets one sample. e and its slices are reused after it returns.
	Event(e *Event)
	// Error gets one rejected line, sample or tag; line aliases the packet
	// (do not log it at Info: it is untrusted input).
	Error(r Reason, line []byte)
}
