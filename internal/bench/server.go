package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roster-dev/roster/internal/secretbox"
)

// BuildRoster builds the roster command into dir and returns its path. It
// must run inside the module's source tree.
func BuildRoster(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "roster")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/roster-dev/roster/cmd/roster").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/roster: %w\n%s", err, out)
	}
	return bin, nil
}

// CLI runs a roster command to completion and decodes the JSON it prints
// into v.
func CLI(ctx context.Context, bin string, v any, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("roster %s: %w: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("roster %s printed %q: %w", strings.Join(args, " "), out, err)
	}
	return nil
}

// Server is a child process serving HTTP on loopback: `roster serve`, or
// the floor server (StartFloor). Running the server in its own process
// lets its memory and CPU be read from /proc apart from the load
// generator's.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}

	mu   sync.Mutex
	tail []string // the last lines it logged, for error messages
}

var listening = regexp.MustCompile(`"msg":"listening".*"addr":"(http://127\.0\.0\.1:\d+)"`)

// StartServer runs `bin serve --db db --addr 127.0.0.1:0 extra...` and waits
// until it listens. It logs at the default level, info, as in production:
// one line per request, read here and dropped, but for the last few.
func StartServer(ctx context.Context, bin, db string, extra ...string) (*Server, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, extra...)...)
	// PostgreSQL needs the key that seals webhook secrets given; a bench's
	// database lives for one run, so any key does, the same for every
	// server of the run (both builds of --compare). (An environment
	// variable, which binaries older than the key ignore, not a flag.)
	cmd.Env = append(os.Environ(), "ROSTER_SECRET_KEY="+secretKey())
	return start(ctx, "roster serve", cmd)
}

// secretKey is the key of the webhook secrets of every server this process
// starts.
var secretKey = sync.OnceValue(secretbox.NewKey)

// StartFloor runs self, a roster-bench command, as the floor server of
// tenantID's users on db (ServeFloor) and waits until it listens.
func StartFloor(ctx context.Context, self, db, tenantID string) (*Server, error) {
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), FloorEnv+"="+tenantID+" "+db)
	if os.Getenv("GOGC") == "" {
		// The collector's goal roster serve runs with (cmd/roster), so
		// that the two servers spend alike on it.
		cmd.Env = append(cmd.Env, "GOGC=400")
	}
	return start(ctx, "the floor server", cmd)
}

// start starts cmd, the server called name, and waits until it logs the
// address it listens on.
func start(ctx context.Context, name string, cmd *exec.Cmd) (*Server, error) {
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &Server{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if m := listening.FindSubmatch(line); m != nil {
				select {
				case addr <- string(m[1]):
				default:
				}
			}
			s.mu.Lock()
			if s.tail = append(s.tail, string(line)); len(s.tail) > 20 {
				s.tail = s.tail[1:]
			}
			s.mu.Unlock()
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	select {
	case s.URL = <-addr:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("%s exited: %s", name, s.Tail())
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("%s did not listen within 30 s: %s", name, s.Tail())
	}
}

// Pid is the server's process ID.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Tail returns the last lines the server logged.
func (s *Server) Tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// Stop asks the server to shut down (SIGTERM) and waits for it, killing it
// after 20 s.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// PeakRSS returns the process's peak resident set size (VmHWM) in bytes.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// ResetPeakRSS resets the process's VmHWM to its current RSS (Linux
// clear_refs, value 5), so the next PeakRSS is the peak since now.
func ResetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux port Go supports.
const clockTicks = 100

// CPUTime returns the user plus system CPU time the process has used.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	// After the name: state is field 3, utime 14 and stime 15 (1-based).
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
