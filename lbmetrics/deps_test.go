package lbmetrics_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreBuildsWithoutPrometheus checks that a program importing only
// loadbalancer and retry builds no Prometheus package: go list -deps of
// those two packages is what such a program links besides its own code.
// Prometheus reaches a build only through this package.
func TestCoreBuildsWithoutPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	deps := func(pkgs ...string) []string {
		t.Helper()
		args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
		out, err := exec.Command(goBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %v: %v\n%s", pkgs, err, out)
		}
		return strings.Fields(string(out))
	}
	const mod = "github.com/seed41aebe0c/lbkit/"
	core := deps(mod+"loadbalancer", mod+"retry")
	for _, p := range core {
		if strings.Contains(p, "prometheus") {
			t.Errorf("loadbalancer + retry depend on %s", p)
		}
	}
	// The check can fail: this package does pull Prometheus in.
	found := false
	for _, p := range deps(mod + "lbmetrics") {
		found = found || strings.HasPrefix(p, "github.com/prometheus/client_golang/")
	}
	if !found {
		t.Fatal("go list -deps of lbmetrics shows no client_golang: the check above proves nothing")
	}
	t.Logf("loadbalancer + retry: %d non-standard packages", len(core))
}
