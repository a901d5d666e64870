package tail

import "bytes"

// splitState is what a cursor carries from one read of a file to the next.
type splitState struct {
	skipping bool // inside a truncated line: drop bytes up to the next '\n'
}

// splitCounts are the long lines met by one splitLines call.
type splitCounts struct{ split, truncated int }

// splitLines cuts data into lines on '\n' and calls emit with each line's
// bounds (without the '\n'). It returns how many bytes were consumed: a
// trailing line without '\n' is left for the next call unless flush, or
// unless it is already longer than maxLine. A line longer than maxLine is
// emitted in maxLine pieces (each cut counted as split), or, when
// truncate, as its first maxLine bytes with the rest dropped (counted once
// as truncated). Callers pass at least maxLine+1 bytes when they can, so
// that cuts fall at the same places however the input is chunked.
func splitLines(data []byte, maxLine int, truncate, flush bool, st *splitState, emit func(start, end int)) (consumed int, c splitCounts) {
	i := 0
	for i < len(data) {
		j := bytes.IndexByte(data[i:], '\n')
		if st.skipping {
			if j < 0 {
				return len(data), c // drop it all, still skipping
			}
			st.skipping = false
			i += j + 1
			continue
		}
		if j < 0 {
			rest := len(data) - i
			switch {
			case rest > maxLine:
				emit(i, i+maxLine)
				if truncate {
					c.truncated++
					st.skipping = true
					return len(data), c
				}
				c.split++
				i += maxLine
				continue
			case flush:
				emit(i, len(data))
				return len(data), c
			}
			return i, c
		}
		if j > maxLine {
			emit(i, i+maxLine)
			if truncate {
				c.truncated++
				i += j + 1
			} else {
				c.split++
				i += maxLine
			}
			continue
		}
		emit(i, i+j)
		i += j + 1
	}
	return i, c
}
