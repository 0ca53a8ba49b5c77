// Package example builds and runs the library's example programs
// (examples/NAME in the parent module) from integration tests.
package example

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Build compiles examples/name of the library module into a temporary
// directory and returns the binary's path.
func Build(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "./examples/"+name)
	cmd.Dir = root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building examples/%s: %v\n%s", name, err, out)
	}
	return bin
}

// Run runs bin with args, bounded by limit, and returns its standard output
// and standard error.
func Run(t *testing.T, limit time.Duration, bin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var o, e bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// root is the library module's directory: integration/ is one level down,
// and tests run in integration/PKG.
func root() string { return filepath.Join("..", "..") }

var servedRE = regexp.MustCompile(`(stringsvc-\d+)\s+served\s+(\d+) before the leave,\s+(\d+) after`)

// CheckKitService checks what examples/kitservice printed: every request
// succeeded, the instance that left (stringsvc-1) got at most the calls in
// flight when it left, and the others went on serving.
func CheckKitService(t *testing.T, out string, requests int) {
	t.Helper()
	if !strings.Contains(out, fmt.Sprintf("%d requests, 0 failed", requests)) {
		t.Fatalf("requests failed:\n%s", out)
	}
	rows := servedRE.FindAllStringSubmatch(out, -1)
	if len(rows) != 3 {
		t.Fatalf("want 3 instance rows:\n%s", out)
	}
	for _, r := range rows {
		after, _ := strconv.Atoi(r[3])
		if r[1] == "stringsvc-1" && after > 8 { // 8 callers: at most one call each in flight
			t.Errorf("%s got %d requests after it deregistered:\n%s", r[1], after, out)
		}
		if r[1] != "stringsvc-1" && after == 0 {
			t.Errorf("%s got no requests after the leave:\n%s", r[1], out)
		}
	}
}

// CheckDemo checks what examples/demo printed: a row per strategy, each with
// every request successful after retry.
func CheckDemo(t *testing.T, out string) {
	t.Helper()
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasSuffix(f[2], "%") {
			rows++
			if f[3] != "100.0%" {
				t.Errorf("strategy %s: %s after retry, want 100.0%%\n%s", f[0], f[3], out)
			}
		}
	}
	if rows < 4 {
		t.Fatalf("want a row per strategy, found %d:\n%s", rows, out)
	}
}
