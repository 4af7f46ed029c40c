//go:build windows

package presence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/omnitray/omnitray/sync/rules"
)

// x/sys/windows wraps neither call; both are plain user32/kernel32 exports,
// so lazy procs keep the build free of cgo.
var (
	procGetLastInputInfo = windows.NewLazySystemDLL("user32.dll").NewProc("GetLastInputInfo")
	procGetTickCount     = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetTickCount")
)

// lastInputInfo is LASTINPUTINFO.
type lastInputInfo struct {
	cbSize uint32
	dwTime uint32
}

// New returns the Windows watcher. It reports Idle only; lock and sleep are
// a documented no-op for now (see the package doc).
func New(opts Options) Watcher { return &windowsWatcher{opts: opts.withDefaults()} }

type windowsWatcher struct{ opts Options }

func (w *windowsWatcher) Run(ctx context.Context, out chan<- rules.Presence) error {
	if out == nil {
		return errors.New("presence: run: nil out channel")
	}
	if w.opts.IdleAfter <= 0 {
		w.opts.Logger.Info(sourcesLine(nil, "none", "off") + " (lock and sleep are not implemented on Windows)")
		<-ctx.Done()
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := make(chan update, 4)
	p := newIdlePoller([]idleProbe{{name: "GetLastInputInfo", read: readIdle}}, w.opts)
	w.opts.Logger.Info(sourcesLine(nil, "none", p.start(ctx)) + " (lock and sleep are not implemented on Windows)")
	var wg sync.WaitGroup
	wg.Go(func() { p.run(ctx, poster(ctx, updates)) })
	runLoop(ctx, out, updates)
	wg.Wait()
	return nil
}

// readIdle measures the time since the last input event of this session.
// Both counters are GetTickCount milliseconds, so they wrap together after
// 49.7 days and sinceTick subtracts them as uint32.
func readIdle(context.Context) (time.Duration, error) {
	info := lastInputInfo{cbSize: uint32(unsafe.Sizeof(lastInputInfo{}))}
	if ok, _, err := procGetLastInputInfo.Call(uintptr(unsafe.Pointer(&info))); ok == 0 {
		return 0, fmt.Errorf("call GetLastInputInfo: %w", err)
	}
	now, _, _ := procGetTickCount.Call()
	return sinceTick(uint32(now), info.dwTime), nil
}
