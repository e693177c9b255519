package trust

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    string
		wantErr string
	}{
		{name: "empty", in: nil, want: ""},
		{name: "sorted numerically, not as text", in: []string{"10.0.0.10", "10.0.0.9", "9.9.9.9"}, want: "9.9.9.9,10.0.0.9,10.0.0.10"},
		{name: "duplicates removed", in: []string{"10.0.0.1", "10.0.0.1", "10.0.0.2"}, want: "10.0.0.1,10.0.0.2"},
		{name: "IPv4 before IPv6", in: []string{"2001:db8::1", "10.0.0.1"}, want: "10.0.0.1,2001:db8::1"},
		{name: "IPv6 written canonically", in: []string{"2001:DB8:0:0:0:0:0:1"}, want: "2001:db8::1"},
		{name: "two spellings of one IPv6 address are one entry", in: []string{"2001:db8::1", "2001:0db8:0000::0001"}, want: "2001:db8::1"},
		{name: "spaces around an entry are ignored", in: []string{" 10.0.0.1 "}, want: "10.0.0.1"},
		{name: "CIDR refused", in: []string{"10.0.0.0/8"}, wantErr: `"10.0.0.0/8" is not an IP address`},
		{name: "IPv4-mapped IPv6 refused with the spelling to use", in: []string{"::ffff:10.0.0.1"}, wantErr: "write it as 10.0.0.1"},
		{name: "zone refused", in: []string{"fe80::1%eth0"}, wantErr: "zone"},
		{name: "garbage refused", in: []string{"proxy.local"}, wantErr: `"proxy.local" is not an IP address`},
		{name: "loopback and link-local kept", in: []string{"fe80::1", "127.0.0.1"}, want: "127.0.0.1,fe80::1"},
		{name: "unspecified refused", in: []string{"0.0.0.0"}, wantErr: "not a unicast address"},
		{name: "IPv6 unspecified refused", in: []string{"::"}, wantErr: "not a unicast address"},
		{name: "broadcast refused", in: []string{"255.255.255.255"}, wantErr: "not a unicast address"},
		{name: "multicast refused", in: []string{"224.0.0.1"}, wantErr: "not a unicast address"},
		{name: "leading zeros refused", in: []string{"010.0.0.1"}, wantErr: "is not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got.Value() != tt.want {
				t.Errorf("Parse(%q).Value() = %q, want %q", tt.in, got.Value(), tt.want)
			}
			if got.Len() != len(got.Strings()) {
				t.Errorf("Len() = %d but %d strings", got.Len(), len(got.Strings()))
			}
		})
	}
}

func TestHashFollowsContentOnly(t *testing.T) {
	a, _ := Parse([]string{"10.0.0.2", "10.0.0.1"})
	b, _ := Parse([]string{"10.0.0.1", "10.0.0.2", "10.0.0.1"})
	c, _ := Parse([]string{"10.0.0.1"})
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
