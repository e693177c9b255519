package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	proxyv1 "github.com/posthog-operator/posthog-proxy-operator/api/v1alpha1"
	"github.com/posthog-operator/posthog-proxy-operator/controllers"
)

// The generated role is enough, and is all the manager gets: a manager
// that acts as a ServiceAccount bound only to config/rbac/role.yaml
// reconciles a PostHogProxy to Ready and deletes it cleanly. A permission
// missing from the markers fails this test.
func TestGeneratedRoleIsEnough(t *testing.T) {
	ctx, ns := startWithPostHog(t)
	before := getDeployment(Default, ns, "posthog-web")

	data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.UnmarshalStrict(data, role)).To(Succeed())
	role.Name = "rbac-test-" + ns
	Expect(k8sClient.Create(ctx, role)).To(Succeed())
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "posthog-proxy-operator", Namespace: ns}}
	Expect(k8sClient.Create(ctx, sa)).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: ns}},
	})).To(Succeed())

	asOperator := rest.CopyConfig(cfg)
	asOperator.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + sa.Name}
	opts := controllers.CacheOptions(ns)
	onlyUnmanaged, err := labels.Parse(unmanagedLabel)
	Expect(err).NotTo(HaveOccurred())
	opts.ByObject[&proxyv1.PostHogProxy{}] = cache.ByObject{Label: onlyUnmanaged}
	mgr, err := ctrl.NewManager(asOperator, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, Cache: opts,
		// A second manager in the process registers the same controller name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect((&controllers.PostHogProxyReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Presets: presets}).SetupWithManager(mgr)).To(Succeed())
	mgrCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	defer func() { stop(); Expect(<-done).To(Succeed()) }()

	proxy := sampleProxy(ns, "posthog")
	proxy.Labels = map[string]string{unmanagedLabel: "true"}
	Expect(k8sClient.Create(ctx, proxy)).To(Succeed())
	Eventually(func(g Gomega) {
		c := condition(getProxy(g, client.ObjectKeyFromObject(proxy)), proxyv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", c.Reason, c.Message)
	}).WithTimeout(30 * time.Second).Should(Succeed())

	deleteAndWaitGone(t, proxy)
	after := getDeployment(Default, ns, "posthog-web")
	Expect(after.Spec.Template.Spec).To(Equal(before.Spec.Template.Spec))
}
