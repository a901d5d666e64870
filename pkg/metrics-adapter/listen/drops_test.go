package listen

import (
	"strings"
	"testing"
)

const procHeader = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops             \n"

var procCases = []struct {
	name   string
	in     string
	want   []procEntry
	errSub string
}{
	{"v4", procHeader +
		"  561: 0100007F:238D 00000000:0000 07 00000000:00000A00 00:00000000 00000000     0        0 123456 2 0000000000000000 42        \n" +
		"  562: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 0         \n",
		[]procEntry{{"0100007F:238D", 0xa00, 123456, 42}, {"00000000:0035", 0, 99, 0}}, ""},
	{"v6", "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
		" 1409: 00000000000000000000000001000000:238D 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 777 2 0000000000000000 7\n",
		[]procEntry{{"00000000000000000000000001000000:238D", 0, 777, 7}}, ""},
	{"header only", procHeader, nil, ""},
	{"short line", procHeader + "  1: 0100007F:238D\n", nil, "13 fields"},
	{"bad drops", procHeader + "  1: 0100007F:238D 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0 x\n", nil, "drops"},
	{"bad queue", procHeader + "  1: 0100007F:238D 00000000:0000 07 00000000 00:00000000 00000000 0 0 1 2 0 1\n", nil, "rx_queue"},
}

func TestScanProcNetUDP(t *testing.T) {
	for _, tc := range procCases {
		t.Run(tc.name, func(t *testing.T) {
			var got []procEntry
			err := scanProcNetUDP(strings.NewReader(tc.in), func(e procEntry) { got = append(got, e) })
			if tc.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("err = %v, want one naming %s", err, tc.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func FuzzScanProcNetUDP(f *testing.F) {
	for _, tc := range procCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		scanProcNetUDP(strings.NewReader(in), func(procEntry) {})
	})
}
