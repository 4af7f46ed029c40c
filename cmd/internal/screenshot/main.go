// Command screenshot saves a picture of Omnitray's tray icon with its menu
// open, as a real panel renders it, for the docs: people judge a tray app by
// looking at it.
//
// It runs inside the headless session of .ci/desktop-session.sh with a real
// xfce4-panel (`make screenshot`). The sandbox, a hub and the agent of the
// seed employee Anna run in this process; Anna goes to lunch, so the tray
// shows the amber "going offline" icon with a countdown, and an xdotool click
// opens the menu. The picture is cropped to the icon and the menu.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/sandbox"
	"github.com/omnitray/omnitray/tray"
)

// iconTimeout is how long the icon may take to show up in the panel.
const iconTimeout = 20 * time.Second

func main() {
	out := flag.String("out", "docs/tray.png", "the PNG to write; a relative path is taken from the module root")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "screenshot:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if os.Getenv("DISPLAY") == "" {
		return errors.New("no DISPLAY: run it through `make screenshot`")
	}
	for _, c := range []string{"xdotool", "import"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("%s not found: bash .ci/desktop-session.sh install", c)
		}
	}
	if !filepath.IsAbs(out) {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		out = filepath.Join(root, out)
	}
	// A hard limit, so that a panel that never shows the icon cannot hang CI.
	ctx, cancel := context.WithTimeout(context.Background(), iconTimeout+time.Minute)
	defer cancel()

	// A budget of 240/min lets the hub's share poll Omnidesk every second.
	sb := sandbox.New(sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 240}})
	if err := sb.Start(ctx); err != nil {
		return fmt.Errorf("starting the sandbox: %w", err)
	}
	defer sb.Close()
	if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusOnline); err != nil {
		return err
	}
	secret := []byte(rand.Text())
	hubURL, err := startHub(ctx, sb, secret)
	if err != nil {
		return err
	}
	tok, err := hub.Sign(secret, sandbox.SeedStaffAnna, time.Now(), time.Hour)
	if err != nil {
		return err
	}
	a, err := agent.New(agent.Config{HubURL: hubURL, Token: tok, Grace: 3 * time.Minute, Lease: 2 * time.Minute})
	if err != nil {
		return err
	}
	go func() { _ = a.Run(ctx) }()

	errc := make(chan error, 1)
	go func() {
		errc <- shoot(ctx, a, sb, out)
		cancel() // ends tray.Run below
	}()
	// systray wants the main goroutine; a fixed Autostart shows the item
	// without touching the real login items of whoever runs this.
	tray.Run(ctx, tray.Options{Agent: a, Autostart: fixedAutostart(true)})
	return <-errc
}

// shoot brings the tray to the "going offline" state, opens the menu and
// writes the cropped picture.
func shoot(ctx context.Context, a *agent.Agent, sb *sandbox.Sandbox, out string) error {
	if err := waitState(ctx, a, func(s agent.State) bool {
		return s.Connection == agent.Connected && s.StatusID == sandbox.StatusOnline && s.Chaport == chaport.Online
	}); err != nil {
		return fmt.Errorf("waiting for the agent to be online: %w", err)
	}
	if err := sb.SetStaffStatus(sandbox.SeedStaffAnna, sandbox.StatusLunch); err != nil {
		return err
	}
	if err := waitState(ctx, a, func(s agent.State) bool {
		return s.StatusID == sandbox.StatusLunch && !s.OfflineAt.IsZero()
	}); err != nil {
		return fmt.Errorf("waiting for the pending offline: %w", err)
	}
	time.Sleep(2 * time.Second) // the tray redraws the icon and menu off the agent's loop

	var before image.Image
	var icon image.Rectangle
	for deadline := time.Now().Add(iconTimeout); ; time.Sleep(300 * time.Millisecond) {
		img, err := grab(ctx)
		if err != nil {
			return err
		}
		if r, ok := findIcon(img); ok {
			before, icon = img, r
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the amber tray icon did not show up in the panel within %s", iconTimeout)
		}
	}
	c := image.Pt((icon.Min.X+icon.Max.X)/2, (icon.Min.Y+icon.Max.Y)/2)
	// A real pointer click, as a person would: the panel asks the item for
	// its menu over dbusmenu and pops it up itself.
	if err := xdotool(ctx, "mousemove", fmt.Sprint(c.X), fmt.Sprint(c.Y), "click", "1"); err != nil {
		return err
	}
	// Then off the icon to the bottom-left corner, away from the menu: a
	// pointer resting on the icon brings up its tooltip over the menu.
	time.Sleep(500 * time.Millisecond)
	if err := xdotool(ctx, "mousemove", "0", fmt.Sprint(before.Bounds().Max.Y-1)); err != nil {
		return err
	}
	// systray answers the first GetLayout with one level only and the full
	// tree a moment later, so wait until two shots in a row agree.
	var after image.Image
	var menu image.Rectangle
	for range 20 {
		time.Sleep(700 * time.Millisecond)
		img, err := grab(ctx)
		if err != nil {
			return err
		}
		r := diff(before, img)
		if after != nil && r == menu && r.Dy() > 3*icon.Dy() {
			break
		}
		after, menu = img, r
	}
	if menu.Dy() <= 3*icon.Dy() {
		return errors.New("the menu did not open after the click")
	}
	const margin = 16
	screen := after.Bounds()
	crop := menu.Union(icon).Inset(-margin).Intersect(screen)
	crop.Min.Y = screen.Min.Y // the whole height of the (top) panel
	if screen.Max.X-crop.Max.X < 200 {
		crop.Max.X = screen.Max.X // and the rest of it, the clock, when the tray sits near the edge
	}
	sub := after.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(crop)
	var buf bytes.Buffer
	if err := png.Encode(&buf, sub); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("screenshot: wrote %s (%dx%d; icon at %v, menu %v)\n", out, crop.Dx(), crop.Dy(), icon, menu)
	return nil
}

// findIcon finds the bounding box of our amber (#f09a18) pixels in the top
// panel. Nothing else on the session's screen is that colour.
func findIcon(img image.Image) (image.Rectangle, bool) {
	near := func(v, want uint32) bool { return v>>8+24 >= want && v>>8 <= want+24 }
	b := img.Bounds()
	b.Max.Y = min(b.Max.Y, b.Min.Y+64)
	r, n := scan(b, func(x, y int) bool {
		cr, cg, cb, _ := img.At(x, y).RGBA()
		return near(cr, 0xf0) && near(cg, 0x9a) && near(cb, 0x18)
	})
	// A tray icon is 16–48 px: a stray pixel or a huge area is not ours.
	return r, n >= 40 && r.Dx() >= 8 && r.Dx() <= 48 && r.Dy() >= 8 && r.Dy() <= 48
}

// diff is the bounding box of the pixels that differ between two shots.
func diff(a, b image.Image) image.Rectangle {
	r, _ := scan(a.Bounds().Intersect(b.Bounds()), func(x, y int) bool { return a.At(x, y) != b.At(x, y) })
	return r
}

// scan returns the bounding box and the number of the pixels in b that match.
func scan(b image.Rectangle, match func(x, y int) bool) (r image.Rectangle, n int) {
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if match(x, y) {
				r, n = r.Union(image.Rect(x, y, x+1, y+1)), n+1
			}
		}
	}
	return r, n
}

func xdotool(ctx context.Context, args ...string) error {
	if b, err := exec.CommandContext(ctx, "xdotool", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("xdotool: %v: %s", err, bytes.TrimSpace(b))
	}
	return nil
}

// grab takes a shot of the whole screen. ImageMagick refuses /dev/fd paths,
// so it goes through a temp file.
func grab(ctx context.Context) (image.Image, error) {
	f, err := os.CreateTemp("", "omnitray-shot-*.png")
	if err != nil {
		return nil, err
	}
	f.Close()
	defer os.Remove(f.Name())
	if b, err := exec.CommandContext(ctx, "import", "-silent", "-window", "root", "png:"+f.Name()).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("import: %v: %s", err, bytes.TrimSpace(b))
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		return nil, err
	}
	return png.Decode(bytes.NewReader(data))
}

func waitState(ctx context.Context, a *agent.Agent, ok func(agent.State) bool) error {
	if ok(a.State()) {
		return nil
	}
	for s := range a.Watch(ctx) {
		if ok(s) {
			return nil
		}
	}
	return ctx.Err()
}

// startHub runs a hub against the sandbox on a free loopback port, as the
// demo does (cmd/omnitray/demo.go), built the tests' way (hubtest).
func startHub(ctx context.Context, sb *sandbox.Sandbox, secret []byte) (string, error) {
	h, err := hubtest.Build(hub.Vendors(sb.Endpoints()),
		fmt.Sprintf(`{"chat_access": {"%d": true}, "min_poll_interval": "1s"}`, sandbox.StatusChatDuty),
		func(c *hub.Config) { c.Secret, c.OmnideskURL = secret, sb.OmnideskURL })
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.Run(ctx) }()
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

// fixedAutostart answers Enabled and ignores changes.
type fixedAutostart bool

func (f fixedAutostart) Enabled() (bool, error) { return bool(f), nil }
func (fixedAutostart) Enable() error            { return nil }
func (fixedAutostart) Disable() error           { return nil }

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for ; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("go.mod not found above the working directory")
}
