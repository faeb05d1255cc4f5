package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/server"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the roster command once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "roster-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "roster")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build roster: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// requireRedis returns the test Redis URL, or skips (fails under CI) when
// Redis is not reachable.
func requireRedis(t *testing.T) string {
	t.Helper()
	url := os.Getenv("ROSTER_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:6379", 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis not reachable at 127.0.0.1:6379: %v (CI never skips this)", err)
		}
		t.Skipf("Redis not reachable at 127.0.0.1:6379: %v; start it, or set CI=true to fail instead", err)
	}
	c.Close()
	return url
}

// node is a roster serve process.
type node struct {
	t    *testing.T
	cmd  *exec.Cmd
	URL  string
	done chan struct{}
	mu   sync.Mutex
	logs []byte
}

// startNode runs `roster serve` with args and waits until it listens.
func startNode(t *testing.T, args ...string) *node {
	t.Helper()
	return startNodeEnv(t, os.Environ(), args...)
}

// testSecretKey seals webhook secrets in tests on PostgreSQL.
const testSecretKey = "dGVzdCBrZXkgb2YgUm9zdGVyLCAzMiBieXRlcyBsb24="

// startNodeEnv is startNode with the process environment env.
func startNodeEnv(t *testing.T, env []string, args ...string) *node {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(env, "ROSTER_ALLOW_PRIVATE_WEBHOOKS=true")
	if slices.ContainsFunc(args, server.IsPostgres) { // nodes on one PostgreSQL share one key
		cmd.Env = append(cmd.Env, "ROSTER_SECRET_KEY="+testSecretKey)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	re := regexp.MustCompile(`"addr":"(http://127\.0\.0\.1:\d+)"`)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			n.mu.Lock()
			n.logs = append(append(n.logs, sc.Bytes()...), '\n')
			n.mu.Unlock()
			if m := re.FindSubmatch(sc.Bytes()); m != nil {
				select {
				case addr <- string(m[1]):
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() { n.kill(syscall.SIGKILL) })
	select {
	case n.URL = <-addr:
	case <-n.done:
		t.Fatalf("roster serve exited:\n%s", n.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("roster serve did not start:\n%s", n.Logs())
	}
	return n
}

// Logs returns what the node logged so far.
func (n *node) Logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return string(n.logs)
}

// kill sends sig and waits for the process to end.
func (n *node) kill(sig syscall.Signal) {
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// cli runs a roster command to completion and decodes its JSON output.
func cli(t *testing.T, v any, args ...string) {
	t.Helper()
	out, err := exec.Command(binary(t), args...).Output()
	if err != nil {
		t.Fatalf("roster %v: %v", args, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("roster %v printed %q", args, out)
	}
}

// TestGCPercent checks the garbage collector's goal of a serving process,
// as its /metrics report it: gcPercent unless GOGC sets one.
func TestGCPercent(t *testing.T) {
	t.Parallel()
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") {
			base = append(base, kv)
		}
	}
	for _, c := range []struct {
		env  []string
		want int
	}{
		{nil, gcPercent},
		{[]string{"GOGC=150"}, 150},
	} {
		n := startNodeEnv(t, append(slices.Clip(base), c.env...), "--db", filepath.Join(t.TempDir(), "roster.db"))
		resp, err := http.Get(n.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("\ngo_gc_gogc_percent %d\n", c.want)
		if !strings.Contains(string(body), want) {
			t.Errorf("env %v: /metrics lacks %q", c.env, strings.TrimSpace(want))
		}
	}
}
