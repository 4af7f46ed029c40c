package tray

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"fyne.io/systray"

	"github.com/omnitray/omnitray/agent"
	"github.com/omnitray/omnitray/assets"
)

// Agent is what the tray needs of the agent.
type Agent interface {
	Watch(ctx context.Context) <-chan agent.State
	SwitchStatus(ctx context.Context, statusID int64) error
	Pause(ctx context.Context, paused bool) error
	StayOnline(ctx context.Context, d time.Duration) error
}

// Autostart is the login item.
type Autostart interface {
	Enabled() (bool, error)
	Enable() error
	Disable() error
}

// Options wire the tray. Agent is nil while signed out.
type Options struct {
	Agent     Agent
	Autostart Autostart
	// OpenURL opens a web page (Omnidesk) in the browser.
	OpenURL func(url string) error
	// SignIn and SignOut run when the menu entry is chosen.
	SignIn  func(ctx context.Context)
	SignOut func(ctx context.Context)
	// Tell shows the user a one-line problem (a failed status switch, when
	// SwitchFailed is nil).
	Tell   func(title, body string)
	Logger *slog.Logger

	// SwitchFailed tells the user that the switch to a status (its name)
	// did not happen, offering to open Omnidesk (agent/notices.Switch).
	SwitchFailed func(name string, err error)
}

// Run shows the tray until ctx ends or the user chooses Quit. On macOS it
// must be called from the main goroutine. It does no network I/O before the
// menu is up: GetLayout blocks until onReady returns.
func Run(ctx context.Context, opts Options) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if runtime.GOOS == "linux" || runtime.GOOS == "freebsd" {
		// On Linux the title becomes the item's stable Id, which desktops
		// key their per-app tray settings on; set it before Run.
		systray.SetTitle("Omnitray")
	}
	onReady := func() {
		systray.SetIcon(assets.Icon(assets.IconUnknown))
		systray.SetTooltip("Omnitray — starting")
		m := buildMenu(systrayBuilder{})
		go loop(ctx, opts, m)
		go func() {
			<-ctx.Done()
			systray.Quit()
		}()
	}
	systray.Run(onReady, cancel)
}

type systrayBuilder struct{}

func (systrayBuilder) Add(title string, checkbox bool) item {
	if checkbox {
		return systrayItem{systray.AddMenuItemCheckbox(title, "", false)}
	}
	return systrayItem{systray.AddMenuItem(title, "")}
}

func (systrayBuilder) Separator() { systray.AddSeparator() }

type systrayItem struct{ *systray.MenuItem }

func (i systrayItem) Clicked() <-chan struct{} { return i.ClickedCh }

// loop is the one goroutine that touches the menu: agent states, clicks and
// the countdown tick all arrive here.
func loop(ctx context.Context, opts Options, m *menu) {
	clicks := make(chan item, 8)
	forward := func(it item) {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case _, ok := <-it.Clicked():
					if !ok {
						return
					}
					select {
					case clicks <- it:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	for _, it := range m.statuses {
		forward(it)
	}
	for _, it := range m.recent {
		forward(it)
	}
	for _, it := range []item{m.stay, m.pause, m.autostart, m.omnidesk, m.sign, m.quit} {
		forward(it)
	}

	var states <-chan agent.State
	if opts.Agent != nil {
		states = opts.Agent.Watch(ctx)
	}
	var sh shown
	var st agent.State
	var ticker *time.Ticker
	var tick <-chan time.Time
	draw := func() {
		v := render(st, opts.Agent != nil, time.Now())
		sh.apply(m, v, func(k string) { systray.SetIcon(assets.Icon(k)) }, systray.SetTooltip)
		switch {
		case v.Ticking && ticker == nil:
			ticker = time.NewTicker(time.Second)
			tick = ticker.C
		case !v.Ticking && ticker != nil:
			ticker.Stop()
			ticker, tick = nil, nil
		}
	}
	refreshAutostart := func() {
		if opts.Autostart == nil {
			m.autostart.Hide()
			return
		}
		on, err := opts.Autostart.Enabled()
		if err != nil {
			opts.Logger.Warn("reading the start-at-login entry", "err", err)
		}
		sh.setAutostart(m, on)
	}
	refreshAutostart()
	draw()
	// fyne.io/systray (v1.12.2, systray_unix.go nativeStart) calls onReady
	// before it has exported the item on D-Bus, and an icon or tooltip set
	// while it exports is stored but never published: the tooltip then
	// said "Hub unreachable" for good while the menu showed the status.
	// So the icon and tooltip are set again for the first few seconds.
	reassert := time.NewTicker(time.Second)
	defer reassert.Stop()
	reasserts := 0
	for {
		select {
		case <-ctx.Done():
			if ticker != nil {
				ticker.Stop()
			}
			return
		case <-reassert.C:
			if reasserts++; reasserts >= 10 {
				reassert.Stop()
			}
			if sh.applied {
				systray.SetIcon(assets.Icon(sh.v.Icon))
				systray.SetTooltip(sh.v.Tooltip)
			}
		case s := <-states:
			st = s
			draw()
		case <-tick:
			draw()
		case <-systray.TrayOpenedCh:
			draw() // fresh ages and countdowns for the menu being shown
		case it := <-clicks:
			if it == m.quit {
				systray.Quit()
				return
			}
			handleClick(ctx, opts, m, &sh, st, it)
			refreshAutostart()
			draw()
		}
	}
}

// handleClick acts on one menu choice. Anything that talks to the network
// runs off the loop so that the menu stays responsive.
func handleClick(ctx context.Context, opts Options, m *menu, sh *shown, st agent.State, it item) {
	a := opts.Agent
	for i, slot := range m.statuses {
		if it != slot || i >= len(sh.v.Statuses) || a == nil {
			continue
		}
		want := sh.v.Statuses[i]
		// Keep the check on the current status until the feed confirms the
		// switch: systray toggles a checkbox locally on click.
		sh.applied = false
		go func() {
			if err := a.SwitchStatus(ctx, want.ID); err != nil {
				switchFailed(opts, statusName(st, want.ID), want.ID, err)
			}
		}()
		return
	}
	for i, slot := range m.recent {
		if it == slot && i < len(sh.v.Recent) && opts.OpenURL != nil {
			url := sh.v.Recent[i].URL
			go func() { _ = opts.OpenURL(url) }()
			return
		}
	}
	switch it {
	case m.stay:
		if a != nil {
			go func() { _ = a.StayOnline(ctx, agent.StayOnlineFor) }()
		}
	case m.pause:
		if a != nil {
			paused := !sh.v.Paused
			go func() { _ = a.Pause(ctx, paused) }()
		}
	case m.autostart:
		if opts.Autostart != nil {
			var err error
			if sh.autoOn {
				err = opts.Autostart.Disable()
			} else {
				err = opts.Autostart.Enable()
			}
			if err != nil {
				opts.Logger.Warn("changing start at login", "err", err)
			}
			sh.autoKnow = false // re-read from the entry itself
		}
	case m.omnidesk:
		if opts.OpenURL != nil && st.OmnideskURL != "" {
			go func() { _ = opts.OpenURL(st.OmnideskURL) }()
		}
	case m.sign:
		if a != nil && opts.SignOut != nil {
			go opts.SignOut(ctx)
		} else if a == nil && opts.SignIn != nil {
			go opts.SignIn(ctx)
		}
	}
	// A click on a checkbox flips it locally; put every toggle back to the
	// truth on the next draw.
	sh.applied = false
}
