package trust

import (
	"strings"
	"testing"
)

func TestParseAndMerge(t *testing.T) {
	tests := []struct {
		name       string
		in         []string
		want       string
		wantRanges string
		wantErr    string
	}{
		{name: "empty", in: nil, want: ""},
		{name: "sorted numerically, not as text", in: []string{"10.0.0.10", "10.0.0.9", "9.9.9.9"}, want: "9.9.9.9,10.0.0.9,10.0.0.10"},
		{name: "duplicates removed", in: []string{"10.0.0.1", "10.0.0.1", "10.0.0.2"}, want: "10.0.0.1,10.0.0.2"},
		{name: "IPv4 before IPv6", in: []string{"2001:db8::1", "10.0.0.1"}, want: "10.0.0.1,2001:db8::1"},
		{name: "IPv6 written canonically", in: []string{"2001:DB8:0:0:0:0:0:1"}, want: "2001:db8::1"},
		{name: "two spellings of one IPv6 address are one entry", in: []string{"2001:db8::1", "2001:0db8:0000::0001"}, want: "2001:db8::1"},
		{name: "spaces around an entry are ignored", in: []string{" 10.0.0.1 "}, want: "10.0.0.1"},
		{name: "loopback and link-local kept", in: []string{"fe80::1", "127.0.0.1"}, want: "127.0.0.1,fe80::1"},
		{name: "networks kept and reported as ranges", in: []string{"10.0.0.0/8", "10.0.0.1", "2001:db8::/32"},
			want: "10.0.0.0/8,10.0.0.1,2001:db8::/32", wantRanges: "10.0.0.0/8,2001:db8::/32"},
		{name: "a one-address network is that address", in: []string{"10.0.0.1/32", "2001:db8::1/128", "10.0.0.1"},
			want: "10.0.0.1,2001:db8::1", wantRanges: ""},
		{name: "IPv6 network written canonically", in: []string{"2001:DB8:0::/48"}, want: "2001:db8::/48", wantRanges: "2001:db8::/48"},
		{name: "/0 refused", in: []string{"0.0.0.0/0"}, wantErr: "trusts every client"},
		{name: "a network wider than /8 refused", in: []string{"0.0.0.0/1"}, wantErr: "wider than /8"},
		{name: "an IPv6 network wider than /16 refused", in: []string{"2000::/3"}, wantErr: "wider than /8 (IPv4) or /16 (IPv6)"},
		{name: "a multicast network refused", in: []string{"224.0.0.0/8"}, wantErr: "multicast network"},
		{name: "an IPv6 multicast network refused", in: []string{"ff00::/16"}, wantErr: "multicast network"},
		{name: "a one-address unspecified network refused", in: []string{"0.0.0.0/32"}, wantErr: "not a unicast address"},
		{name: "IPv6 /0 refused", in: []string{"::/0"}, wantErr: "trusts every client"},
		{name: "host bits refused with the network to write", in: []string{"10.1.2.3/8"}, wantErr: "write the network as 10.0.0.0/8"},
		{name: "IPv4-mapped IPv6 refused with the spelling to use", in: []string{"::ffff:10.0.0.1"}, wantErr: "write it as 10.0.0.1"},
		{name: "IPv4-mapped IPv6 network refused", in: []string{"::ffff:10.0.0.0/104"}, wantErr: "IPv4-mapped"},
		{name: "zone refused", in: []string{"fe80::1%eth0"}, wantErr: "zone"},
		{name: "garbage refused", in: []string{"proxy.local"}, wantErr: `"proxy.local" is not an IP address or network`},
		{name: "leading zeros refused", in: []string{"010.0.0.1"}, wantErr: "is not an IP address"},
		{name: "unspecified refused", in: []string{"0.0.0.0"}, wantErr: "not a unicast address"},
		{name: "IPv6 unspecified refused", in: []string{"::"}, wantErr: "not a unicast address"},
		{name: "broadcast refused", in: []string{"255.255.255.255"}, wantErr: "not a unicast address"},
		{name: "multicast refused", in: []string{"224.0.0.1"}, wantErr: "not a unicast address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			got := Merge(Source{Name: "static", Entries: entries})
			if got.Value() != tt.want {
				t.Errorf("Value() = %q, want %q", got.Value(), tt.want)
			}
			if ranges := strings.Join(got.Ranges(), ","); ranges != tt.wantRanges {
				t.Errorf("Ranges() = %q, want %q", ranges, tt.wantRanges)
			}
			if got.Len() != len(got.Strings()) {
				t.Errorf("Len() = %d but %d strings", got.Len(), len(got.Strings()))
			}
		})
	}
}

func TestMergeDeduplicatesAcrossSourcesAndKeepsThem(t *testing.T) {
	a, _ := Parse([]string{"10.0.0.2", "10.0.0.1"})
	b, _ := Parse([]string{"10.0.0.1", "10.0.0.3"})
	l := Merge(Source{Name: "static", Entries: a}, Source{Name: "service/ingress/nginx", Entries: b})
	if l.Value() != "10.0.0.1,10.0.0.2,10.0.0.3" {
		t.Errorf("Value() = %q", l.Value())
	}
	if len(l.Sources()) != 2 || l.Sources()[1].Name != "service/ingress/nginx" || len(l.Sources()[1].Entries) != 2 {
		t.Errorf("Sources() = %+v", l.Sources())
	}
}

func TestHashFollowsContentOnly(t *testing.T) {
	list := func(s ...string) List {
		e, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return Merge(Source{Entries: e})
	}
	a := list("10.0.0.2", "10.0.0.1")
	b := list("10.0.0.1", "10.0.0.2", "10.0.0.1")
	c := list("10.0.0.1")
	if a.Hash() != b.Hash() {
		t.Errorf("same content, different hashes: %s vs %s", a.Hash(), b.Hash())
	}
	if a.Hash() == c.Hash() {
		t.Errorf("different content, same hash %s", a.Hash())
	}
	if !strings.HasPrefix(a.Hash(), "sha256:") || len(a.Hash()) != len("sha256:")+64 {
		t.Errorf("hash %q is not a sha256 digest", a.Hash())
	}
}
