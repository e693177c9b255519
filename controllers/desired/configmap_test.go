package desired

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers/trust"
)

func TestConfigMap(t *testing.T) {
	tests := []struct {
		name       string
		policy     proxyv1.TrustPolicy
		addresses  []string
		wantList   string
		wantPolicy string
		wantSource string
	}{
		{
			name:       "List publishes the canonical list",
			policy:     proxyv1.TrustListed,
			addresses:  []string{"10.0.0.8", "2001:DB8::1", "10.0.0.7"},
			wantList:   "10.0.0.7,10.0.0.8,2001:db8::1",
			wantPolicy: "List",
			wantSource: `[{"name": "static", "entries": ["10.0.0.7", "10.0.0.8", "2001:db8::1"]}]`,
		},
		{
			// Readers tell "trust everyone" from "trust no one" by the policy key.
			name:       "TrustAll publishes an empty list and says so",
			policy:     proxyv1.TrustAll,
			addresses:  nil,
			wantList:   "",
			wantPolicy: "TrustAll",
			wantSource: `[{"name": "static", "entries": []}]`,
		},
		{
			// The offline renderer sees objects no API server has defaulted.
			name:       "empty policy is the API default List",
			policy:     "",
			addresses:  []string{"10.0.0.7"},
			wantList:   "10.0.0.7",
			wantPolicy: "List",
			wantSource: `[{"name": "static", "entries": ["10.0.0.7"]}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newProxy()
			proxy.Spec.TrustedProxies.Policy = tt.policy
			list := mustList(t, tt.addresses...)

			got := ConfigMap(proxy, ProxyList{List: list})
			assertJSON(t, json.RawMessage(got.Data[SourcesKey]), tt.wantSource)
			delete(got.Data, SourcesKey)

			assertJSON(t, got, `{
				"kind": "ConfigMap",
				"apiVersion": "v1",
				"metadata": {
					"name": "posthog-trusted-proxies",
					"namespace": "analytics",
					"labels": {
						"app.kubernetes.io/managed-by": "posthog-proxy-operator",
						"proxy.posthog-operator.io/instance": "posthog"
					},
					"ownerReferences": [{
						"apiVersion": "proxy.posthog-operator.io/v1alpha1",
						"kind": "PostHogProxy",
						"name": "posthog",
						"uid": "6f1c2a4e-0d1b-4c4e-9d55-2b7a3c9e8f10",
						"controller": true,
						"blockOwnerDeletion": true
					}]
				},
				"data": {
					"TRUSTED_PROXIES": `+jsonString(tt.wantList)+`,
					"policy": `+jsonString(tt.wantPolicy)+`,
					"matching": "Exact",
					"hash": `+jsonString(sha256Of(tt.wantList))+`
				}
			}`)
			for key := range proxy.Labels {
				if _, copied := got.Labels[key]; copied {
					t.Errorf("label %q of the PostHogProxy was copied onto its ConfigMap", key)
				}
			}
		})
	}
}

// Fixtures shared by the tests of this package.

// newProxy is a defaulted PostHogProxy as the API server would hand it over.
// It carries labels of its own, as a GitOps tool would set them, so that
// tests can check they never reach the children.
func newProxy() *proxyv1.PostHogProxy {
	return &proxyv1.PostHogProxy{
		ObjectMeta: metav1.ObjectMeta{
			Name:       "posthog",
			Namespace:  "analytics",
			UID:        "6f1c2a4e-0d1b-4c4e-9d55-2b7a3c9e8f10",
			Generation: 3,
			Labels: map[string]string{
				"app.kubernetes.io/instance": "posthog-stack",
				"argocd.argoproj.io/part-of": "analytics",
			},
		},
		Spec: proxyv1.PostHogProxySpec{
			Targets:      []proxyv1.TargetDeployment{{Name: "posthog-web"}},
			Hosts:        []proxyv1.Hostname{"posthog.example.com"},
			AllowedHosts: proxyv1.AllowedHostsFromHosts,
			TLS:          proxyv1.TLS{Termination: proxyv1.TLSAtIngress, SecretName: "posthog-tls"},
			TrustedProxies: proxyv1.TrustedProxies{
				Policy:    proxyv1.TrustListed,
				Addresses: []proxyv1.AddressOrRange{"10.0.0.7", "10.0.0.8"},
			},
			Ingress: proxyv1.IngressSpec{
				ClassName: "nginx",
				Service:   proxyv1.BackendService{Name: "posthog-web", Port: proxyv1.BackendPort{Number: 8000}},
			},
		},
	}
}

func mustList(t *testing.T, addresses ...string) trust.List {
	t.Helper()
	entries, err := trust.Parse(addresses)
	if err != nil {
		t.Fatalf("trust.Parse(%q): %v", addresses, err)
	}
	return trust.Merge(trust.Source{Name: "static", Entries: entries})
}

// sha256Of computes the expected digest independently of trust.Hash.
func sha256Of(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// assertJSON compares the JSON form of got with want as documents, so that
// any field got has beyond want fails the test.
func assertJSON(t *testing.T, got any, want string) {
	t.Helper()
	gotJSON, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshalling %T: %v", got, err)
	}
	var gotDoc, wantDoc any
	if err := json.Unmarshal(gotJSON, &gotDoc); err != nil {
		t.Fatalf("unmarshalling %s: %v", gotJSON, err)
	}
	if err := json.Unmarshal([]byte(want), &wantDoc); err != nil {
		t.Fatalf("the expected JSON is malformed: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(gotDoc, wantDoc) {
		gotPretty, _ := json.MarshalIndent(gotDoc, "", "  ")
		wantPretty, _ := json.MarshalIndent(wantDoc, "", "  ")
		t.Errorf("got JSON\n%s\nwant\n%s", gotPretty, wantPretty)
	}
}

func TestReadPublishedRoundTripsAndRefusesEdits(t *testing.T) {
	proxy := newProxy()
	withService(proxy)
	src := ServiceSourceName(ingressNginx)
	published := TrustedProxyList(proxy, ProxyInputs{
		Now:       testNow,
		Services:  map[proxyv1.ServiceReference]ServiceEndpoints{ingressNginx: {Found: true, Ready: entries(t, "10.42.0.2")}},
		Published: Published{Discovered: map[string][]trust.Entry{src: entries(t, "10.42.0.1")}},
	})
	data := ConfigMap(proxy, published).Data

	got, ok := ReadPublished(data)
	if !ok {
		t.Fatal("the operator's own ConfigMap does not read back")
	}
	if want := "10.42.0.2"; trust.Merge(trust.Source{Entries: got.Discovered[src]}).Value() != want {
		t.Errorf("discovered = %v, want %s", got.Discovered, want)
	}
	if len(got.Leaving) != 1 || got.Leaving[0].Entry.Addr().String() != "10.42.0.1" || got.Leaving[0].From != src ||
		!got.Leaving[0].Until.Equal(testNow.Add(DefaultGrace)) {
		t.Errorf("leaving = %+v, want 10.42.0.1 from %s until %s", got.Leaving, src, testNow.Add(DefaultGrace))
	}

	injected := maps.Clone(data)
	injected[SourcesKey] = `[{"name": "` + src + `", "entries": ["6.6.6.6"]}]`
	if _, ok := ReadPublished(injected); ok {
		t.Error("an edited sources.json that does not add up to the published list was believed")
	}
	relisted := maps.Clone(data)
	relisted[TrustedProxiesKey] = "6.6.6.6," + data[TrustedProxiesKey]
	if _, ok := ReadPublished(relisted); ok {
		t.Error("a list that does not match its hash was believed")
	}
	if _, ok := ReadPublished(map[string]string{}); ok {
		t.Error("an empty ConfigMap was believed")
	}
}
