// Package logtest writes and checks sequence-numbered log lines, for the
// tests and the benchmark of podkit logsaver (issue 6): a Writer appends
// lines at a rate while rotating its file the ways log libraries and
// logrotate do, and a Tally counts what arrived at a sink, finding lost and
// duplicated lines. A line is
//
//	seq=000000000042 src=NAME <padding to the line size>
//
// so a line's number and source survive any sink that keeps the text.
package logtest
