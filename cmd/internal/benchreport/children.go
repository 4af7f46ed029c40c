package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process benchreport started and waits for, so that its pid is
// never signalled after it has been reaped (and perhaps reused).
type child struct {
	name string
	cmd  *exec.Cmd
	log  string // its stdout and stderr
	done chan struct{}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// logTail is the end of the child's log, for an error message.
func (c *child) logTail() string {
	b, _ := os.ReadFile(c.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

// children are the processes started and not yet stopped; stopAll ends
// them on every way out, errors and signals included.
type children struct {
	mu   sync.Mutex
	live []*child
}

// start runs cmd in the background with its output in dir/NAME.log.
func (cs *children) start(dir, name string, cmd *exec.Cmd) (*child, error) {
	path := filepath.Join(dir, name+".log")
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	defer f.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: path, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	cs.mu.Lock()
	cs.live = append(cs.live, c)
	cs.mu.Unlock()
	return c, nil
}

// stop ends the given children: SIGTERM, up to 5 s to exit, then SIGKILL.
func (cs *children) stop(list ...*child) {
	cs.mu.Lock()
	keep := cs.live[:0]
	for _, c := range cs.live {
		if !slices.Contains(list, c) {
			keep = append(keep, c)
		}
	}
	cs.live = keep
	cs.mu.Unlock()
	for _, c := range list {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	expired := false
	for _, c := range list {
		if !expired {
			select {
			case <-c.done:
				continue
			case <-timer.C:
				expired = true
			}
		}
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func (cs *children) stopAll() {
	cs.mu.Lock()
	list := append([]*child(nil), cs.live...)
	cs.mu.Unlock()
	cs.stop(list...)
}

// command is exec.CommandContext, except that a cancelled context (Ctrl-C,
// SIGTERM) asks the command to end with SIGTERM rather than SIGKILL: the
// desktop session must tear itself down, and go test must end the
// benchmark's child process with its 5,000 agents.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	return cmd
}
