package chain

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/posthog-operator/posthog-proxy-operator/test/oracle"
)

// visitor is a browser at its own address that reaches every host name at
// the entry of the chain under test, as DNS would send it there.
type visitor struct {
	source string
	entry  string // the outermost hop's IP address
}

// answer is a response: from PostHog when decision is set, otherwise from
// a proxy on the way.
type answer struct {
	status   int
	location string
	decision *oracle.Decision
	body     string
}

func (v visitor) client() *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(v.source)}}
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				_, port, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				return dialer.DialContext(ctx, network, net.JoinHostPort(v.entry, port))
			},
			TLSClientConfig:   &tls.Config{RootCAs: certs.pool},
			DisableKeepAlives: true,
		},
		// Redirects are what the tests look at.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (v visitor) do(t *testing.T, method, url string, headers map[string]string, body io.Reader) answer {
	t.Helper()
	a, err := v.try(method, url, headers, body)
	if err != nil {
		t.Fatalf("%s %s from %s: %v", method, url, v.source, err)
	}
	return a
}

// try is one request; an error is a connection or TLS failure, which a
// caller waiting for a change may retry.
func (v visitor) try(method, url string, headers map[string]string, body io.Reader) (answer, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return answer{}, err
	}
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	resp, err := v.client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(data)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		a.decision = &oracle.Decision{}
		if err := json.Unmarshal(data, a.decision); err != nil {
			return answer{}, fmt.Errorf("PostHog's answer is not a decision: %v: %s", err, data)
		}
	}
	return a, nil
}

func (v visitor) get(t *testing.T, url string, headers map[string]string) answer {
	t.Helper()
	return v.do(t, http.MethodGet, url, headers, nil)
}

// follow gets url and follows redirects, at most five: a loop shows as
// five.
func (v visitor) follow(t *testing.T, url string) (final answer, redirects []string) {
	t.Helper()
	for {
		a := v.get(t, url, nil)
		if a.location == "" || len(redirects) == 5 {
			return a, redirects
		}
		redirects = append(redirects, a.location)
		url = a.location
	}
}
